"""Security Event Tokens to relying parties when a person's record is corrected (issue #16 item 1).

- Who is told: each enabled client that registered an ``identity_events_uri`` and holds a live consent from the
  person covering at least one changed claim; it is told only the names of the changed claims it consented to
  (never the values: it reads them at its next UserInfo call or login, under the consent).
- The token (RFC 8417): ``iss``, ``iat``, ``jti`` (fixed at queueing: a resend is the same SET), ``aud`` (the
  client), ``sub_id`` (RFC 9493 ``iss_sub``: the subject this client received, pairwise per sector), and
  ``events`` with one member, ``urn:civid:secevent:claims-changed`` → ``{"claims": [...]}``. Header ``typ:
  secevent+jwt``; signed by civid's signing keys with the client's ID-token algorithm, verifiable at /jwks.
- The push (RFC 8935): ``POST`` the compact JWT as ``application/secevent+jwt`` through ``civid.outbound``
  (public addresses only unless ``CIVID_OUTBOUND_ALLOW_PRIVATE``; no redirects). 2xx (RFC 8935 says 202) is
  delivered; 408, 429, 5xx or no answer is retried like a logout token (the back-channel logout settings);
  another answer (RFC 8935 §2.3: 400 with ``err``) is final.

Queued in the change's own transaction (subscribed to ``IdentityUpdated``), delivered by ``deliver_due`` from the
serve process's background loop, each attempt claimed by a compare-and-set on the attempt count (several
processes share the outbox) and audited (``identity_event.sent`` / ``identity_event.failed``).
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from civid import audit, outbound
from civid.events import EventBus, IdentityUpdated
from civid.settings import Settings
from idp.claims import RECORD_FIELD_CLAIMS
from idp.subjects import subject_for
from models import Client, Consent, Identity, IdentityEventDelivery, utcnow
from models.db import claim_due

if TYPE_CHECKING:
    from idp.keys import SigningKeys
    from idp.server_secrets import ServerSecrets

SET_TYP = "secevent+jwt"  # RFC 8417 §2.3
CLAIMS_CHANGED = "urn:civid:secevent:claims-changed"
RETRIED_STATUSES = frozenset({408, 429})


def subscribe(bus: EventBus) -> None:
    bus.subscribe(IdentityUpdated, enqueue)


def enqueue(db: Session, event: IdentityUpdated) -> None:
    """Queue one SET per client to tell (module docstring), in the publisher's transaction."""
    changed = {claim for field in event.fields for claim in RECORD_FIELD_CLAIMS.get(field, (field,))}
    now = utcnow()
    told: dict[str, set[str]] = {}
    rows = db.execute(
        select(Consent.client_id, Consent.claims)
        .join(Client, Client.client_id == Consent.client_id)
        .where(
            Consent.identity_id == event.identity_id,
            Consent.revoked_at.is_(None),
            Consent.expires_at > now,
            Client.identity_events_uri.is_not(None),
            Client.disabled_at.is_(None),
        )
    ).all()
    for client_id, consented in rows:
        told.setdefault(client_id, set()).update(changed & set(consented or ()))
    for client_id, claims in sorted(told.items()):
        if not claims:
            continue
        db.add(
            IdentityEventDelivery(
                jti=secrets.token_urlsafe(24),
                client_id=client_id,
                identity_id=event.identity_id,
                event_type=CLAIMS_CHANGED,
                claims=sorted(claims),
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


def security_event_token(
    settings: Settings,
    signing_keys: SigningKeys,
    idp_secrets: ServerSecrets,
    client: Client,
    uin: str,
    row: IdentityEventDelivery,
) -> str:
    issuer = settings.resolved_issuer
    claims = {
        "iss": issuer,
        "iat": int(time.time()),
        "jti": row.jti,
        "aud": client.client_id,
        "sub_id": {"format": "iss_sub", "iss": issuer, "sub": subject_for(idp_secrets, client, uin)},
        "events": {row.event_type: {"claims": list(row.claims)}},
    }
    alg = client.id_token_signed_response_alg or settings.signing_alg
    return signing_keys.sign(claims, alg=alg, typ=SET_TYP)


def push(settings: Settings, uri: str, token: str) -> tuple[bool, bool, str]:
    """POST one SET (RFC 8935 §2.2); return (delivered, retry, what happened)."""
    try:
        with outbound.client(settings.outbound_allow_private, settings.backchannel_logout_timeout_s) as http:
            answer = http.post(
                uri, content=token, headers={"Content-Type": "application/secevent+jwt", "Accept": "application/json"}
            )
    except outbound.DisallowedAddress as exc:
        return False, False, str(exc)[:200]
    except httpx.HTTPError as exc:
        return False, True, f"{type(exc).__name__}: {exc}"[:200]
    if answer.is_success:
        return True, False, str(answer.status_code)
    retry = answer.status_code >= 500 or answer.status_code in RETRIED_STATUSES
    return False, retry, str(answer.status_code)


class IdentityEventPusher:
    """Delivers due SETs; ``deliver_due`` is one pass (the serve process runs it in its background loop)."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], signing_keys: SigningKeys, idp_secrets: ServerSecrets
    ) -> None:
        self.settings, self.sessions, self.signing_keys, self.idp_secrets = (
            settings,
            sessions,
            signing_keys,
            idp_secrets,
        )

    def _claim(self, due_by: datetime) -> tuple[IdentityEventDelivery, Client, str] | None:
        lease = self.settings.backchannel_logout_timeout_s * 2 + 30
        with self.sessions.begin() as db:
            row = claim_due(db, IdentityEventDelivery, due_by, utcnow() + timedelta(seconds=lease))
            if row is None:
                return None
            client = db.scalars(select(Client).where(Client.client_id == row.client_id)).one()
            uin = db.scalars(select(Identity.uin).where(Identity.id == row.identity_id)).one()
            db.expunge_all()
            return row, client, uin

    def deliver_due(self) -> int:
        """Push every due SET once; return how many were delivered."""
        delivered = 0
        started = utcnow()
        while (claimed := self._claim(started)) is not None:
            row, client, uin = claimed
            if client.identity_events_uri is None or client.disabled_at is not None:
                ok, retry, what = False, False, "client no longer takes identity events"
            else:
                token = security_event_token(self.settings, self.signing_keys, self.idp_secrets, client, uin, row)
                ok, retry, what = push(self.settings, client.identity_events_uri, token)
            delivered += ok
            self._finish(row, uin, ok, retry, what)
        return delivered

    def _finish(self, claimed: IdentityEventDelivery, uin: str, ok: bool, retry: bool, what: str) -> None:
        settings = self.settings
        with self.sessions.begin() as db:
            row = db.get(IdentityEventDelivery, claimed.id)
            if row is None or row.attempts != claimed.attempts:  # a later claimant owns it now
                return
            final = ok or not retry or row.attempts >= settings.backchannel_logout_attempts
            audit.record(
                db,
                audit.SYSTEM,
                "identity_event.sent" if ok else "identity_event.failed",
                "identity",
                uin,
                client_id=row.client_id,
                event=row.event_type,
                claims=row.claims,
                attempt=row.attempts,
                outcome=what,
                will_retry=not final,
            )
            if final:
                db.delete(row)
            else:
                delay = settings.backchannel_logout_retry_delay_s * 2 ** (row.attempts - 1)
                row.next_attempt_at = utcnow() + timedelta(seconds=delay)
