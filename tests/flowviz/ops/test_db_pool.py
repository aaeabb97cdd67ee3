"""The pool's health check: a round trip only for connections that sat idle."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from flowviz.ops import db_pool


def _raw_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("pool", None)
    return psycopg.connect(**params, autocommit=True)


def _cut_by_the_server(conn: psycopg.Connection) -> None:
    with _raw_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])


@pytest.mark.django_db
def test_connection_back_from_a_request_moments_ago_is_handed_out_without_a_round_trip():
    conn = _raw_connection()
    db_pool.mark_returned(conn)
    _cut_by_the_server(conn)
    db_pool.check_if_idle(conn)  # no query sent, so the cut is not noticed here
    conn.close()


@pytest.mark.django_db
def test_connection_that_idled_is_checked_and_a_dead_one_refused(monkeypatch):
    monkeypatch.setattr(db_pool, "IDLE_CHECK_SECONDS", 0.0)
    conn = _raw_connection()
    db_pool.mark_returned(conn)
    db_pool.check_if_idle(conn)  # alive: passes
    _cut_by_the_server(conn)
    with pytest.raises(psycopg.OperationalError):
        db_pool.check_if_idle(conn)
    conn.close()


@pytest.mark.django_db
def test_connection_known_closed_is_refused_even_just_returned():
    conn = _raw_connection()
    db_pool.mark_returned(conn)
    conn.close()
    with pytest.raises(psycopg.OperationalError):
        db_pool.check_if_idle(conn)


def test_the_pool_uses_the_idle_aware_check():
    pool = connection.pool
    if not connection.settings_dict["OPTIONS"].get("pool"):
        assert pool is None  # DB_POOL=false (behind PgBouncer): persistent connections instead
        return
    assert pool._check is db_pool.check_if_idle
