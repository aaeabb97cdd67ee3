"""The rules of flow versions that PostgreSQL itself keeps (contract section 10).

- A PUBLISHED or ARCHIVED version is a record of how the line was designed to run: its graph,
  number, flow and publication time never change, and its status only moves PUBLISHED →
  ARCHIVED. A version that was ever published is never deleted (not by a cascade from its flow
  either). A trigger refuses the rest, as qc_decisions' trigger refuses edits of the audit log
  (quality/0002); the services refuse the same first, with a 409.
- Deleting a flow definition deletes its versions in the database too (ON DELETE CASCADE, as
  the contract's table says); Django's own foreign key has no ON DELETE action. Referential
  actions are never deferred, so the constraint stays DEFERRABLE INITIALLY DEFERRED like
  Django's.

A separate migration: Django creates 0004's foreign keys at the end of that migration.
TRUNCATE is left alone on purpose (test databases are flushed with it).
"""

from django.db import migrations

CASCADE_FK = "flow_versions_flow_definition_id_fk_cascade"

CREATE = [
    # Django's foreign key (its name ends in a hash) is replaced by one that cascades.
    """
DO $$
DECLARE
    django_fk text;
BEGIN
    SELECT con.conname INTO django_fk
      FROM pg_constraint con
      JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey)
     WHERE con.conrelid = 'flow_versions'::regclass
       AND con.contype = 'f'
       AND att.attname = 'flow_definition_id';
    IF django_fk IS NOT NULL THEN
        EXECUTE format('ALTER TABLE flow_versions DROP CONSTRAINT %I', django_fk);
    END IF;
END
$$
""",
    f"""
ALTER TABLE flow_versions ADD CONSTRAINT {CASCADE_FK}
    FOREIGN KEY (flow_definition_id) REFERENCES flow_definitions (id)
    ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
""",
    """
CREATE OR REPLACE FUNCTION flow_versions_frozen() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.published_at IS NOT NULL OR OLD.status = 'PUBLISHED' THEN
            RAISE EXCEPTION 'flow_versions: version % of flow % was published and cannot be deleted',
                OLD.version_num, OLD.flow_definition_id
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'DRAFT' AND (
        NEW.graph_schema IS DISTINCT FROM OLD.graph_schema
        OR NEW.version_num IS DISTINCT FROM OLD.version_num
        OR NEW.flow_definition_id IS DISTINCT FROM OLD.flow_definition_id
        OR NEW.published_at IS DISTINCT FROM OLD.published_at
        OR (NEW.status IS DISTINCT FROM OLD.status
            AND NOT (OLD.status = 'PUBLISHED' AND NEW.status = 'ARCHIVED'))
    ) THEN
        RAISE EXCEPTION 'flow_versions: version % of flow % is % and cannot be changed',
            OLD.version_num, OLD.flow_definition_id, OLD.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
""",
    "DROP TRIGGER IF EXISTS flow_versions_frozen ON flow_versions",
    """
CREATE TRIGGER flow_versions_frozen
    BEFORE UPDATE OR DELETE ON flow_versions
    FOR EACH ROW EXECUTE FUNCTION flow_versions_frozen()
""",
]

DROP = [
    "DROP TRIGGER IF EXISTS flow_versions_frozen ON flow_versions",
    "DROP FUNCTION IF EXISTS flow_versions_frozen()",
    f"ALTER TABLE flow_versions DROP CONSTRAINT IF EXISTS {CASCADE_FK}",
    """
ALTER TABLE flow_versions ADD CONSTRAINT flow_versions_flow_definition_id_fk
    FOREIGN KEY (flow_definition_id) REFERENCES flow_definitions (id) DEFERRABLE INITIALLY DEFERRED
""",
]


class Migration(migrations.Migration):
    dependencies = [("flowviz", "0004_flows")]

    operations = [migrations.RunSQL(CREATE, DROP)]
