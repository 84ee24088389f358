"""Types for what clients send at the HTTP edge, shared by every route and request schema.

An integer from a path or query string is compared with an SQL ``INTEGER`` column. Unbounded, a number
past the column's range is not "not found" but a driver error (SQLite: ``OverflowError`` past 2**63;
PostgreSQL: ``NumericValueOutOfRange`` past 2**31), i.e. a 500. Bounding it in the type makes it a 422
problem before any query runs, and the OpenAPI document states the range.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

# PostgreSQL ``integer`` (int4), the type of every id column; SQLite's is wider, so this bound fits both.
INT32_MAX = 2**31 - 1

RowId = Annotated[int, Interval(ge=1, le=INT32_MAX)]
"""A row's id, or another 1-based number kept in an INTEGER column (a status list's number)."""

RowIndex = Annotated[int, Interval(ge=0, le=INT32_MAX)]
"""A 0-based position kept in an INTEGER column (a photo's index within its enrolment)."""

PageNumber = Annotated[int, Interval(ge=1, le=INT32_MAX)]
"""A 1-based page of a listing; its OFFSET (page × page size) stays within a 64-bit integer."""
