"""CSV files that people open in a spreadsheet: one writer, one formula-injection guard.

A spreadsheet evaluates a cell that starts with `=`, `+`, `-` or `@` as a formula (and
some treat a leading tab or carriage return the same way): a lot code `=HYPERLINK(...)`
would run in an auditor's Excel. Every cell of every CSV FlowViz writes goes through
`spreadsheet_cell`, which prefixes such a cell with `'` (OWASP's CSV injection advice): the
spreadsheet then shows the text as it is. Readers that need the original value strip one
leading `'` from a cell whose second character is one of those.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Byte order mark: Excel reads a CSV without one in the machine's legacy code page, which
# garbles every non-ASCII character (Hungarian lot codes and names); LibreOffice, Google
# Sheets and Python's "utf-8-sig" read it and drop it.
UTF8_BOM = "\ufeff"


def spreadsheet_cell(value: object) -> str:
    """The text of one CSV cell, neutralized when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_line(row: Iterable[object]) -> str:
    """One CSV line (RFC 4180 quoting, CRLF), every cell neutralized."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([spreadsheet_cell(value) for value in row])
    return buffer.getvalue()


def csv_lines(rows: Iterable[Iterable[object]], *, bom: bool = False) -> Iterator[str]:
    """The CSV text of `rows` line by line (for a streamed download), optionally after a BOM."""
    if bom:
        yield UTF8_BOM
    for row in rows:
        yield csv_line(row)


def csv_text(rows: Iterable[Iterable[object]], *, bom: bool = False) -> str:
    """The whole CSV text of `rows` (for a file kept in the database)."""
    return "".join(csv_lines(rows, bom=bom))


def file_name_part(text: str) -> str:
    """`text` (a lot code) as part of a download's file name: letters, digits, - _ . only."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
