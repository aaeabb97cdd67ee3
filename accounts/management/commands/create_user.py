import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import Role
from accounts.services import user_create


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = (
        "Create a user with a role (and the role's admin rights). Without a password option the "
        "account has no password (it can log in only while PASSWORDLESS_LOGIN is on). "
        "--password PW sets it from the command line; --password-stdin reads it from the first "
        "line of standard input (keeps it out of the shell history and process list)."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--full-name", default=None)
        password = parser.add_mutually_exclusive_group()
        password.add_argument("--password", default=None)
        password.add_argument("--password-stdin", action="store_true")

    def handle(self, *args, email, role, full_name=None, password=None, password_stdin=False, **options):
        if password_stdin:
            password = options.get("stdin", sys.stdin).readline().rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin: standard input gave an empty password.")
        try:
            user = user_create(email=email, role=role, password=password, full_name=full_name)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                messages = [f"{field}: {' '.join(errors)}" for field, errors in error.message_dict.items()]
            else:
                messages = [f"password: {' '.join(error.messages)}"]
            raise CommandError("User not created: " + "; ".join(messages)) from error
        admin = "with admin access" if user.is_staff else "without admin access"
        self.stdout.write(self.style.SUCCESS(f"Created {user.email} ({user.role}, {admin}), id {user.pk}."))
