"""Adopting a database created by the legacy SQL script, in place (`manage.py adopt_legacy_database`).

The legacy Node server keeps running on the same PostgreSQL during the cut-over, so nothing is
copied, renamed or dropped: the nine legacy tables are reshaped into what the initial Django
migrations would have created (new user columns with database defaults, Django's constraint and
index names, numeric scales), the bcrypt hashes of `auth.users` become Django password hashes,
the initial migrations are recorded as applied and every later migration then runs normally.
Everything happens in one transaction (PostgreSQL DDL is transactional): a failed step leaves
the database exactly as it was. A database that is not as documented is refused with a report
before anything changes. docs/parity.md says what the legacy server sees afterwards.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.sql import Query

# The apps whose initial migrations describe the legacy tables; they are recorded, not run.
ADOPTED_APPS = ("accounts", "flowviz", "quality", "lots")
# Legacy table -> the model owning it (in FK dependency order).
LEGACY_TABLES = {
    "users": ("accounts", "User"),
    "scenarios": ("flowviz", "Scenario"),
    "streams": ("flowviz", "Stream"),
    "qc_gates": ("quality", "QcGate"),
    "phases": ("flowviz", "Phase"),
    "production_runs": ("flowviz", "ProductionRun"),
    "lots": ("lots", "Lot"),
    "lot_genealogy": ("lots", "LotGenealogy"),
    "qc_decisions": ("quality", "QcDecision"),
}
AUTH_USERS_COLUMNS = ("id", "email", "encrypted_password")
# Integer and unconstrained decimal columns may be narrowed to a numeric(p,s) when every value fits.
NUMERIC_SOURCE_TYPES = {"numeric", "integer", "bigint", "smallint"}
BCRYPT_HASH_PATTERN = r"^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$"
# Rows listed per failed check in the report (the count is always given).
REPORT_ROWS = 20

# While the legacy server runs next to the new backend, accounts it creates or whose password it
# changes in auth.users get their hash copied to users.password, so they log in on both servers.
PASSWORD_BRIDGE_SQL = [
    r"""CREATE OR REPLACE FUNCTION flowviz_legacy_auth_password_sync() RETURNS trigger AS $$
BEGIN
    IF NEW.encrypted_password ~ '^\$2[aby]\$' THEN
        UPDATE public.users SET password = 'bcrypt$' || NEW.encrypted_password WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS flowviz_legacy_auth_password_sync ON auth.users",
    "CREATE TRIGGER flowviz_legacy_auth_password_sync AFTER INSERT OR UPDATE OF encrypted_password "
    "ON auth.users FOR EACH ROW EXECUTE FUNCTION flowviz_legacy_auth_password_sync()",
    r"""CREATE OR REPLACE FUNCTION flowviz_legacy_user_password_from_auth() RETURNS trigger AS $$
BEGIN
    IF NEW.password = '!' THEN
        NEW.password := COALESCE(
            (SELECT 'bcrypt$' || a.encrypted_password FROM auth.users a
             WHERE a.id = NEW.id AND a.encrypted_password ~ '^\$2[aby]\$'),
            NEW.password);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS flowviz_legacy_user_password_from_auth ON users",
    "CREATE TRIGGER flowviz_legacy_user_password_from_auth BEFORE INSERT ON users "
    "FOR EACH ROW EXECUTE FUNCTION flowviz_legacy_user_password_from_auth()",
]


class LegacyDatabaseRefused(Exception):
    """The database is not a legacy database as documented, or some rows do not fit the models."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "The database was not adopted (nothing was changed):\n"
            + "\n".join(f"- {p}" for p in problems)
            + "\nCorrect these rows or tables (the legacy server may keep running) and run the command again."
        )


