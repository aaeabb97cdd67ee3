"""Bodies the API answers errors with, shared by every router (flowviz/http/errors.py writes them)."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field


class RequestBody(BaseModel):
    """The base of every request body: a plain Pydantic model refusing unknown keys.

    Not ninja's `Schema`: its wrap validator, there to read response fields off ORM objects
    (which a request body never is), validates a model that forbids extra keys twice, and each
    nested model twice per pass (a lot's parents four times, their validators included).
    `from_attributes` as ninja's, so a body that is not an object is refused with the same words."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class DetailOut(Schema):
    """The body of every non-validation error: the same message under both keys."""

    detail: str
    error: str = Field(description="The same message as `detail` (the legacy server's key).")


class ValidationErrorOut(Schema):
    """The body of a 422: Pydantic's errors, and one line naming the first offending field."""

    detail: list[dict[str, Any]] = Field(description='[{"type", "loc", "msg", ...}, ...]')
    error: str = Field(description="e.g. `lot_code: Field required` or `parents[0].lot_code: ...`")


# What every endpoint behind a token and a throttle may answer besides its own results.
PROTECTED_ERRORS = {401: DetailOut, 403: DetailOut, 429: DetailOut}
