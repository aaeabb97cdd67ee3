from django.core.management.base import BaseCommand

from flowviz.demo.seed import demo_seed


class Command(BaseCommand):
    help = (
        "Create the demo users, lots, genealogy links and the demo scenario "
        "(idempotent: a second run changes nothing). "
        "Demo users have no password unless --password is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", help="Give every demo user this password.")

    def handle(self, *args, password=None, **options):
        result = demo_seed(password=password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {result.users_created} users, {result.lots_created} lots, "
                f"{result.links_created} links, {result.scenarios_created} scenarios created; "
                f"{result.passwords_set} passwords set."
            )
        )
