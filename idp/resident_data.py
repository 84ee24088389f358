"""What civid holds about one resident, assembled from the features that hold it: the interface each feature
implements (``ResidentDataSource``) and the registry the account pages consult (authentication history,
``idp.account_history``; the "My data" download, ``idp.my_data``).

A feature contributes its own part as kyc contributes its claims (``idp.claims_extensions``): idp defines the
protocol and never imports the feature; the feature registers its source when it is installed on the app
(``kyc.app.install`` registers kyc's releases, attestations and documents). idp registers its own sources in
``install`` (``idp.resident_sources``: logins, consents, passkeys, sessions, and the enrolment records it reads
through ``models``). The registry lives on ``app.state``, never in a module global, so two apps in one process
(tests) each list their own sources.

A source answers with structured rows wherever a feature keeps them; the audit trail is read only for what
nothing else keeps (each login attempt, each officer verification), by its ``person`` column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session

from civid import audit
from models import Identity

HISTORY_LIMIT = 200  # the page shows this many newest entries; the export up to EXPORT_LIMIT
EXPORT_LIMIT = 5000


@dataclass(frozen=True)
class HistoryEntry:
    """One event that concerned the resident: when, what, with whom, how, and how it ended (codes, not words:
    the page translates them, the export keeps them)."""

    occurred_at: datetime
    kind: str  # login | verification | release | attestation | consent_granted | consent_revoked | status
    party: str | None  # the portal's or bank's name; "officer" for a desk (never an officer's name)
    method: str | None  # face | passkey | face+finger | id_token | userinfo | ...
    outcome: str  # succeeded | failed | matched | not_matched | released | granted | revoked | suspended ...
    by_role: bool = False  # ``party`` is a staff role (translated on the page), not a portal's own name

    def as_json(self) -> dict[str, Any]:
        """The entry as the JSON export and the CSV write it."""
        return {
            "when": audit.as_utc(self.occurred_at).isoformat(),
            "what": self.kind,
            "who": self.party,
            "method": self.method,
            "outcome": self.outcome,
        }


class ResidentDataSource(Protocol):
    """A feature's part of what civid holds about a resident."""

    name: str  # unique per app, e.g. "idp.logins", "kyc"

    def history(self, db: Session, identity: Identity, limit: int) -> Iterable[HistoryEntry]:
        """Its events about ``identity`` (at most ``limit``, newest first or in any order: the registry sorts)."""

    def export(self, db: Session, identity: Identity) -> Mapping[str, Any]:
        """Its sections of the data download (section name -> JSON-able value); never template or secret bytes."""


class ResidentData:
    """The sources registered with one application, in registration order."""

    def __init__(self, sources: tuple[ResidentDataSource, ...] = ()) -> None:
        self._sources: list[ResidentDataSource] = []
        for source in sources:
            self.register(source)

    def register(self, source: ResidentDataSource) -> None:
        """Add ``source``; two sources cannot share a name."""
        if any(s.name == source.name for s in self._sources):
            raise ValueError(f"a resident data source {source.name!r} is already registered")
        self._sources.append(source)

    def __iter__(self) -> Iterator[ResidentDataSource]:
        return iter(tuple(self._sources))

    def history(self, db: Session, identity: Identity, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
        """Every source's events about ``identity``, newest first, the ``limit`` newest."""
        entries = [entry for source in self._sources for entry in source.history(db, identity, limit)]
        entries.sort(key=lambda entry: audit.as_utc(entry.occurred_at), reverse=True)
        return entries[:limit]

    def export(self, db: Session, identity: Identity) -> dict[str, Any]:
        """Every source's sections, then the authentication history; a section two sources claim is a bug."""
        sections: dict[str, Any] = {}
        for source in self._sources:
            for name, value in source.export(db, identity).items():
                if name in sections:
                    raise ValueError(f"two resident data sources export the section {name!r}")
                sections[name] = value
        sections["authentication_history"] = [entry.as_json() for entry in self.history(db, identity, EXPORT_LIMIT)]
        return sections


def install(app: FastAPI, sources: tuple[ResidentDataSource, ...] = ()) -> ResidentData:
    """Give ``app`` its registry with ``sources`` (idp's own); features installed later add theirs with ``of``."""
    registry = ResidentData(sources)
    app.state.resident_data = registry
    return registry


def of(app: FastAPI) -> ResidentData:
    """The application's registry (``idp.app.install`` must have run first)."""
    registry: ResidentData | None = getattr(app.state, "resident_data", None)
    if registry is None:
        raise RuntimeError("install idp (idp.app.install) before registering resident data sources")
    return registry


def from_request(request: Request) -> ResidentData:
    """The registry of the application serving ``request`` (also a FastAPI dependency)."""
    return of(request.app)