@dataclass
class AdoptionPlan:
    already_adopted: bool = False
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # 1. reshape the legacy tables; 2. run the contrib migrations the initial ones depend on;
    # 3. SQL needing those (M2M tables to auth_group, password carry-over, bridge triggers);
    # 4. record the initial migrations as applied; 5. run every later migration.
    schema_sql: list[str] = field(default_factory=list)
    dependency_migrations: list[tuple[str, str]] = field(default_factory=list)
    after_dependencies_sql: list[str] = field(default_factory=list)
    recorded_migrations: list[tuple[str, str]] = field(default_factory=list)
    later_migrations: list[tuple[str, str]] = field(default_factory=list)

    def script(self, connection: BaseDatabaseWrapper) -> str:
        """The whole plan as SQL, for --dry-run."""
        executor = MigrationExecutor(connection)
        lines = ["BEGIN;", "", "-- 1. Reshape the legacy tables into the Django models' schema"]
        lines += [f"{sql};" for sql in self.schema_sql]
        lines += ["", "-- 2. Run the migrations the initial ones depend on"]
        lines += _migrations_sql(executor, self.dependency_migrations)
        lines += ["", "-- 3. Many-to-many tables, passwords from auth.users, password bridge"]
        lines += [f"{sql};" for sql in self.after_dependencies_sql]
        lines += ["", "-- 4. Record the initial migrations as applied (their tables exist now)"]
        lines += [
            f"INSERT INTO django_migrations (app, name, applied) VALUES ('{app}', '{name}', now());"
            for app, name in self.recorded_migrations
        ]
        lines += ["", "-- 5. Run the later migrations"]
        lines += _migrations_sql(executor, self.later_migrations)
        lines += ["", "COMMIT;"]
        return "\n".join(lines)


def _migrations_sql(executor: MigrationExecutor, keys: list[tuple[str, str]]) -> list[str]:
    plan = [(executor.loader.graph.nodes[key], False) for key in keys]
    lines = []
    for (migration, _), statements in zip(plan, _collect_sql_per_migration(executor, plan), strict=True):
        lines.append(f"-- migration {migration.app_label}.{migration.name}")
        lines += statements or ["-- (no SQL)"]
    return lines


def _collect_sql_per_migration(executor: MigrationExecutor, plan: list) -> list[list[str]]:
    return [executor.loader.collect_sql([step]) for step in plan]


# --- introspection --------------------------------------------------------------------------


@dataclass
class _Column:
    type: str
    nullable: bool
    default: str | None


@dataclass
class _Constraint:
    name: str
    kind: str  # c check, f foreign key, p primary key, u unique
    columns: list[str]
    references: str | None
    deferred: bool


