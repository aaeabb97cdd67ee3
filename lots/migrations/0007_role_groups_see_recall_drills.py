# The role groups get the permissions of the new models (managers and auditors see the drills).

from django.db import migrations


def role_groups_sync(apps, schema_editor):
    from accounts.roles import role_groups_sync

    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("lots", "0006_recall_drills"),
    ]

    operations = [migrations.RunPython(role_groups_sync, migrations.RunPython.noop)]
