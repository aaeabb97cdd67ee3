"""Issue 14, fault 8: the server (gunicorn + uvicorn workers, as in production) closes idle and
header-trickling connections after its keep-alive and header timeouts."""

from __future__ import annotations

import socket
import time

import pytest

from tests.faults.servers import ApiServer

KEEPALIVE = 1
HEADER_TIMEOUT = 2


@pytest.fixture(scope="module")
def server():
    api = ApiServer(
        {
            "REDIS_URL": "",
            "CELERY_BROKER_URL": "",
            "GUNICORN_KEEPALIVE": str(KEEPALIVE),
            "GUNICORN_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        }
    )
    try:
        yield api.start()
    finally:
        api.stop()


def _closed_after(sock: socket.socket, *, limit: float, trickle: bytes = b"") -> float | None:
    """Seconds until the server closes `sock` (None: still open after `limit`); with `trickle`,
    one byte of it is sent every half second meanwhile."""
    started = time.monotonic()
    sock.settimeout(0.5)
    position = 0
    while time.monotonic() - started < limit:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except ConnectionResetError:
            return time.monotonic() - started
        if position < len(trickle):
            try:
                sock.sendall(trickle[position : position + 1])
            except OSError:
                return time.monotonic() - started
            position += 1
    return None


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        closed = _closed_after(sock, limit=HEADER_TIMEOUT + 4)
    assert closed is not None and closed < HEADER_TIMEOUT + 1.5


def test_a_request_head_trickled_byte_by_byte_is_cut_off_after_the_header_timeout(server):
    head = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        closed = _closed_after(sock, limit=HEADER_TIMEOUT + 4, trickle=head)
    assert closed is not None and closed < HEADER_TIMEOUT + 1.5


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        closed = _closed_after(sock, limit=KEEPALIVE + 4)
    assert closed is not None and closed < KEEPALIVE + 1.5


def test_a_request_sent_in_time_is_answered(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
