"""Migrations build the whole schema from zero, and the models agree with them."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.db_support import database_url

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.django_db
def test_models_and_migrations_agree():
    result = _manage("makemigrations", "--check", "--dry-run", database_url=database_url())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db(transaction=True)  # autocommit: CREATE DATABASE cannot run in a transaction
def test_migrations_apply_from_zero():
    name = f"flowviz_migrate_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        result = _manage("migrate", "--noinput", database_url=database_url(name))
        assert result.returncode == 0, result.stderr
        assert "Applying lots.0001_initial... OK" in result.stdout
        assert "Applying quality.0002_qc_decisions_append_only... OK" in result.stdout
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
