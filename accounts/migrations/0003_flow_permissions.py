"""The Manager group gets the rights on Flow Editor designs (flow definitions and versions).

The Admin and Auditor groups get the new models' permissions by the same sync (everything;
view everything). Idempotent: role_groups_sync sets each group's exact permissions.
"""

from django.db import migrations


def sync_role_groups(apps, schema_editor):
    from accounts.roles import role_groups_sync

    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("flowviz", "0005_flow_versions_rules"),
    ]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
