"""Types for what clients send at the HTTP edge, shared by every route and request schema.

Dates are strict: pydantic's lax mode reads ``0`` as 1970-01-01, ``1600000000`` as a Unix time and a midnight
datetime as its date, so a client's bug would become a person's date of birth. A date is ``YYYY-MM-DD`` text
(ISO 8601 calendar date) and an instant ISO 8601 text, nothing else.

An integer from a path or query string is compared with an SQL ``INTEGER`` column. Unbounded, a number
past the column's range is not "not found" but a driver error (SQLite: ``OverflowError`` past 2**63;
PostgreSQL: ``NumericValueOutOfRange`` past 2**31), i.e. a 500. Bounding it in the type makes it a 422
problem before any query runs, and the OpenAPI document states the range.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from annotated_types import Interval
from fastapi import Path
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from civid.limits import MAX_DURATION_S
from civid.uin import UIN_LENGTH

# PostgreSQL ``integer`` (int4), the type of every id column; SQLite's is wider, so this bound fits both.
INT32_MAX = 2**31 - 1

RowId = Annotated[int, Interval(ge=1, le=INT32_MAX)]
"""A row's id, or another 1-based number kept in an INTEGER column (a status list's number)."""

RowIndex = Annotated[int, Interval(ge=0, le=INT32_MAX)]
"""A 0-based position kept in an INTEGER column (a photo's index within its enrolment)."""

PageNumber = Annotated[int, Interval(ge=1, le=INT32_MAX)]
"""A 1-based page of a listing; its OFFSET (page × page size) stays within a 64-bit integer."""

DurationSeconds = Annotated[int, Interval(ge=0, le=MAX_DURATION_S)]
"""A length of time in whole seconds in a request body. Unbounded, a huge one overflows ``timedelta`` (an
``OverflowError``, i.e. a 500) or becomes a date past year 9999; bounded, it is a 422 problem."""


_CALENDAR_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME_START = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|[Tt ])")


def _calendar_date(value: object) -> object:
    """Let through ``YYYY-MM-DD`` text (and a ``date`` built by Python code); refuse numbers and datetimes."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _CALENDAR_DATE.match(value):
        return value
    # "date_type" is what pydantic's strict mode reports, so callers mapping error types need nothing new.
    raise PydanticCustomError("date_type", "Input should be a date written YYYY-MM-DD, e.g. 1990-04-21")


def _iso_instant(value: object) -> object:
    """Let through ISO 8601 text (a date, or a date and time) and Python datetimes; refuse Unix times."""
    if isinstance(value, datetime) or (isinstance(value, str) and _DATE_TIME_START.match(value)):
        return value
    raise PydanticCustomError(
        "datetime_type", "Input should be an ISO 8601 date and time, e.g. 2026-03-14T09:30:00-06:00"
    )


IsoDate = Annotated[date, BeforeValidator(_calendar_date)]
"""A calendar date in a request: ``YYYY-MM-DD`` only."""

IsoDateTime = Annotated[datetime, BeforeValidator(_iso_instant)]
"""An instant in a request: ISO 8601 text only (a bare date means its midnight)."""

# The canonical form; ``normalise_uin`` also takes spaces and hyphens between the digits, and checks the Verhoeff
# digit itself so that a mistyped UIN gets its own message (not the pattern's) — hence documented, not enforced.
UIN_PATTERN = rf"^[1-9][0-9]{{{UIN_LENGTH - 1}}}$"
UinPath = Annotated[
    str,
    Path(
        description=f"A UIN: {UIN_LENGTH} digits, the last a Verhoeff check digit",
        examples=["4058075267"],
        json_schema_extra={"pattern": UIN_PATTERN},
    ),
]
"""A UIN in a route's path (``/v1/identities/{uin}``)."""
