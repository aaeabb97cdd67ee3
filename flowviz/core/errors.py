"""Errors a service raises for the API to turn into a fixed status and body.

Services stay HTTP-free: they raise these; flowviz/http/errors.py maps them once (409 / 422 / 400).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError


class Conflict(Exception):
    """The request is well formed but clashes with the stored data (409 `{"detail": message}`)."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class FieldInvalid(Exception):
    """A field names something that does not exist (422 in the validation error format).

    `loc` is the field's path inside the request body, e.g. ("phase_id",) or ("parents", 0, "lot_code").
    """

    def __init__(self, loc: Sequence[str | int], message: str, *, error_type: str = "value_error"):
        self.loc = tuple(loc)
        self.message = message
        self.error_type = error_type
        super().__init__(message)

    def as_error(self, source: tuple[str, ...] = ("body", "payload")) -> dict:
        return {"type": self.error_type, "loc": [*source, *self.loc], "msg": self.message}


class Refused(Exception):
    """The request is well formed and names existing data, but what it asks breaks a rule of
    that data (400 `{"detail": message}`), e.g. publishing a flow that has no START node."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


# The database constraints whose violation is a conflict the contract documents (409), by
# name, with the message the client gets: the one table. The services check these rules first
# (under their locks) and raise Conflict themselves; a constraint answers for the races they
# lose and for rows written behind their back (`lot_create` translates its unique lot code
# through here, flowviz/http/errors.py every IntegrityError that reaches the API). Any other
# violated constraint is a bug or a schema the code does not know: a 500.
CONFLICT_CONSTRAINTS: dict[str, str] = {
    # lots.lot_code UNIQUE: PostgreSQL's name, in Django's tables and the legacy script's alike.
    "lots_lot_code_key": "Lot code already exists",
    "lot_genealogy_pair_uniq": "The lots are already linked",
    "lot_genealogy_no_self_link": "A lot cannot be its own parent: that would create a cycle",
    "flow_versions_one_draft": "The flow already has a draft",
    "flow_versions_flow_number_uniq": "Another version of the flow took this number; try again",
}


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL reported for `exc` (psycopg's diagnostics)."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def constraint_conflict(exc: IntegrityError) -> Conflict | None:
    """The Conflict a violated contract constraint means; None for any other constraint."""
    message = CONFLICT_CONSTRAINTS.get(violated_constraint(exc) or "")
    return None if message is None else Conflict(message)
