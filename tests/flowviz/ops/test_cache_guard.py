"""With Valkey down, rate limits and cached reads fail open once, then stop waiting on it."""

from __future__ import annotations

import logging

import pytest
from django.test import Client, override_settings

from flowviz.http.throttling import rate_parse, throttle_hit
from flowviz.ops.cache_guard import cache_reset, cache_usable
from tests.api_support import bearer, demo_user
from tests.lots.test_cache import _DEAD_VALKEY


def _cache_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "flowviz.ops.cache_guard"]


def test_a_dead_cache_lets_requests_through_and_is_skipped_after_the_first_failure(caplog):
    caplog.set_level(logging.WARNING, logger="flowviz.ops.cache_guard")
    with override_settings(CACHES=_DEAD_VALKEY):
        results = [throttle_hit(scope="read", ident="ip:10.0.0.1", rate=rate_parse("1/m")) for _ in range(5)]
    assert results == [None] * 5
    assert not cache_usable()
    assert len(_cache_warnings(caplog)) == 1


def test_the_cache_is_tried_again_after_the_retry_window(settings, caplog):
    settings.CACHE_RETRY_SECONDS = 0
    caplog.set_level(logging.WARNING, logger="flowviz.ops.cache_guard")
    with override_settings(CACHES=_DEAD_VALKEY):
        for _ in range(3):
            throttle_hit(scope="read", ident="ip:10.0.0.2", rate=rate_parse("1/m"))
    assert len(_cache_warnings(caplog)) == 3


@pytest.mark.django_db
def test_traceability_reads_answer_from_the_database_while_the_cache_is_skipped(demo, caplog):
    caplog.set_level(logging.WARNING, logger="flowviz.ops.cache_guard")
    auth = bearer(demo_user("VIEWER"))
    with override_settings(CACHES=_DEAD_VALKEY):
        responses = [Client().get("/api/traceability/MIX-BATCH-88", **auth) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert responses[-1].json()["children"][0]["lot_code"] == "FG-DONER-X1"
    assert len(_cache_warnings(caplog)) == 1


def test_a_working_cache_counts_again_after_a_reset():
    with override_settings(CACHES=_DEAD_VALKEY):
        throttle_hit(scope="login", ident="ip:10.0.0.3", rate=rate_parse("1/m"))
    cache_reset()
    rate = rate_parse("1/m")
    assert throttle_hit(scope="login", ident="ip:10.0.0.3", rate=rate) is None
    assert throttle_hit(scope="login", ident="ip:10.0.0.3", rate=rate) is not None


def test_the_login_limit_is_counted_per_process_while_the_cache_is_dead(caplog):
    caplog.set_level(logging.WARNING, logger="flowviz.ops.cache_guard")
    rate = rate_parse("3/m")
    with override_settings(CACHES=_DEAD_VALKEY):
        results = [throttle_hit(scope="login", ident="ip:10.0.0.4", rate=rate) for _ in range(5)]
    assert results[:3] == [None] * 3
    assert all(wait is not None and wait >= 1 for wait in results[3:])
    assert "login limit counted per process" in _cache_warnings(caplog)[0].getMessage()
