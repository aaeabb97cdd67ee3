"""The database schema is the documented data model, and the database enforces its rules."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

# table -> column -> (PostgreSQL data type, nullable), as ../shared/docs/data-model.md names them.
DATA_MODEL = {
    "users": {
        "id": ("uuid", False),
        "email": ("text", False),
        "full_name": ("text", True),
        "role": ("text", False),
        "created_at": ("timestamp with time zone", False),
        "last_login": ("timestamp with time zone", True),
    },
    "scenarios": {
        "id": ("uuid", False),
        "name": ("jsonb", False),
        "version": ("text", False),
        "config": ("jsonb", False),
        "i18n": ("jsonb", False),
        "is_active": ("boolean", False),
        "created_at": ("timestamp with time zone", False),
    },
    "streams": {
        "id": ("uuid", False),
        "scenario_id": ("uuid", False),
        "stream_key": ("text", False),
        "name": ("jsonb", False),
        "color": ("text", True),
        "sort_order": ("integer", False),
    },
    "qc_gates": {
        "id": ("uuid", False),
        "scenario_id": ("uuid", False),
        "gate_number": ("numeric(4,1)", False),
        "name": ("jsonb", False),
        "gate_type": ("text", False),
        "is_ccp": ("boolean", False),
        "checklist": ("jsonb", False),
    },
    "phases": {
        "id": ("uuid", False),
        "scenario_id": ("uuid", False),
        "stream_id": ("uuid", True),
        "qc_gate_id": ("uuid", True),
        "phase_number": ("integer", False),
        "name": ("jsonb", False),
        "description": ("jsonb", False),
    },
    "production_runs": {
        "id": ("uuid", False),
        "run_code": ("text", False),
        "scenario_id": ("uuid", True),
        "operator_id": ("uuid", True),
        "status": ("text", False),
        "daily_target_kg": ("numeric(10,2)", True),
        "started_at": ("timestamp with time zone", False),
        "ended_at": ("timestamp with time zone", True),
        "summary": ("jsonb", True),
    },
    "lots": {
        "id": ("uuid", False),
        "lot_code": ("text", False),
        "lot_type": ("text", True),
        "production_run_id": ("uuid", True),
        "phase_id": ("uuid", True),
        "operator_id": ("uuid", True),
        "weight_kg": ("numeric(10,2)", True),
        "temperature_c": ("numeric(5,1)", True),
        "metadata": ("jsonb", False),
        "created_at": ("timestamp with time zone", False),
    },
    "lot_genealogy": {
        "id": ("uuid", False),
        "parent_lot_id": ("uuid", False),
        "child_lot_id": ("uuid", False),
        "quantity_used_kg": ("numeric(10,2)", True),
        "linked_at": ("timestamp with time zone", False),
    },
    "qc_decisions": {
        "id": ("uuid", False),
        "lot_id": ("uuid", False),
        "qc_gate_id": ("uuid", True),
        "operator_id": ("uuid", True),
        "decision": ("text", False),
        "notes": ("text", True),
        "temperature_c": ("numeric(5,1)", True),
        "digital_signature": ("text", True),
        "decided_at": ("timestamp with time zone", False),
    },
}

# The Flow Editor's tables (api-contract.md section 10); new in FlowViz, so not in a legacy
# database (tests/flowviz/legacy reads DATA_MODEL as the legacy tables).
FLOW_TABLES = {
    "flow_definitions": {
        "id": ("uuid", False),
        "name": ("jsonb", False),
        "description": ("text", True),
        "created_by": ("uuid", True),
        "created_at": ("timestamp with time zone", False),
        "updated_at": ("timestamp with time zone", False),
    },
    "flow_versions": {
        "id": ("uuid", False),
        "flow_definition_id": ("uuid", False),
        "version_num": ("integer", False),
        "status": ("text", False),
        "graph_schema": ("jsonb", False),
        "created_by": ("uuid", True),
        "published_at": ("timestamp with time zone", True),
        "published_by": ("uuid", True),
        "created_at": ("timestamp with time zone", False),
    },
}

# Django's auth needs these on the user table; each has a database default (legacy inserts).
USER_AUTH_COLUMNS = {"password", "is_active", "is_superuser", "is_staff"}


def _pg_columns(table: str) -> dict[str, tuple[str, bool]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT column_name,
                   CASE WHEN data_type = 'numeric'
                        THEN 'numeric(' || numeric_precision || ',' || numeric_scale || ')'
                        ELSE data_type END,
                   is_nullable = 'YES'
            FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = %s
            """,
            [table],
        )
        return {name: (data_type, nullable) for name, data_type, nullable in cursor.fetchall()}


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted({**DATA_MODEL, **FLOW_TABLES}))
def test_postgres_table_has_the_documented_columns_types_and_nullability(table):
    columns = _pg_columns(table)
    documented = {**DATA_MODEL, **FLOW_TABLES}[table]
    assert {name: columns.get(name) for name in documented} == documented
    extra = set(columns) - set(documented)
    assert extra == (USER_AUTH_COLUMNS if table == "users" else set())


