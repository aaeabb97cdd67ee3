"""Per-process circuit breakers for the services a request may call but must not wait on.

A breaker opens on a failure and stays open for its retry setting (seconds): meanwhile
callers skip the service at once (fall back, or answer 503) instead of each waiting for the
service's timeout; the first call after that tries again. Each process keeps its own state:
no shared store is needed to find out that the shared store is down.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings


class CircuitBreaker:
    """`usable()` is False for `settings.<retry_setting>` seconds after `failed()`."""

    def __init__(self, name: str, *, retry_setting: str, logger: logging.Logger):
        self.name = name
        self.retry_setting = retry_setting
        self.logger = logger
        self._skip_until = 0.0

    @property
    def retry_seconds(self) -> float:
        return float(getattr(settings, self.retry_setting))

    def usable(self) -> bool:
        """False while a recent failure says the service is down."""
        return time.monotonic() >= self._skip_until

    def remaining(self) -> float:
        """Seconds until the next try (0 when usable)."""
        return max(self._skip_until - time.monotonic(), 0.0)

    def failed(self, what: str) -> None:
        """Record a failure; logged once per outage window, with the traceback."""
        if self.usable():
            self.logger.warning(
                "%s unavailable (%s); skipped for %ss", self.name, what, self.retry_seconds, exc_info=True
            )
        self._skip_until = time.monotonic() + self.retry_seconds

    def reset(self) -> None:
        """Forget past failures (tests, or after a known recovery)."""
        self._skip_until = 0.0


# The task broker: after a publish fails, writes skip the cache refresh and job starts answer
# 503 at once for BROKER_RETRY_SECONDS (lots/tasks.py).
broker_breaker = CircuitBreaker(
    "task broker", retry_setting="BROKER_RETRY_SECONDS", logger=logging.getLogger("flowviz.broker")
)


class DatabaseBreaker(CircuitBreaker):
    """The database's breaker, with a third state between closed and open: `suspect`.

    Suspect (a query failed on a live connection, or the breaker's window just ended): the next
    connection is taken with a short wait (DB_PROBE_TIMEOUT) instead of the pool's full timeout,
    so a database that is down is known within seconds; open: no connection is tried at all and
    requests answer 503 at once (flowviz/ops/postgresql/base.py, flowviz/http/errors.py).
    """

    def __init__(self, name: str, *, retry_setting: str, logger: logging.Logger):
        super().__init__(name, retry_setting=retry_setting, logger=logger)
        self._suspect = False

    @property
    def suspect(self) -> bool:
        return self._suspect

    def suspected(self) -> None:
        self._suspect = True

    def failed(self, what: str) -> None:
        self._suspect = True
        super().failed(what)

    def succeeded(self) -> None:
        self._suspect = False

    def reset(self) -> None:
        super().reset()
        self._suspect = False


database_breaker = DatabaseBreaker(
    "database", retry_setting="DB_RETRY_SECONDS", logger=logging.getLogger("flowviz.database")
)
