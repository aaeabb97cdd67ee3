"""The gunicorn worker class of the api container: uvicorn's, plus a deadline for request heads.

Uvicorn closes an idle keep-alive connection after `timeout_keep_alive` (gunicorn's
`keepalive`), but it has no limit on how long a request's head may take: its keep-alive timer
starts only after a response and stops at the first byte received, so a client that connects
and sends nothing, or trickles one header byte every few seconds, holds the connection (and a
slot of the worker's) forever (one stayed open 150 s). Here the whole head of each request (the
request line and every header) must arrive within GUNICORN_HEADER_TIMEOUT seconds of the
connection being opened, or of the previous response being sent; otherwise the connection is
closed. Bodies are bounded by the request's own handling (nginx's client_body_timeout in front).
"""

from __future__ import annotations

import asyncio
import logging
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

logger = logging.getLogger("flowviz.http")

HEADER_TIMEOUT = float(os.environ.get("GUNICORN_HEADER_TIMEOUT", "10"))


class HeadDeadlineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; a request head not complete in HEADER_TIMEOUT closes the connection."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_deadline_start()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_deadline_stop()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._head_deadline_stop()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request's head, unless one is already in (pipelined) or the connection ends.
        if not self.transport.is_closing() and self.cycle is not None and self.cycle.response_complete:
            self._head_deadline_start()

    def _head_deadline_start(self) -> None:
        self._head_deadline_stop()
        self._head_timer = self.loop.call_later(HEADER_TIMEOUT, self._head_deadline_passed)

    def _head_deadline_stop(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            logger.info("closed a connection whose request head took over %ss", HEADER_TIMEOUT)
            self.transport.close()


class FlowVizUvicornWorker(UvicornWorker):
    """`worker_class` in flowviz/ops/gunicorn_conf.py."""

    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "http": HeadDeadlineHttpToolsProtocol}