@pytest.mark.django_db
def test_postgres_user_auth_columns_have_database_defaults():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'users' AND column_default IS NOT NULL"
        )
        with_default = {row[0] for row in cursor.fetchall()}
    assert USER_AUTH_COLUMNS | {"role", "created_at"} <= with_default


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "index_columns"),
    [
        ("lots", "lot_code"),
        ("lot_genealogy", "parent_lot_id"),
        ("lot_genealogy", "child_lot_id"),
        ("qc_decisions", "lot_id, decided_at"),
        ("flow_definitions", "updated_at, id"),
        ("flow_versions", "flow_definition_id, version_num"),
        ("flow_versions", "created_by"),
        ("flow_versions", "published_by"),
        ("flow_definitions", "created_by"),
        ("lot_suspicions", "suspect_lot_id"),
        ("lot_suspicions", "held_lot_id"),
        ("recall_drills", "started_at"),
    ],
)
def test_postgres_has_an_index_for_each_lookup_path(table, index_columns):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        definitions = [row[0] for row in cursor.fetchall()]
    leading = index_columns.split(", ")

    def starts_with(definition: str) -> bool:
        definition = definition.split(" INCLUDE ", 1)[0]  # covering indexes: key columns only
        cols = definition.split("(", 1)[1].rstrip(")").replace(" DESC", "").split(", ")
        cols = [c.strip().strip('"').split(" ")[0] for c in cols]
        return cols[: len(leading)] == leading

    assert any(starts_with(d) for d in definitions), definitions


