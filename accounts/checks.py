"""Warnings about account settings that must not reach production.

`PASSWORDLESS_LOGIN` (legacy demo mode) lets every account without a usable password log in by
its email alone. `manage.py check --deploy` reports it (accounts.W001), and a server process
logs it once when it starts (flowviz/asgi.py and flowviz/wsgi.py call `passwordless_login_warn`).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core import checks

logger = logging.getLogger("accounts")

PASSWORDLESS_LOGIN_ID = "accounts.W001"
PASSWORDLESS_LOGIN_MESSAGE = (
    "PASSWORDLESS_LOGIN is on: every account without a password logs in by its email alone."
)
PASSWORDLESS_LOGIN_HINT = (
    "Set PASSWORDLESS_LOGIN=false in production, and give the accounts that have no password "
    "one (manage.py changepassword <email>)."
)


@checks.register(checks.Tags.security, deploy=True)
def passwordless_login_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if not settings.PASSWORDLESS_LOGIN:
        return []
    return [
        checks.Warning(PASSWORDLESS_LOGIN_MESSAGE, hint=PASSWORDLESS_LOGIN_HINT, id=PASSWORDLESS_LOGIN_ID)
    ]


def passwordless_login_warn() -> bool:
    """Log the warning when PASSWORDLESS_LOGIN is on (a server calls this once, at start)."""
    if not settings.PASSWORDLESS_LOGIN:
        return False
    logger.warning("%s %s", PASSWORDLESS_LOGIN_MESSAGE, PASSWORDLESS_LOGIN_HINT)
    return True
