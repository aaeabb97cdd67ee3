"""How values are written in the HTTP contract and in the admin, in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

# Every character Python's str.isspace(), str.split() and str.strip() take for a blank, as a
# regular-expression class body. OpenAPI patterns use it instead of `\s`, whose meaning differs
# between regex engines (Python's includes U+001C..U+001F, JavaScript's does not): written out,
# a pattern means the same to the server, to the schema's readers and to request generators.
BLANK_CLASS = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)


def decimal_text(value: Decimal | None, scale: Decimal) -> str | None:
    """A decimal as the contract sends it: a string with the column's scale ("540.00")."""
    return None if value is None else format(Decimal(value).quantize(scale), "f")


def timestamp_text(value: datetime) -> str:
    """ISO 8601 in UTC ending in Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def bilingual_text(value: object, language: str = "en") -> str:
    """The `language` text of a `{"hu": ..., "en": ...}` field, falling back to any text."""
    if isinstance(value, dict):
        text = value.get(language) or next((v for v in value.values() if v), "")
        return str(text)
    return "" if value is None else str(value)
