"""Django's PostgreSQL backend, with two additions for the request path.

1. Its pool checks connections only when they idled. With CONN_HEALTH_CHECKS, Django's psycopg
   pool runs an empty query on every connection it hands out: a round trip on every request's
   critical path (~1-2 ms of the 8 ms a lot registration took at one connection). This backend
   keeps the check but gives the pool `flowviz.ops.db_pool.check_if_idle`, which skips it for
   connections back from a request less than a second ago. Django passes the check to the pool
   itself (no setting for it), so it is swapped right after Django builds the pool, before the
   pool is opened or used.
2. A circuit breaker (flowviz.ops.breakers.database_breaker). A request no longer waits the
   pool's whole timeout for a database that is known to be down: while the breaker is open no
   connection is tried (an OperationalError at once, answered 503 with Retry-After); while it
   is suspect a connection is taken with the short DB_PROBE_TIMEOUT.
"""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base

from flowviz.ops.breakers import database_breaker
from flowviz.ops.db_pool import check_if_idle


class DatabaseUnavailable(psycopg.OperationalError):
    """The database failed a moment ago: no connection is tried until DB_RETRY_SECONDS pass."""


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        known = self.alias in self._connection_pools
        pool = super().pool
        # psycopg_pool keeps the callback in `_check`; None means CONN_HEALTH_CHECKS is off.
        if pool is not None and not known and getattr(pool, "_check", None) is not None:
            pool._check = check_if_idle
        return pool

    def get_new_connection(self, conn_params):
        if not database_breaker.usable():
            raise DatabaseUnavailable(f"the database failed less than {database_breaker.retry_seconds}s ago")
        try:
            if database_breaker.suspect and self.pool is not None:
                # A quick probe: a good connection, or the answer within the probe timeout. It
                # goes back to the pool at once, where Django's getconn below finds it.
                self.pool.open()
                self.pool.putconn(self.pool.getconn(timeout=settings.DB_PROBE_TIMEOUT))
            connection = super().get_new_connection(conn_params)
        except psycopg.OperationalError:
            database_breaker.failed("no connection; requests answer 503")
            raise
        database_breaker.succeeded()
        return connection
