"""idp's own parts of what civid holds about a resident (``idp.resident_data``): their logins and the officers'
verifications of them, their consents, passkeys and login sessions.

Each login attempt and each officer verification is known durably only to the audit trail (``login_attempts``
and ``login_sessions`` are pruned by housekeeping), so those are read from it by the event's ``person`` (the
UIN); consents, passkeys and sessions from their rows. The portal a login was for is found from the login's
interaction (its authorization request) or, once that is pruned, from the grants of its session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from idp.resident_data import HistoryEntry
from models import AuditEvent, AuthorizationRequest, Client, Consent, Grant, Identity, LoginSession, Passkey

# The audit actions read into the history, and what kind of entry each makes.
AUDITED = {"login.succeeded": "login", "login.failed": "login", "biometric.verify": "verification"}


def iso(moment: Any) -> str | None:
    """A stored time as ISO 8601 UTC (None stays None)."""
    return audit.as_utc(moment).isoformat() if moment is not None else None


def client_names(db: Session, client_ids: Iterable[str]) -> dict[str, str]:
    """Registered clients' display names by client id (an unknown id is left out)."""
    wanted = set(client_ids)
    if not wanted:
        return {}
    rows = db.execute(select(Client.client_id, Client.name).where(Client.client_id.in_(wanted))).all()
    return {client_id: name for client_id, name in rows}


def _login_clients(db: Session, events: list[AuditEvent]) -> dict[int, str]:
    """The client id each successful login was for (event id -> client id), where it can still be found."""
    interactions = {e.detail.get("interaction") for e in events} - {None}
    by_interaction = dict(
        db.execute(
            select(AuthorizationRequest.uid, AuthorizationRequest.client_id).where(
                AuthorizationRequest.uid.in_(interactions)
            )
        ).all()
    )
    sids = {e.detail.get("sid") for e in events} - {None}
    by_sid = dict(
        db.execute(
            select(LoginSession.sid, Grant.client_id)
            .join(Grant, Grant.login_session_id == LoginSession.id)
            .where(LoginSession.sid.in_(sids))
            .order_by(Grant.id)
        ).all()
    )
    found: dict[int, str] = {}
    for event in events:
        interaction, sid = event.detail.get("interaction"), event.detail.get("sid")
        client_id = (by_interaction.get(interaction) if interaction else None) or (by_sid.get(sid) if sid else None)
        if client_id:
            found[event.id] = client_id
    return found


def _entry(event: AuditEvent, client: str | None) -> HistoryEntry:
    detail = event.detail or {}
    if event.action == "biometric.verify":
        modalities = detail.get("modalities") or []
        return HistoryEntry(
            event.occurred_at,
            "verification",
            event.actor_role,  # the officer's role, never their name
            "+".join(modalities) or None,
            "matched" if detail.get("match") else "not_matched",
            by_role=True,
        )
    outcome = "succeeded" if event.action == "login.succeeded" else "failed"
    return HistoryEntry(event.occurred_at, "login", client, detail.get("method"), outcome)


class Authentication:
    """Logins, officer verifications and consents (history); consents, passkeys and sessions (export)."""

    name = "idp.authentication"

    def history(self, db: Session, identity: Identity, limit: int) -> list[HistoryEntry]:
        """Login attempts and verifications from the audit trail; consents given and withdrawn from their rows."""
        events = list(
            db.scalars(
                select(AuditEvent)
                .where(AuditEvent.person == identity.uin, AuditEvent.action.in_(tuple(AUDITED)))
                .order_by(AuditEvent.id.desc())
                .limit(limit)
            )
        )
        logins = _login_clients(db, [e for e in events if e.action == "login.succeeded"])
        consents = self._consents(db, identity, limit)
        names = client_names(db, [*logins.values(), *(row.client_id for row in consents)])
        entries = [_entry(e, names.get(logins.get(e.id, ""), logins.get(e.id))) for e in events]
        for row in consents:
            client = names.get(row.client_id, row.client_id)
            entries.append(HistoryEntry(row.granted_at, "consent_granted", client, None, "granted"))
            if row.revoked_at is not None:
                entries.append(HistoryEntry(row.revoked_at, "consent_revoked", client, None, "revoked"))
        return entries

    def _consents(self, db: Session, identity: Identity, limit: int) -> list[Consent]:
        return list(
            db.scalars(
                select(Consent).where(Consent.identity_id == identity.id).order_by(Consent.id.desc()).limit(limit)
            )
        )

    def export(self, db: Session, identity: Identity) -> Mapping[str, Any]:
        """Consents (which portal, what, when), passkeys and login sessions (no keys, no token hashes)."""
        consents = self._consents(db, identity, 10_000)
        names = client_names(db, (row.client_id for row in consents))
        passkeys = db.scalars(select(Passkey).where(Passkey.identity_id == identity.id).order_by(Passkey.id))
        login_sessions = db.scalars(
            select(LoginSession).where(LoginSession.identity_id == identity.id).order_by(LoginSession.id.desc())
        )
        return {
            "consents": [
                {
                    "service": names.get(row.client_id, row.client_id),
                    "scopes": row.scopes,
                    "claims": row.claims,
                    "purpose": row.purpose,
                    "granted_at": iso(row.granted_at),
                    "expires_at": iso(row.expires_at),
                    "revoked_at": iso(row.revoked_at),
                }
                for row in consents
            ],
            "passkeys": [
                {
                    "label": row.label,
                    "created_at": iso(row.created_at),
                    "last_used_at": iso(row.last_used_at),
                    "revoked_at": iso(row.revoked_at),
                }
                for row in passkeys
            ],
            "login_sessions": [
                {
                    "signed_in_at": iso(row.auth_time),
                    "methods": row.amr,
                    "assurance": row.acr,
                    "expires_at": iso(row.expires_at),
                    "ended_at": iso(row.ended_at),
                }
                for row in login_sessions
            ],
        }
