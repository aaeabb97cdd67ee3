"""The role groups (Admin, Manager, Auditor) and their permissions.

Depends on the latest migration of every app whose permissions a group gets, so that the
permissions created here (Django would otherwise only create them after migrate, in
post_migrate) cover every model.
"""

from django.db import migrations


def create_role_groups(apps, schema_editor):
    from accounts.roles import role_groups_sync

    role_groups_sync(apps)


def delete_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Admin", "Manager", "Auditor"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sessions", "0001_initial"),
        ("django_celery_results", "0014_alter_taskresult_status"),
        ("flowviz", "0002_initial"),
        ("lots", "0001_initial"),
        ("quality", "0002_qc_decisions_append_only"),
    ]

    operations = [migrations.RunPython(create_role_groups, delete_role_groups)]