def _fetch(connection: BaseDatabaseWrapper, sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _columns(connection: BaseDatabaseWrapper, schema: str | None, table: str) -> dict[str, _Column]:
    rows = _fetch(
        connection,
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = COALESCE(%s, current_schema()) AND c.relname = %s AND c.relkind = 'r'
          AND a.attnum > 0 AND NOT a.attisdropped
        """,
        [schema, table],
    )
    return {name: _Column(type_, nullable, default) for name, type_, nullable, default in rows}


def _constraints(connection: BaseDatabaseWrapper, table: str) -> list[_Constraint]:
    rows = _fetch(
        connection,
        """
        SELECT con.conname, con.contype,
               ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
                     ORDER BY k.ord),
               CASE WHEN con.contype = 'f' THEN con.confrelid::regclass::text END,
               con.condeferrable AND con.condeferred
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = %s
        ORDER BY con.conname
        """,
        [table],
    )
    return [_Constraint(n, k, list(cols), ref, deferred) for n, k, cols, ref, deferred in rows]


def _relation_names(connection: BaseDatabaseWrapper) -> set[str]:
    rows = _fetch(
        connection,
        "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
        "UNION SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace",
    )
    return {row[0] for row in rows}


def _normalised_type(db_type: str) -> str:
    db_type = db_type.replace(", ", ",")
    return re.sub(r"^varchar\(", "character varying(", db_type)


def _name(statement_part: object) -> str:
    return str(statement_part).strip('"')


# --- the plan -----------------------------------------------------------------------------


class _Planner:
    def __init__(self, connection: BaseDatabaseWrapper, plan: AdoptionPlan):
        self.connection = connection
        self.plan = plan
        self.qn = connection.ops.quote_name
        self.existing_names = _relation_names(connection)

    def problem(self, text: str) -> None:
        self.plan.problems.append(text)

    def sql(self, statement: object) -> None:
        self.plan.schema_sql.append(str(statement).rstrip(";"))

    def rows_where(self, table: str, condition: str, what: str, columns: str = "id") -> None:
        """Report the rows of `table` matching `condition` as a problem (they block the adoption)."""
        rows = _fetch(
            self.connection,
            f"SELECT {columns}, count(*) OVER () FROM {self.qn(table)} WHERE {condition} "
            f"ORDER BY 1 LIMIT {REPORT_ROWS}",
        )
        if rows:
            listed = "; ".join(", ".join(str(v) for v in row[:-1]) for row in rows)
            more = f" (first {REPORT_ROWS} shown)" if rows[0][-1] > len(rows) else ""
            self.problem(f"{table}: {rows[0][-1]} row(s) {what}: {listed}{more}")

    # -- columns
    def table(self, model: type[models.Model], editor) -> None:
        table = model._meta.db_table
        columns = _columns(self.connection, None, table)
        fields = [f for f in model._meta.local_fields if f.column]
        for model_field in fields:
            legacy = columns.get(model_field.column)
            if legacy is None:
                if model_field.null or model_field.has_db_default():
                    editor.collected_sql = []
                    editor.add_field(model, model_field)
                    for statement in editor.collected_sql:
                        self.sql(statement)
                else:
                    self.problem(f"{table}: column {model_field.column} is missing")
                continue
            self.column(model, model_field, legacy, editor)
        known = {f.column for f in fields}
        for name, legacy in columns.items():
            if name in known:
                continue
            if legacy.nullable or legacy.default is not None:
                self.plan.notes.append(f"{table}.{name} is not in the models; kept as it is.")
            else:
                self.problem(f"{table}: column {name} is not in the models and has no default (NOT NULL)")

    def column(self, model: type[models.Model], model_field: models.Field, legacy: _Column, editor) -> None:
        table, column = model._meta.db_table, model_field.column
        qt, qc = self.qn(table), self.qn(column)
        target = _normalised_type(model_field.db_type(self.connection))
        if legacy.type != target:
            base = legacy.type.split("(")[0]
            if isinstance(model_field, models.DecimalField) and base in NUMERIC_SOURCE_TYPES:
                digits, places = model_field.max_digits, model_field.decimal_places
                limit = Decimal(10) ** (digits - places)
                self.rows_where(
                    table,
                    f"{qc} IS NOT NULL AND ({qc} <> round({qc}, {places}) OR abs({qc}) >= {limit})",
                    f"with a {column} that does not fit {target} (changing it would round the value)",
                    columns=f"id, {qc}",
                )
                self.sql(f"ALTER TABLE {qt} ALTER COLUMN {qc} TYPE {target} USING {qc}::{target}")
            else:
                self.problem(f"{table}: column {column} is {legacy.type}, expected {target}")
        if not model_field.null and legacy.nullable:
            self.rows_where(table, f"{qc} IS NULL", f"with no {column} (the models require one)")
            self.sql(f"ALTER TABLE {qt} ALTER COLUMN {qc} SET NOT NULL")
        elif model_field.null and not legacy.nullable:
            self.sql(f"ALTER TABLE {qt} ALTER COLUMN {qc} DROP NOT NULL")
        if model_field.has_db_default():
            default_sql, params = editor.db_default_sql(model_field)
            default = default_sql % tuple(editor.quote_value(p) for p in params)
            # Compare with how PostgreSQL prints the same default, e.g. '{}'::jsonb.
            if not _same_default(legacy.default, default):
                self.sql(f"ALTER TABLE {qt} ALTER COLUMN {qc} SET DEFAULT {default}")

    # -- constraints and indexes
    def constraints(self, model: type[models.Model], editor) -> None:
        table = model._meta.db_table
        qt = self.qn(table)
        legacy = _constraints(self.connection, table)
        # CHECK constraints: the legacy ones are replaced by the models' (Django drops them by name).
        for constraint in legacy:
            if constraint.kind == "c":
                self.sql(f"ALTER TABLE {qt} DROP CONSTRAINT {self.qn(constraint.name)}")
                self.existing_names.discard(constraint.name)
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.CheckConstraint):
                check = constraint._get_check_sql(model, editor)
                self.rows_where(table, f"NOT ({check})", f"violating {constraint.name}")
                self.sql(constraint.create_sql(model, editor))
            elif constraint.name not in self.existing_names:
                self.check_unique(model, constraint, editor)
                self.sql(constraint.create_sql(model, editor))
        self.foreign_keys(model, legacy, editor)
        for model_field in model._meta.local_fields:
            if model_field.unique and not model_field.primary_key:
                has_unique = any(c.kind == "u" and c.columns == [model_field.column] for c in legacy)
                if not has_unique:
                    qc = self.qn(model_field.column)
                    self.rows_where(
                        table,
                        f"{qc} IN (SELECT {qc} FROM {qt} GROUP BY {qc} HAVING count(*) > 1)",
                        f"sharing a {model_field.column} (it must be unique)",
                        columns=f"{qc}, id",
                    )
                    name = self.qn(f"{table}_{model_field.column}_key")
                    self.sql(f"ALTER TABLE {qt} ADD CONSTRAINT {name} UNIQUE ({qc})")
            for statement in editor._field_indexes_sql(model, model_field):
                if _name(statement.parts["name"]) not in self.existing_names:
                    self.sql(statement)
        for index in model._meta.indexes:
            if index.name not in self.existing_names:
                self.sql(index.create_sql(model, editor))

    def check_unique(self, model: type[models.Model], constraint: models.UniqueConstraint, editor) -> None:
        table = model._meta.db_table
        query = Query(model, alias_cols=False)
        compiler = query.get_compiler(connection=self.connection)
        if constraint.expressions:
            parts = [compiler.compile(e.resolve_expression(query)) for e in constraint.expressions]
            key = ", ".join(sql % tuple(editor.quote_value(p) for p in params) for sql, params in parts)
        else:
            key = ", ".join(self.qn(model._meta.get_field(f).column) for f in constraint.fields)
        condition = constraint._get_condition_sql(model, editor) or "TRUE"
        not_null = " AND ".join(f"({part}) IS NOT NULL" for part in key.split(", "))
        self.rows_where(
            table,
            f"{condition} AND {not_null} AND ({key}) IN "
            f"(SELECT {key} FROM {self.qn(table)} WHERE {condition} GROUP BY {key} HAVING count(*) > 1)",
            f"breaking {constraint.name} (duplicates of {key})",
            columns=f"{key}, id",
        )

    def foreign_keys(self, model: type[models.Model], legacy: list[_Constraint], editor) -> None:
        table = model._meta.db_table
        qt = self.qn(table)
        expected_columns = set()
        for model_field in model._meta.local_fields:
            if not (model_field.remote_field and model_field.db_constraint):
                continue
            expected_columns.add(model_field.column)
            to_table = model_field.target_field.model._meta.db_table
            name = _name(editor._fk_constraint_name(model, model_field, "_fk_%(to_table)s_%(to_column)s"))
            found = [c for c in legacy if c.kind == "f" and c.columns == [model_field.column]]
            if not found:
                qc = self.qn(model_field.column)
                self.rows_where(
                    table,
                    f"{qc} IS NOT NULL AND {qc} NOT IN (SELECT id FROM {self.qn(to_table)})",
                    f"whose {model_field.column} points at no {to_table} row",
                    columns=f"id, {qc}",
                )
                self.sql(editor._create_fk_sql(model, model_field, "_fk_%(to_table)s_%(to_column)s"))
                continue
            if len(found) > 1 or found[0].references != to_table:
                self.problem(f"{table}: {model_field.column} should reference {to_table} only")
                continue
            # Keep the legacy constraint (its ON DELETE too), under Django's name and deferred as
            # Django's are: no re-validation of years of rows.
            if found[0].name != name:
                self.sql(f"ALTER TABLE {qt} RENAME CONSTRAINT {self.qn(found[0].name)} TO {self.qn(name)}")
            if not found[0].deferred:
                self.sql(f"ALTER TABLE {qt} ALTER CONSTRAINT {self.qn(name)} DEFERRABLE INITIALLY DEFERRED")
        for constraint in legacy:
            if constraint.kind == "f" and constraint.columns[0] not in expected_columns:
                # users.id -> auth.users.id: Django creates users with no auth.users row.
                self.sql(f"ALTER TABLE {qt} DROP CONSTRAINT {self.qn(constraint.name)}")
                self.plan.notes.append(
                    f"Dropped the foreign key {constraint.name} ({table}.{', '.join(constraint.columns)} "
                    f"-> {constraint.references}); no data changes."
                )


def _same_default(current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if current == wanted:
        return True
    # PostgreSQL prints typed literals, e.g. 'VIEWER'::text for 'VIEWER', and functions lower-case.
    return current.split("::")[0].lower() == wanted.strip("()").lower()


def _migration_state(connection: BaseDatabaseWrapper):
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    initial = sorted(
        key for key in graph.nodes if key[0] in ADOPTED_APPS and getattr(graph.nodes[key], "initial", False)
    )
    state = executor.loader.project_state(initial, at_end=True)
    return executor, initial, state


def build_plan(connection: BaseDatabaseWrapper) -> AdoptionPlan:
    """Inspect the database (read only) and plan its adoption; problems are collected, not raised."""
    plan = AdoptionPlan()
    recorder = MigrationRecorder(connection)
    if recorder.has_table() and any(app in ADOPTED_APPS for app, _ in recorder.applied_migrations()):
        plan.already_adopted = True
        return plan

    auth_columns = _columns(connection, "auth", "users")
    missing = [f"auth.users.{c}" for c in AUTH_USERS_COLUMNS if c not in auth_columns]
    if not auth_columns:
        missing = ["auth.users"]
    tables = set(connection.introspection.table_names())
    missing += [table for table in LEGACY_TABLES if table not in tables]
    if missing:
        plan.problems.append(
            f"Not a legacy FlowViz database: missing {', '.join(missing)}. "
            "Is DATABASE_URL pointing at the database the legacy server uses?"
        )
        return plan

    executor, initial, state = _migration_state(connection)
    planner = _Planner(connection, plan)
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        legacy_models = [state.apps.get_model(*LEGACY_TABLES[table]) for table in LEGACY_TABLES]
        for model in legacy_models:
            planner.table(model, editor)
        for model in legacy_models:
            planner.constraints(model, editor)

    # The migrations the initial ones depend on (contenttypes, auth) simply run.
    needed = executor.migration_plan(initial, clean_start=True)
    plan.dependency_migrations = [(m.app_label, m.name) for m, _ in needed if m.app_label not in ADOPTED_APPS]
    plan.recorded_migrations = [(m.app_label, m.name) for m, _ in needed if m.app_label in ADOPTED_APPS]
    done = set(plan.dependency_migrations) | set(plan.recorded_migrations)
    everything = executor.migration_plan(executor.loader.graph.leaf_nodes(), clean_start=True)
    plan.later_migrations = [
        (m.app_label, m.name) for m, _ in everything if (m.app_label, m.name) not in done
    ]

    user_model = state.apps.get_model(*LEGACY_TABLES["users"])
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        for m2m in user_model._meta.local_many_to_many:
            through = m2m.remote_field.through
            if through._meta.db_table not in tables:
                editor.create_model(through)
    plan.after_dependencies_sql += [sql.rstrip(";") for sql in editor.collected_sql]
    plan.after_dependencies_sql.append(
        "UPDATE users SET password = 'bcrypt$' || a.encrypted_password FROM auth.users a "
        f"WHERE a.id = users.id AND a.encrypted_password ~ '{BCRYPT_HASH_PATTERN}'"
    )
    plan.after_dependencies_sql += PASSWORD_BRIDGE_SQL
    _password_notes(connection, plan)
    return plan


def _password_notes(connection: BaseDatabaseWrapper, plan: AdoptionPlan) -> None:
    ((carried, other, without),) = _fetch(
        connection,
        f"""
        SELECT count(*) FILTER (WHERE a.encrypted_password ~ '{BCRYPT_HASH_PATTERN}'),
               count(*) FILTER (WHERE a.encrypted_password !~ '{BCRYPT_HASH_PATTERN}'),
               count(*) FILTER (WHERE a.encrypted_password IS NULL)
        FROM users u LEFT JOIN auth.users a ON a.id = u.id
        """,
    )
    plan.notes.append(f"{carried} user(s) keep their bcrypt password; {without} have none.")
    if other:
        plan.notes.append(
            f"{other} user(s) have an auth.users password that is not a bcrypt hash; "
            "they cannot log in until a password is set (manage.py changepassword)."
        )
    if other + without:
        # Accounts without a usable password log in by email alone in the legacy demo mode.
        mode = "on here: they can" if settings.PASSWORDLESS_LOGIN else "off here: they cannot"
        plan.notes.append(
            f"{other + without} adopted user(s) can log in without a password while "
            f"PASSWORDLESS_LOGIN is on ({mode} now). Give each a password with "
            "`manage.py changepassword <email>`, then turn PASSWORDLESS_LOGIN off."
        )


def adopt_legacy_database(
    *, using: str = DEFAULT_DB_ALIAS, dry_run: bool = False, lock_timeout: str = "10s"
) -> tuple[AdoptionPlan, str]:
    """Adopt the legacy database behind `using`; returns the plan carried out and the migrate output.

    Raises LegacyDatabaseRefused (nothing changed) when the database is not a legacy database as
    documented or some rows do not fit the models. With dry_run, only plans.
    """
    connection = connections[using]
    if dry_run:
        plan = build_plan(connection)
        if plan.problems:
            raise LegacyDatabaseRefused(plan.problems)
        return plan, ""
    output = io.StringIO()
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            # Waiting behind the legacy server's transactions must not stall it for long.
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
            tables = [t for t in LEGACY_TABLES if t in set(connection.introspection.table_names())]
            if tables and _columns(connection, "auth", "users"):
                # No legacy write may slip in between the checks and the changes.
                names = ", ".join([*(connection.ops.quote_name(t) for t in tables), "auth.users"])
                cursor.execute(f"LOCK TABLE {names} IN SHARE MODE")
        plan = build_plan(connection)
        if plan.problems:
            raise LegacyDatabaseRefused(plan.problems)
        if plan.already_adopted:
            return plan, ""
        with connection.cursor() as cursor:
            for sql in plan.schema_sql:
                cursor.execute(sql)
        for app_label, name in _last_per_app(plan.dependency_migrations):
            call_command("migrate", app_label, name, interactive=False, verbosity=1, stdout=output)
        with connection.cursor() as cursor:
            for sql in plan.after_dependencies_sql:
                cursor.execute(sql)
        recorder = MigrationRecorder(connection)
        for app_label, name in plan.recorded_migrations:
            recorder.record_applied(app_label, name)
        call_command("migrate", interactive=False, verbosity=1, stdout=output)
    return plan, output.getvalue()


def _last_per_app(keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last: dict[str, str] = {}
    for app_label, name in keys:
        last[app_label] = name
    return list(last.items())
