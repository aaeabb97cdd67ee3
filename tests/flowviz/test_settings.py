"""Settings come from the environment, with safe defaults and a refusal to run insecurely."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from flowviz.env import database_config, env
from flowviz.ops.db_pool import mark_returned

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, *, without: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess:
    """`python -c code` in the project, with this environment less `without`, plus `env`."""
    kept = {k: v for k, v in os.environ.items() if k not in without}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**kept, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _start_django(**env: str) -> subprocess.CompletedProcess:
    return _python(
        "import django; django.setup(); print('started')",
        without=("SECRET_KEY", "DEBUG"),
        **{**env, "DJANGO_SETTINGS_MODULE": "flowviz.settings"},
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


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["seed_demo", "--help"], {}, "error: SECRET_KEY is not set. Set SECRET_KEY"),
        (["migrate"], {}, "error: SECRET_KEY is not set. Set SECRET_KEY"),
        (
            ["check"],
            {"DEBUG": "true", "DB_POOL_MAX_SIZE": "lots"},
            "error: DB_POOL_MAX_SIZE must be an integer",
        ),
        (
            ["showmigrations"],
            {"DEBUG": "true", "DATABASE_URL": "mysql://root@localhost/flowviz"},
            "error: DATABASE_URL must be",
        ),
    ],
)
def test_a_missing_or_bad_setting_is_one_line_and_a_failure_for_every_command(args, env, message):
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1, result.stderr


def test_postgres_database_url_uses_psycopg_pool_and_health_checks():
    config = database_config(
        "postgres://app:s%40cret@db.internal:6543/flowviz?sslmode=require", pool_max_size=7
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
    assert config["OPTIONS"]["pool"]["reset"] is mark_returned
    assert config["OPTIONS"]["sslmode"] == "require"
    assert config["OPTIONS"]["connect_timeout"] == "5"
    assert config["CONN_MAX_AGE"] == 0
    assert config["CONN_HEALTH_CHECKS"] is True
    assert config["TEST"] == {"NAME": "test_flowviz"}


def test_postgres_database_url_without_pool_keeps_persistent_connections():
    config = database_config(
        "postgresql://app@pgbouncer/flowviz",
        use_pool=False,
        conn_max_age=60,
        disable_server_side_cursors=True,
    )
    assert config["ENGINE"] == "flowviz.ops.postgresql"  # the database breaker, without a pool too
    assert "pool" not in config["OPTIONS"]
    assert config["CONN_MAX_AGE"] == 60
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_a_unix_socket_url_names_the_socket_directory_as_host():
    # The form the embedded cluster's URL takes (libpq's host parameter).
    config = database_config("postgresql://postgres:@/flowviz?host=/srv/db/postgres&port=5433&test_name=t1")
    assert (config["NAME"], config["USER"], config["HOST"], config["PORT"]) == (
        "flowviz",
        "postgres",
        "/srv/db/postgres",
        "5433",
    )
    assert config["TEST"] == {"NAME": "t1"}
    assert {"host", "port", "test_name"}.isdisjoint(config["OPTIONS"])


@pytest.mark.parametrize(
    "url",
    ["oracle://app@db/flowviz", "mysql://root@localhost/flowviz", "flowviz.db", "postgres://db.internal/"],
)
def test_a_database_url_that_is_not_a_postgres_database_is_refused(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_config(url)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be a boolean (true/false), got 'maybe'."),
        ("DB_POOL_MAX_SIZE", "ten", "DB_POOL_MAX_SIZE must be an integer, got 'ten'."),
        ("READINESS_TIMEOUT", "2 s", "READINESS_TIMEOUT must be a number, got '2 s'."),
    ],
)
def test_a_bad_value_is_one_clear_error_naming_the_variable(name, value, message):
    result = _start_django(**{"DEBUG": "true", name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_env_reads_booleans_numbers_and_lists_strictly(monkeypatch):
    monkeypatch.setenv("FLOWVIZ_T_BOOL", " Yes ")
    monkeypatch.setenv("FLOWVIZ_T_INT", "")
    monkeypatch.setenv("FLOWVIZ_T_LIST", " a.example , ,b.example")
    assert env.bool("FLOWVIZ_T_BOOL", default=False) is True
    assert env.int("FLOWVIZ_T_INT", default=7) == 7
    assert env.list("FLOWVIZ_T_LIST", default=[]) == ["a.example", "b.example"]
    assert env.float("FLOWVIZ_T_UNSET", default=0.5) == 0.5
    monkeypatch.setenv("FLOWVIZ_T_SECRET", "$3cr3t-from-a-generator")
    assert env.str("FLOWVIZ_T_SECRET", default="") == "$3cr3t-from-a-generator"


def test_without_database_url_the_embedded_postgres_starts_is_exported_and_stops_at_exit(tmp_path):
    data_dir = tmp_path / "pg"
    code = (
        "import os, django; django.setup(); from django.db import connection; "
        "cursor = connection.cursor(); cursor.execute('SHOW server_version_num'); "
        "print(os.environ['DATABASE_URL'], connection.settings_dict['HOST'], cursor.fetchone()[0])"
    )
    result = _python(
        code,
        without=("DATABASE_URL",),
        DEBUG="true",
        EMBEDDED_POSTGRES_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="flowviz.settings",
    )
    assert result.returncode == 0, result.stderr
    url, host, version = result.stdout.split()
    assert url == f"postgresql://postgres:@/flowviz?host={data_dir}"
    assert host == str(data_dir)
    assert int(version) >= 180000
    assert (data_dir / "PG_VERSION").is_file()  # the data stays for the next run...
    assert not (data_dir / "postmaster.pid").exists()  # ...and the server stopped with the process


def test_time_zone_is_utc():
    from django.conf import settings

    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == "UTC"


def test_without_a_broker_tasks_run_inline_on_kombus_in_memory_transport():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = _python(code, without=("CELERY_BROKER_URL",), DJANGO_SETTINGS_MODULE="tests.settings")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["memory://localhost/", "True"]


@pytest.mark.parametrize(("debug", "secure"), [("false", "True"), ("true", "False")])
def test_the_session_cookie_is_secure_unless_debug(debug, secure):
    result = _python(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.AUTH_COOKIE, settings.AUTH_COOKIE_SECURE)",
        without=("SECRET_KEY", "DEBUG", "AUTH_COOKIE", "AUTH_COOKIE_SECURE"),
        DEBUG=debug,
        SECRET_KEY="k7#Vq9!mZ2" * 6,
        DJANGO_SETTINGS_MODULE="flowviz.settings",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", secure]


def test_connections_start_with_postgresql_jit_off_by_default():
    from flowviz.env import database_config

    assert database_config("postgres://db/flowviz")["OPTIONS"]["options"] == "-c jit=off"


def test_db_jit_or_pgbouncer_leaves_the_servers_jit_setting_alone():
    from flowviz.env import database_config

    assert "options" not in database_config("postgres://db/flowviz", jit=True)["OPTIONS"]
    assert (
        "options" not in database_config("postgres://db/flowviz", disable_server_side_cursors=True)["OPTIONS"]
    )


def test_options_in_the_database_url_win_over_the_jit_default():
    from flowviz.env import database_config

    url = "postgres://db/flowviz?options=-c%20statement_timeout%3D5000"
    assert database_config(url)["OPTIONS"]["options"] == "-c statement_timeout=5000"


@pytest.mark.django_db
def test_the_test_database_connection_has_jit_off():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
