"""Request and response bodies of the accounts endpoints (the contract's User shape)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from ninja import Schema
from pydantic import Field, field_validator

from flowviz.core.formats import BLANK_CLASS
from flowviz.http.schemas import RequestBody

# Deliberately loose (one @, a dot in the domain, no spaces inside; blanks around are
# dropped): the account lookup is the real check. The OpenAPI schema shows the same pattern.
_B = BLANK_CLASS
EMAIL_PATTERN = rf"^[{_B}]*[^@{_B}]+@[^@{_B}]+\.[^@{_B}]+[{_B}]*$"
_EMAIL = re.compile(EMAIL_PATTERN)


class LoginIn(RequestBody):
    email: str = Field(max_length=254, json_schema_extra={"pattern": EMAIL_PATTERN})
    # Long enough for any passphrase; bounded so a megabyte "password" is a 422, not bcrypt work.
    password: str | None = Field(default=None, max_length=1024)

    @field_validator("email")
    @classmethod
    def _email_well_formed(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("value is not a valid email address")
        return value.strip()


class UserOut(Schema):
    id: uuid.UUID
    email: str
    full_name: str | None
    role: str
    created_at: datetime
    last_login: datetime | None


class LoginOut(Schema):
    user: UserOut
    token: str
