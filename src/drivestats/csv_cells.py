"""CSV cells that a spreadsheet shows as text, never runs as a formula.

Model names come from the data. A text cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is a formula to Excel, LibreOffice and Google Sheets, so,
as OWASP advises for CSV injection, such a cell is written with a leading single
quote, which those programs show as text and do not display. Numbers are written as
they are (a negative number is a number, not a formula).
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """The value to write in a CSV cell: text that would start a formula gets a quote first."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
