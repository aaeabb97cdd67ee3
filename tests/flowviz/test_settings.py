"""Settings come from the environment, with safe defaults and a refusal to run insecurely."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from flowviz.env import parse_database_url

ROOT = Path(__file__).resolve().parents[2]


def _start_django(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "flowviz.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_secret_key_with_debug_off_refuses_to_start():
    result = _start_django(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_insecure_secret_key_with_debug_off_refuses_to_start():
    result = _start_django(DEBUG="false", SECRET_KEY="django-insecure-short")
    assert result.returncode != 0
    assert "SECRET_KEY is insecure" in result.stderr


def test_strong_secret_key_with_debug_off_starts():
    result = _start_django(DEBUG="false", SECRET_KEY="k7#Vq9!mZ2" * 6)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_debug_on_without_secret_key_starts_with_the_development_key():
    result = _start_django(DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_empty_database_url_is_the_embedded_sqlite_file(tmp_path):
    config = parse_database_url("", default_sqlite_path=tmp_path / "db.sqlite3")
    assert config == {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db.sqlite3")}


def test_sqlite_database_url_gives_an_absolute_path(tmp_path):
    config = parse_database_url("sqlite:////var/lib/flowviz/db.sqlite3", default_sqlite_path=tmp_path)
    assert config["NAME"] == "/var/lib/flowviz/db.sqlite3"


def test_postgres_database_url_uses_psycopg_pool_and_health_checks(tmp_path):
    config = parse_database_url(
        "postgres://app:s%40cret@db.internal:6543/flowviz?sslmode=require",
        default_sqlite_path=tmp_path,
        pool_max_size=7,
    )
    # Django's backend, with a pool health check that skips connections just returned.
    assert config["ENGINE"] == "flowviz.ops.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"], config["HOST"], config["PORT"]) == (
        "flowviz",
        "app",
        "s@cret",
        "db.internal",
        "6543",
    )
    assert config["OPTIONS"]["pool"]["max_size"] == 7
    assert config["OPTIONS"]["sslmode"] == "require"
    assert config["CONN_MAX_AGE"] == 0
    assert config["CONN_HEALTH_CHECKS"] is True


def test_postgres_database_url_without_pool_keeps_persistent_connections(tmp_path):
    config = parse_database_url(
        "postgresql://app@pgbouncer/flowviz",
        default_sqlite_path=tmp_path,
        use_pool=False,
        conn_max_age=60,
        disable_server_side_cursors=True,
    )
    assert "pool" not in config["OPTIONS"]
    assert config["CONN_MAX_AGE"] == 60
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_unsupported_database_url_scheme_is_refused(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="not supported"):
        parse_database_url("mysql://root@localhost/flowviz", default_sqlite_path=tmp_path)


def test_time_zone_is_utc():
    from django.conf import settings

    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == "UTC"
