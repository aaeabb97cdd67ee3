"""QC decisions are an audit log: PostgreSQL itself refuses UPDATE and DELETE of a row.

TRUNCATE is left alone on purpose (it is not a row change an application makes; test
databases are flushed with it).
"""

from django.db import migrations

CREATE = [
    """
CREATE OR REPLACE FUNCTION qc_decisions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'qc_decisions is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql
""",
    "DROP TRIGGER IF EXISTS qc_decisions_append_only ON qc_decisions",
    """
CREATE TRIGGER qc_decisions_append_only
    BEFORE UPDATE OR DELETE ON qc_decisions
    FOR EACH ROW EXECUTE FUNCTION qc_decisions_append_only()
""",
]

DROP = [
    "DROP TRIGGER IF EXISTS qc_decisions_append_only ON qc_decisions",
    "DROP FUNCTION IF EXISTS qc_decisions_append_only()",
]


class Migration(migrations.Migration):
    dependencies = [("quality", "0001_initial")]

    operations = [
        migrations.RunSQL(CREATE, DROP),
    ]
