"""Who did something: the identity every audit event and every lifecycle change is attributed to.

Kept apart from ``civid.audit`` (which needs the database) so that the command line can name its own
actor without loading SQLAlchemy and the models just to print ``--help``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who did it: an API key's id, name and role, or the system itself."""

    id: int | None
    name: str
    role: str
