"""Issue 14, fault 1: after Valkey is killed and restarted, the cache (and with it readiness and
the shared login limit) works again within CACHE_RETRY_SECONDS, with no process restart."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from tests.api_support import post_json

pytestmark = pytest.mark.django_db


def _login(client: Client) -> int:
    return post_json(client, "/api/login", {"email": "nobody@flowviz.com"}).status_code


def _ready_within(client: Client, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    status = client.get("/api/health/ready").status_code
    while status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        status = client.get("/api/health/ready").status_code
    return status


def test_cache_calls_succeed_again_after_valkey_restarts(valkey_cache):
    cache.set("before", 1)
    valkey_cache.restart()  # no persistence: the key is gone, the pooled sockets are dead
    deadline = time.monotonic() + settings.CACHE_RETRY_SECONDS
    while True:
        try:
            cache.set("after", 2)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert cache.get("after") == 2


def test_readiness_is_back_to_200_within_the_retry_setting_after_valkey_restarts(valkey_cache):
    client = Client()
    assert client.get("/api/health/ready").status_code == 200
    valkey_cache.restart()
    assert _ready_within(client, settings.CACHE_RETRY_SECONDS) == 200


def test_login_limit_counts_again_after_valkey_restarts(valkey_cache, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "3/m"}
    client = Client()
    _login(client)
    valkey_cache.restart()
    # The counter started before the restart is lost with it; counting starts again at once.
    statuses = [_login(client) for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
