"""Errors a service raises for the API to turn into a fixed status and body.

Services stay HTTP-free: they raise these; flowviz/http/errors.py maps them once (409 / 422 / 400).
"""

from __future__ import annotations

from collections.abc import Sequence


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
