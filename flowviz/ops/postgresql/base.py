"""Django's PostgreSQL backend; its pool checks connections only when they idled.

With CONN_HEALTH_CHECKS, Django's psycopg pool runs an empty query on every connection it
hands out: a round trip on every request's critical path (~1-2 ms of the 8 ms a lot
registration took at one connection). This backend keeps the check but gives the pool
`flowviz.ops.db_pool.check_if_idle`, which skips it for connections back from a request less
than a second ago. Django passes the check to the pool itself (no setting for it), so it
is swapped right after Django builds the pool, before the pool is opened or used.
"""

from __future__ import annotations

from django.db.backends.postgresql import base

from flowviz.ops.db_pool import check_if_idle


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        known = self.alias in self._connection_pools
        pool = super().pool
        # psycopg_pool keeps the callback in `_check`; None means CONN_HEALTH_CHECKS is off.
        if pool is not None and not known and getattr(pool, "_check", None) is not None:
            pool._check = check_if_idle
        return pool
