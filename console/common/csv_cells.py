"""CSV exports a spreadsheet opens safely: a cell that starts like a formula is prefixed with ``'``."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell (CSV injection)


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula (names, details and package names
    come from people and uploads)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
