"""Health checks of pooled PostgreSQL connections that cost a round trip only when useful.

Django's pool (CONN_HEALTH_CHECKS) checks every connection it hands out with an empty
query: one extra round trip per request, on the critical path. A connection that went
back to the pool a moment ago after a successful request is very likely still good; one
that sat idle may have been cut (server restart, idle timeout, failover). So the check runs
only for connections idle longer than `IDLE_CHECK_SECONDS` (and for any the client already
knows to be closed, which the pool replaces).
"""

from __future__ import annotations

import time
from typing import Any

IDLE_CHECK_SECONDS = 1.0
_RETURNED_AT = "_flowviz_returned_at"


def mark_returned(connection: Any) -> None:
    """Pool `reset` callback: note when the connection came back (no I/O)."""
    setattr(connection, _RETURNED_AT, time.monotonic())


def check_if_idle(connection: Any) -> None:
    """Pool `check` callback: raise if the connection is unusable (round trip only if it idled).

    A connection never returned yet (fresh from connect) is checked too: cheap, and rare.
    """
    returned_at = getattr(connection, _RETURNED_AT, None)
    if (
        returned_at is not None
        and not connection.closed
        and time.monotonic() - returned_at < IDLE_CHECK_SECONDS
    ):
        return
    from psycopg_pool import ConnectionPool  # only PostgreSQL setups need it (settings import us)

    ConnectionPool.check_connection(connection)
