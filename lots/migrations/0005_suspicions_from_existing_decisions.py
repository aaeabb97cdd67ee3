# Existing databases (an adopted legacy one, or a FlowViz one from before issue 15) already hold
# HOLD and FAIL decisions: fill lot_suspicions from the decision log once. Later decisions
# made behind FlowViz's back are caught up with `manage.py rebuild_suspicions`.

from django.db import migrations


def suspicions_from_decisions(apps, schema_editor):
    from lots.holds import suspicion_rebuild

    suspicion_rebuild()
    # Statistics from the start: the planner's estimates for a never-analyzed table are guesses.
    schema_editor.execute("ANALYZE lot_suspicions")


class Migration(migrations.Migration):
    dependencies = [
        ("lots", "0004_lot_suspicions"),
        ("quality", "0004_qc_decisions_blocking_idx"),
    ]

    operations = [migrations.RunPython(suspicions_from_decisions, migrations.RunPython.noop)]
