from django.core.management.base import BaseCommand

from flowviz.demo.seed import demo_seed


class Command(BaseCommand):
    help = (
        "Create the demo users, lots, genealogy links and the demo scenario "
        "(idempotent: a second run changes nothing). "
        "Demo users have no password unless --password is given; --no-password takes it away again."
    )

    def add_arguments(self, parser):
        passwords = parser.add_mutually_exclusive_group()
        passwords.add_argument(
            "--password",
            help="Give every demo user this password (to sign in to the admin). The frontend's "
            "email-only login then refuses them: --no-password undoes it.",
        )
        passwords.add_argument(
            "--no-password",
            dest="remove_passwords",
            action="store_true",
            help="Remove the demo users' passwords: back to email-only login (PASSWORDLESS_LOGIN).",
        )

    def handle(self, *args, password=None, remove_passwords=False, **options):
        result = demo_seed(password=password, remove_passwords=remove_passwords)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {result.users_created} users, {result.lots_created} lots, "
                f"{result.links_created} links, {result.scenarios_created} scenarios created; "
                f"{result.passwords_set} passwords set, {result.passwords_removed} removed."
            )
        )
