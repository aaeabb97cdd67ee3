from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from flowviz.legacy.adoption import LegacyDatabaseRefused, adopt_legacy_database


class Command(BaseCommand):
    help = (
        "Bring a database created by the legacy SQL script (DATABASE_URL) under Django's migrations, "
        "in place and in one transaction, keeping every row and the legacy server working. "
        "Refuses with a report (changing nothing) when the database is not as documented. "
        "A second run is a no-op. Back up first (pg_dump) and try --dry-run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print the plan (SQL); change nothing.")
        parser.add_argument(
            "--lock-timeout",
            default="10s",
            help="Give up if the legacy tables cannot be locked within this time (PostgreSQL interval).",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default).")

    def handle(self, *args, dry_run=False, lock_timeout="10s", database=DEFAULT_DB_ALIAS, **options):
        try:
            plan, migrate_output = adopt_legacy_database(
                using=database, dry_run=dry_run, lock_timeout=lock_timeout
            )
        except LegacyDatabaseRefused as refused:
            raise CommandError(str(refused)) from refused
        except DatabaseError as error:
            # Everything ran in one transaction, rolled back with the error.
            raise CommandError(f"Adoption failed; nothing was changed: {error}") from error
        if plan.already_adopted:
            self.stdout.write(
                "This database is already under Django's migrations: nothing to adopt "
                "(run `manage.py migrate` for later migrations)."
            )
            return
        if dry_run:
            self.stdout.write(plan.script(connections[database]))
        for note in plan.notes:
            self.stdout.write(f"-- note: {note}" if dry_run else f"Note: {note}")
        if dry_run:
            self.stdout.write("-- Dry run: nothing was changed.")
            return
        if options["verbosity"] > 1:
            self.stdout.write(migrate_output)
        self.stdout.write(
            self.style.SUCCESS(
                f"Legacy database adopted: {len(plan.schema_sql)} schema changes, "
                f"{len(plan.recorded_migrations)} initial migrations recorded, "
                f"{len(plan.dependency_migrations) + len(plan.later_migrations)} migrations applied."
            )
        )
