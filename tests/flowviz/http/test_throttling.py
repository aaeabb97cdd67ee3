"""Rate limits: shared through the cache, atomic, 429 with Retry-After, health never limited."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from accounts.roles import Role
from flowviz.http.throttling import Rate, rate_parse, throttle_hit
from tests.api_support import demo_user, get_json, post_json

LOCMEM = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle-test"}
}


def _logins(count: int, **extra) -> list:
    client = Client()
    return [post_json(client, "/api/login", {"email": "nobody@flowviz.com"}, **extra) for _ in range(count)]


def _assert_eleventh_login_is_throttled() -> None:
    responses = _logins(11)
    assert [r.status_code for r in responses[:10]] == [401] * 10
    throttled = responses[10]
    assert throttled.status_code == 429
    assert "detail" in throttled.json()
    assert 1 <= int(throttled["Retry-After"]) <= 60


@pytest.mark.redis
def test_eleventh_login_within_a_minute_is_429_with_retry_after_on_redis(db):
    assert "redis" in type(caches["default"]).__module__
    _assert_eleventh_login_is_throttled()


@override_settings(CACHES=LOCMEM)
def test_eleventh_login_within_a_minute_is_429_with_retry_after_in_process(db):
    caches["default"].clear()
    _assert_eleventh_login_is_throttled()


def test_login_limit_is_per_client_ip(db):
    _logins(10, REMOTE_ADDR="10.0.0.1")
    assert _logins(1, REMOTE_ADDR="10.0.0.1")[0].status_code == 429
    assert _logins(1, REMOTE_ADDR="10.0.0.2")[0].status_code == 401


def test_forwarded_for_is_ignored_without_trusted_proxies(db):
    for i in range(10):
        _logins(1, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    assert _logins(1, HTTP_X_FORWARDED_FOR="203.0.113.99")[0].status_code == 429


def test_forwarded_for_names_the_client_behind_a_trusted_proxy(db, settings):
    settings.NUM_PROXIES = 1
    _logins(10, HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert _logins(1, HTTP_X_FORWARDED_FOR="203.0.113.1")[0].status_code == 429
    assert _logins(1, HTTP_X_FORWARDED_FOR="203.0.113.2")[0].status_code == 401


def test_authenticated_reads_are_limited_per_user(demo, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "read": "2/m"}
    viewer, auditor = demo_user(Role.VIEWER), demo_user(Role.AUDITOR)
    statuses = [get_json(Client(), "/api/lots", viewer).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert get_json(Client(), "/api/lots", auditor).status_code == 200


def test_traceability_has_its_own_limit(demo, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "traceability": "1/m"}
    viewer = demo_user(Role.VIEWER)
    assert get_json(Client(), "/api/traceability/MIX-BATCH-88", viewer).status_code == 200
    assert get_json(Client(), "/api/traceability/MIX-BATCH-88", viewer).status_code == 429
    assert get_json(Client(), "/api/lots", viewer).status_code == 200


def test_writes_have_their_own_limit(demo, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "write": "1/m"}
    operator = demo_user(Role.OPERATOR)
    assert post_json(Client(), "/api/lots", {"lot_code": "W1"}, operator).status_code == 201
    assert post_json(Client(), "/api/lots", {"lot_code": "W2"}, operator).status_code == 429


def test_health_is_never_limited(settings):
    settings.THROTTLE_RATES = {key: "1/m" for key in settings.THROTTLE_RATES}
    assert {Client().get("/api/health").status_code for _ in range(20)} == {200}


def test_throttling_can_be_switched_off(db, settings):
    settings.THROTTLE_ENABLED = False
    assert {r.status_code for r in _logins(15)} == {401}


@pytest.mark.parametrize(
    ("text", "rate"),
    [("10/m", Rate(10, 60)), ("50/min", Rate(50, 60)), ("5/s", Rate(5, 1)), ("1/d", Rate(1, 86400))],
)
def test_rate_parse(text, rate):
    assert rate_parse(text) == rate


def test_rate_parse_refuses_nonsense():
    with pytest.raises(ValueError):
        rate_parse("ten per minute")


def _hammer(count: int, rate: Rate) -> Counter:
    barrier = threading.Barrier(count)

    def hit(_: int) -> bool:
        barrier.wait(timeout=30)
        return throttle_hit(scope="login", ident="ip:198.51.100.7", rate=rate, now=1_000_000.0) is None

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Counter(pool.map(hit, range(count)))


@pytest.mark.redis
def test_fifty_simultaneous_hits_let_exactly_the_limit_through_on_redis():
    assert _hammer(50, Rate(10, 60)) == {True: 10, False: 40}


@override_settings(CACHES=LOCMEM)
def test_fifty_simultaneous_hits_let_exactly_the_limit_through_in_process():
    caches["default"].clear()
    assert _hammer(50, Rate(10, 60)) == {True: 10, False: 40}


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_logins_from_one_ip_let_exactly_ten_through():
    from django.db import connection

    barrier = threading.Barrier(50)

    def login(_: int) -> int:
        try:
            client = Client()
            barrier.wait(timeout=30)
            body = json.dumps({"email": "nobody@flowviz.com", "password": "guess"})
            return client.post("/api/login", body, content_type="application/json").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = Counter(pool.map(login, range(50)))
    assert statuses == {401: 10, 429: 40}


def test_retry_after_counts_down_to_the_end_of_the_window():
    rate = Rate(1, 60)
    assert throttle_hit(scope="t", ident="x", rate=rate, now=6000.0) is None
    assert throttle_hit(scope="t", ident="x", rate=rate, now=6015.0) == 45.0


def test_a_burst_at_the_end_of_a_window_still_counts_early_in_the_next():
    rate = Rate(10, 60)
    for _ in range(10):
        assert throttle_hit(scope="t", ident="edge", rate=rate, now=6059.0) is None
    # Two seconds later a new fixed window has begun, but the burst was one second ago.
    assert throttle_hit(scope="t", ident="edge", rate=rate, now=6061.0) is not None


def test_the_previous_window_weighs_less_as_it_slides_out():
    rate = Rate(10, 60)
    for _ in range(10):
        throttle_hit(scope="t", ident="slide", rate=rate, now=6000.0)
    # 55 s into the next window only 1/12 of the previous ten still counts.
    assert throttle_hit(scope="t", ident="slide", rate=rate, now=6115.0) is None
