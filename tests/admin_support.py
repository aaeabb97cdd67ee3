"""Helpers for tests that use the admin as a logged-in user would."""

from __future__ import annotations

from accounts.models import User
from accounts.services import user_create

PASSWORD = "admin-test-pass-7391"


def user_with_role(role: str, *, email: str | None = None, superuser: bool = False) -> User:
    user = user_create(email=email or f"{role.lower()}-{superuser}@example.com", role=role, password=PASSWORD)
    if superuser:
        user.is_superuser = True
        user.save()
    return user


def formset_data(prefix: str, rows: list[dict], *, initial: int) -> dict[str, object]:
    """POST data of an inline formset: its management form and one block per row."""
    data: dict[str, object] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for field, value in row.items():
            data[f"{prefix}-{index}-{field}"] = value
    return data


def bilingual(field: str, hu: str, en: str) -> dict[str, str]:
    """The two inputs of a bilingual field."""
    return {f"{field}_hu": hu, f"{field}_en": en}
