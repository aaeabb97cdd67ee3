"""Migrations build the whole schema from zero on both supported databases."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_migrations_apply_from_zero_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = _manage("migrate", "--noinput", database_url=url)
    assert result.returncode == 0, result.stderr
    assert "Applying lots.0001_initial... OK" in result.stdout


def test_models_and_migrations_agree(tmp_path):
    result = _manage(
        "makemigrations", "--check", "--dry-run", database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}"
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # autocommit: CREATE DATABASE cannot run in a transaction
def test_migrations_apply_from_zero_on_postgres():
    settings_dict = connection.settings_dict
    name = f"flowviz_migrate_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        auth = settings_dict["USER"] + (f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else "")
        url = f"postgres://{auth}@{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}/{name}"
        result = _manage("migrate", "--noinput", database_url=url)
        assert result.returncode == 0, result.stderr
        assert "Applying quality.0002_qc_decisions_append_only... OK" in result.stdout
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
