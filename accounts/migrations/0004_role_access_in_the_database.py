"""A user's admin access follows the role in the database itself (issue 14, item 17).

`is_staff` and the role groups are derived from `role` (and `is_superuser`): triggers keep them
in step on every INSERT and UPDATE of `users`, so no way of writing a role can leave them stale:
`User.save()`, `QuerySet.update(role=...)`, a `save(update_fields=[...])` without `is_staff`,
raw SQL, or the legacy server writing to the same table. The existing rows are brought in step.

The role lists are written out here (a migration is frozen history); they are those of
accounts.roles (STAFF_ROLES, ROLE_GROUPS) when this was written, and
tests/accounts/test_role_sync.py checks the database and the Python constants agree.
"""

from django.db import migrations

ROLE_GROUP = (
    "CASE {role} WHEN 'ADMIN' THEN 'Admin' WHEN 'MANAGER' THEN 'Manager' WHEN 'AUDITOR' THEN 'Auditor' END"
)
ROLE_GROUP_NAMES = "('Admin', 'Manager', 'Auditor')"

FORWARD = [
    """
CREATE FUNCTION users_staff_from_role() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.is_staff := NEW.role IN ('ADMIN', 'MANAGER', 'AUDITOR') OR COALESCE(NEW.is_superuser, false);
    RETURN NEW;
END;
$$
""",
    """
CREATE TRIGGER users_staff_from_role BEFORE INSERT OR UPDATE ON users
FOR EACH ROW EXECUTE FUNCTION users_staff_from_role()
""",
    f"""
CREATE FUNCTION users_role_groups_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Out of every role group but the role's; groups that are not role groups stay.
    DELETE FROM users_groups ug USING auth_group g
     WHERE ug.user_id = NEW.id AND g.id = ug.group_id AND g.name IN {ROLE_GROUP_NAMES}
       AND g.name IS DISTINCT FROM ({ROLE_GROUP.format(role="NEW.role")});
    INSERT INTO users_groups (user_id, group_id)
    SELECT NEW.id, g.id FROM auth_group g WHERE g.name = ({ROLE_GROUP.format(role="NEW.role")})
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$
""",
    """
CREATE TRIGGER users_role_groups_on_insert AFTER INSERT ON users
FOR EACH ROW EXECUTE FUNCTION users_role_groups_sync()
""",
    """
CREATE TRIGGER users_role_groups_on_role_change AFTER UPDATE OF role ON users
FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role) EXECUTE FUNCTION users_role_groups_sync()
""",
    # The rows already there (an adopted database, or a role changed behind User.save()).
    "UPDATE users SET is_staff = (role IN ('ADMIN', 'MANAGER', 'AUDITOR') OR is_superuser)",
    f"""
DELETE FROM users_groups ug USING auth_group g, users u
 WHERE u.id = ug.user_id AND g.id = ug.group_id AND g.name IN {ROLE_GROUP_NAMES}
   AND g.name IS DISTINCT FROM ({ROLE_GROUP.format(role="u.role")})
""",
    f"""
INSERT INTO users_groups (user_id, group_id)
SELECT u.id, g.id FROM users u JOIN auth_group g ON g.name = ({ROLE_GROUP.format(role="u.role")})
ON CONFLICT DO NOTHING
""",
]

BACKWARD = [
    "DROP TRIGGER users_role_groups_on_role_change ON users",
    "DROP TRIGGER users_role_groups_on_insert ON users",
    "DROP FUNCTION users_role_groups_sync()",
    "DROP TRIGGER users_staff_from_role ON users",
    "DROP FUNCTION users_staff_from_role()",
]


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_flow_permissions")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
