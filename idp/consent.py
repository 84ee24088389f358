"""Citizens' consent to release claims to a relying party: granted on the consent page, remembered per
client until it expires, revocable by the citizen. Every release of personal data checks it.

Consent accumulates within a purpose: each approval is its own row (its claims, purpose and expiry), and a
later approval adds to the earlier ones instead of replacing them, so a bank that first asked for names and
later for the birthdate holds both. A request is covered by the live rows given for exactly its stated purpose
(OIDC4IDA ``purpose``; no stated purpose is a purpose of its own, covered only by rows given without one), each
within its own expiry. A grant remembers the purpose it was authorised for (``Grant.purpose``), and what its
tokens release is checked against the live rows for that purpose only (``consent_for_grant``); each release
names the rows that cover what it released (``ClientConsent.covering``). Withdrawing on /account ends all of
the client's consent at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from idp.grant_lifecycle import revoke_grants
from models import Client, Consent, Grant, Identity, utcnow


@dataclass(frozen=True)
class ClientConsent:
    """Everything the citizen has consented to for one client: the union of its live rows."""

    rows: tuple[Consent, ...]  # live (not withdrawn, not expired), newest first; never empty

    @property
    def claims(self) -> frozenset[str]:
        return frozenset(name for row in self.rows for name in row.claims)

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(scope for row in self.rows for scope in row.scopes)

    def for_purpose(self, purpose: str | None) -> ClientConsent | None:
        """The rows given for exactly this purpose (None: the rows given without a stated purpose); None if
        there are none. A consent shown to the citizen for one purpose never stretches to another, nor to a
        request that states none (OIDC4IDA -13 §8: the purpose is part of what they agreed to)."""
        rows = tuple(row for row in self.rows if row.purpose == purpose)
        return ClientConsent(rows) if rows else None

    def covering(self, claim_names: Iterable[str]) -> list[str]:
        """The uids of the rows holding at least one of ``claim_names``, newest first: what a release record
        names, so the citizen and an auditor see exactly which consent let each claim go."""
        wanted = set(claim_names)
        return [row.uid for row in self.rows if wanted & set(row.claims)]


# Built once: every token, UserInfo answer and attestation reads it.
_LIVE_ROWS = (
    select(Consent)
    .where(
        Consent.identity_id == bindparam("identity_id"),
        Consent.client_id == bindparam("client_id"),
        Consent.revoked_at.is_(None),
    )
    .order_by(Consent.id.desc())
)


def _live_rows(db: Session, identity_id: int, client_id: str) -> list[Consent]:
    now = utcnow()
    rows = db.scalars(_LIVE_ROWS, {"identity_id": identity_id, "client_id": client_id})
    return [row for row in rows if audit.as_utc(row.expires_at) > now]


def client_consent(db: Session, identity_id: int, client_id: str) -> ClientConsent | None:
    """The citizen's live consent for this client, all approvals together (None when there is none)."""
    rows = _live_rows(db, identity_id, client_id)
    return ClientConsent(tuple(rows)) if rows else None


def consent_for_grant(db: Session, grant: Grant) -> ClientConsent | None:
    """The grant's own live consent: the client's live rows for the purpose the grant was authorised for
    (None when none is left). A grant from before purposes were recorded has ``purpose`` NULL unless its
    client's consents named exactly one purpose (migration 0016): it counts as stating none."""
    given = client_consent(db, grant.identity_id, grant.client_id)
    return given.for_purpose(grant.purpose) if given is not None else None


def covers(
    consent: ClientConsent | None, scopes: Iterable[str], claim_names: Iterable[str], purpose: str | None = None
) -> bool:
    """Whether ``consent`` already includes every scope and claim asked for, within the rows given for the
    request's ``purpose`` (None: the rows given without one), else the citizen must be asked."""
    consent = consent.for_purpose(purpose) if consent is not None else None
    if consent is None:
        return False
    return set(scopes) <= consent.scopes and set(claim_names) <= consent.claims


def grant_consent(
    db: Session,
    identity: Identity,
    client: Client,
    scopes: Iterable[str],
    claim_names: Iterable[str],
    purpose: str | None,
    actor: Actor,
    ttl_days: int,
) -> Consent:
    """Record the citizen's consent, added to what they consented to earlier for this client, and audit it."""
    now = utcnow()
    row = Consent(
        uid=secrets.token_urlsafe(12),
        identity_id=identity.id,
        client_id=client.client_id,
        scopes=sorted(set(scopes)),
        claims=sorted(set(claim_names)),
        purpose=purpose,
        granted_at=now,
        expires_at=now + timedelta(days=ttl_days),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor,
        "consent.granted",
        "identity",
        identity.uin,
        client_id=client.client_id,
        client_name=client.name,
        scopes=row.scopes,
        claims=row.claims,
        consent=row.uid,
        expires_at=row.expires_at.isoformat(),
    )
    return row


def revoke_consent(db: Session, consent: Consent, actor: Actor) -> int:
    """Withdraw the citizen's consent for this consent's client — this row and every other live one, since
    consents accumulate — and every grant (and so every token) the client holds for this person; return
    how many grants were revoked."""
    now = utcnow()
    ended = [
        consent,
        *(
            row
            for row in db.scalars(
                select(Consent).where(
                    Consent.identity_id == consent.identity_id,
                    Consent.client_id == consent.client_id,
                    Consent.revoked_at.is_(None),
                    Consent.id != consent.id,
                )
            )
        ),
    ]
    for row in ended:
        row.revoked_at = now
    revoked = revoke_grants(
        db,
        Grant.identity_id == consent.identity_id,
        Grant.client_id == consent.client_id,
        reason="consent_revoked",
        actor=actor,
    )
    identity = db.get(Identity, consent.identity_id)
    audit.record(
        db,
        actor,
        "consent.revoked",
        "identity",
        identity.uin if identity else "?",
        client_id=consent.client_id,
        consent=consent.uid,
        consents=[row.uid for row in ended],
        grants_revoked=revoked,
    )
    return revoked


def consents_of(db: Session, identity_id: int) -> list[Consent]:
    """Every consent the citizen has given, newest first (for the account page)."""
    return list(db.scalars(select(Consent).where(Consent.identity_id == identity_id).order_by(Consent.id.desc())))
