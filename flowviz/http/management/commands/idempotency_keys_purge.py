from django.core.management.base import BaseCommand

from flowviz.http.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = (
        "Delete the stored answers of idempotent writes older than IDEMPOTENCY_KEY_HOURS "
        "(beat runs this every hour as the task flowviz.http.idempotency_keys_purge)."
    )

    def handle(self, *args, **options):
        deleted = idempotency_keys_purge()
        self.stdout.write(f"Deleted {deleted} expired idempotency key(s).")
