"""Bodies the API answers errors with, shared by every router."""

from __future__ import annotations

from ninja import Schema


class DetailOut(Schema):
    """The body of every non-validation error."""

    detail: str


# What every endpoint behind a bearer token and a throttle may answer besides its own results.
PROTECTED_ERRORS = {401: DetailOut, 403: DetailOut, 429: DetailOut}