def _insert(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def scenario_id(db):
    from flowviz.production.models import Scenario

    return Scenario.objects.create(name={"hu": "Teszt", "en": "Test"}, version="1").id


@pytest.mark.django_db
def test_database_rejects_an_unknown_lot_type():
    with pytest.raises(IntegrityError):
        _insert(
            "INSERT INTO lots (id, lot_code, lot_type, metadata, created_at) "
            "VALUES (%s, 'X-1', 'BOGUS', '{}', CURRENT_TIMESTAMP)",
            [_new_id()],
        )


@pytest.mark.django_db
def test_database_rejects_an_unknown_role():
    with pytest.raises(IntegrityError):
        _insert(
            "INSERT INTO users (id, email, role, password, is_active, is_superuser, is_staff, created_at) "
            "VALUES (%s, 'x@example.com', 'KING', '!', true, false, false, CURRENT_TIMESTAMP)",
            [_new_id()],
        )


@pytest.mark.django_db
def test_database_rejects_an_unknown_decision(demo):
    from lots.models import Lot

    lot = Lot.objects.get(lot_code="RAW-BEEF-001")
    lot_id = str(lot.id)
    with pytest.raises(IntegrityError):
        _insert(
            "INSERT INTO qc_decisions (id, lot_id, decision, decided_at) "
            "VALUES (%s, %s, 'MAYBE', CURRENT_TIMESTAMP)",
            [_new_id(), lot_id],
        )


@pytest.mark.django_db
def test_database_rejects_an_unknown_gate_type(scenario_id):
    sid = str(scenario_id)
    with pytest.raises(IntegrityError):
        _insert(
            "INSERT INTO qc_gates (id, scenario_id, gate_number, name, gate_type, is_ccp, checklist) "
            "VALUES (%s, %s, 1, '{}', 'SOMETIMES', false, '[]')",
            [_new_id(), sid],
        )


@pytest.mark.django_db
def test_database_rejects_an_unknown_run_status():
    with pytest.raises(IntegrityError):
        _insert(
            "INSERT INTO production_runs (id, run_code, status, started_at) "
            "VALUES (%s, 'PRD-20260101-1', 'PAUSED', CURRENT_TIMESTAMP)",
            [_new_id()],
        )


@pytest.mark.django_db
def test_database_rejects_a_duplicate_lot_code(demo):
    with pytest.raises(IntegrityError):
        _insert(
            "INSERT INTO lots (id, lot_code, metadata, created_at) "
            "VALUES (%s, 'RAW-BEEF-001', '{}', CURRENT_TIMESTAMP)",
            [_new_id()],
        )


@pytest.mark.django_db
def test_database_rejects_a_duplicate_genealogy_pair(demo):
    from lots.models import Lot, LotGenealogy

    beef = Lot.objects.get(lot_code="RAW-BEEF-001")
    mix = Lot.objects.get(lot_code="MIX-BATCH-88")
    with pytest.raises(IntegrityError), transaction.atomic():
        LotGenealogy.objects.create(parent_lot=beef, child_lot=mix)


@pytest.mark.django_db
def test_database_rejects_a_self_link(demo):
    from lots.models import Lot, LotGenealogy

    beef = Lot.objects.get(lot_code="RAW-BEEF-001")
    with pytest.raises(IntegrityError), transaction.atomic():
        LotGenealogy.objects.create(parent_lot=beef, child_lot=beef)


@pytest.fixture
def qc_decision(demo):
    from lots.models import Lot
    from quality.models import QcDecision

    return QcDecision.objects.create(lot=Lot.objects.get(lot_code="MIX-BATCH-88"), decision="PASS")


@pytest.mark.django_db
def test_postgres_refuses_to_update_a_qc_decision(qc_decision):
    with pytest.raises(IntegrityError, match="append-only"):
        _insert("UPDATE qc_decisions SET decision = 'FAIL' WHERE id = %s", [qc_decision.id])


@pytest.mark.django_db
def test_postgres_refuses_to_delete_a_qc_decision(qc_decision):
    with pytest.raises((IntegrityError, InternalError), match="append-only"):
        _insert("DELETE FROM qc_decisions WHERE id = %s", [qc_decision.id])


@pytest.mark.django_db
def test_database_rejects_an_email_that_differs_only_in_case():
    from accounts.models import User

    User.objects.create_user("Someone@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="SOMEONE@example.COM")


@pytest.mark.django_db
def test_database_rejects_an_unknown_flow_version_status():
    from flowviz.production.models import FlowDefinition

    flow = FlowDefinition.objects.create(name={"hu": "x", "en": "x"})
    with pytest.raises(IntegrityError):
        _insert(
            "INSERT INTO flow_versions (id, flow_definition_id, version_num, status, graph_schema) "
            "VALUES (%s, %s, 1, 'LIVE', '{}')",
            [_new_id(), str(flow.pk)],
        )


@pytest.mark.django_db
def test_the_flows_draft_is_found_through_a_partial_unique_index():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'flow_versions_one_draft'")
        (definition,) = cursor.fetchone()
    assert definition.startswith("CREATE UNIQUE INDEX")
    assert "(flow_definition_id) WHERE (status = 'DRAFT'::text)" in definition
