"""QC decisions are an audit log: PostgreSQL itself refuses UPDATE and DELETE of a row.

TRUNCATE is left alone on purpose (it is not a row change an application makes; test
databases are flushed with it). Other databases rely on the application layer.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION qc_decisions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'qc_decisions is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS qc_decisions_append_only ON qc_decisions;
CREATE TRIGGER qc_decisions_append_only
    BEFORE UPDATE OR DELETE ON qc_decisions
    FOR EACH ROW EXECUTE FUNCTION qc_decisions_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS qc_decisions_append_only ON qc_decisions;
DROP FUNCTION IF EXISTS qc_decisions_append_only();
"""


def _run_on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("quality", "0001_initial")]

    operations = [
        migrations.RunPython(_run_on_postgresql(CREATE), _run_on_postgresql(DROP)),
    ]
