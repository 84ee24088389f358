"""OpenID4VCI's pre-authorized code grant (``urn:ietf:params:oauth:grant-type:pre-authorized_code``, §6.1) at civid's
token endpoint, registered as an ``idp.grant_extensions.ExtensionGrant``.

The code comes from an officer's credential offer (``credentials.wallet_offers``) and the citizen types the
transaction code the officer handed over, so a photographed QR alone is worthless. The wallet may redeem it
anonymously (no client authentication: ``pre-authorized_grant_anonymous_access_supported``). Rules (§6.3):
- unknown, expired, already redeemed or locked code, or wrong ``tx_code``: ``invalid_grant``;
- no ``tx_code``: ``invalid_request``;
- each ``tx_code`` is counted before it is compared, in a transaction of its own (kept though the request fails),
  and a right one gives its attempt back: however many guesses arrive at once, at most
  ``wallet_tx_code_max_attempts`` are ever compared; at the limit the offer is locked for good (the officer makes
  a new one);
- redemption is a conditional update, so of two concurrent redemptions exactly one gets a token.
The access token is opaque (stored hashed on the offer), lives ``wallet_access_token_ttl_s`` and is accepted only
at the credential endpoint, for that offer's identity, for one credential: it is no OpenID access token, so
UserInfo, introspection and every other API refuse it.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civid import audit
from civid.actor import Actor
from civid.settings import Settings
from idp.errors import InvalidGrant, InvalidRequest
from idp.grant_extensions import ExtensionGrant
from idp.server_secrets import sha256_hex
from models import Client, Identity, WalletOffer, utcnow
from models.db import affected_rows

if TYPE_CHECKING:
    from idp.runtime import IdpServices

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
WALLET = Actor(None, "wallet", "citizen")  # an anonymous wallet: who it is, the offer's identity says


def tx_code_hash(code: str, tx_code: str) -> str:
    """The stored form of a transaction code: hashed with its (256-bit) pre-authorized code, so the six digits
    cannot be recovered from the database without the code, itself stored only as a hash."""
    return sha256_hex(f"{code}:{tx_code}")


def _reserve_attempt(db: Session, offer_id: int, max_attempts: int) -> bool:
    """Count this guess before it is compared, committed at once: of any number of parallel guesses at most the
    attempts left are compared at all (checking the lock, then comparing, then counting would let every parallel
    guess through). A right code gives its attempt back when it redeems."""
    reserved = affected_rows(
        db,
        update(WalletOffer)
        .where(
            WalletOffer.id == offer_id,
            WalletOffer.failed_attempts < max_attempts,
            WalletOffer.locked_at.is_(None),
            WalletOffer.redeemed_at.is_(None),
        )
        .values(failed_attempts=WalletOffer.failed_attempts + 1),
    )
    db.commit()
    return reserved == 1


def _give_back_attempt(db: Session, offer_id: int) -> None:
    """A right code that did not redeem after all: its attempt is free again (committed with what the request did)."""
    db.execute(
        update(WalletOffer).where(WalletOffer.id == offer_id).values(failed_attempts=WalletOffer.failed_attempts - 1)
    )
    db.commit()


def _audit_guess(db: Session, offer: WalletOffer, action: str, **detail: object) -> None:
    identity = db.get(Identity, offer.identity_id)
    audit.record(db, WALLET, action, "wallet_offer", str(offer.id), uin=identity.uin if identity else None, **detail)
    db.commit()


def _refuse_unreserved(db: Session, offer_id: int) -> NoReturn:
    """A guess that found no attempt left to take: say why, as things stand now. Not counted and not a lock:
    the attempts may be held by guesses still being compared (a right one among them)."""
    offer = db.get(WalletOffer, offer_id, populate_existing=True)
    assert offer is not None
    if offer.redeemed_at is not None:
        raise InvalidGrant("the pre-authorized code has already been used")
    _audit_guess(db, offer, "wallet.tx_code_refused", locked=offer.locked_at is not None)
    if offer.locked_at is not None:
        raise InvalidGrant("too many wrong transaction codes: ask for a new offer")
    raise InvalidGrant("too many transaction codes at once: try again in a moment")


def _count_failure(db: Session, offer_id: int, max_attempts: int) -> None:
    """A wrong transaction code (its attempt already counted): lock the offer at the limit, audit, commit."""
    offer = db.get(WalletOffer, offer_id, populate_existing=True)
    assert offer is not None
    locked = offer.failed_attempts >= max_attempts
    if locked and offer.locked_at is None:
        offer.locked_at = utcnow()
    _audit_guess(db, offer, "wallet.tx_code_failed", failed_attempts=offer.failed_attempts, locked=locked)


def redeem(db: Session, services: IdpServices, client: Client | None, form: Mapping[str, str]) -> dict[str, Any]:
    """Redeem a pre-authorized code with its transaction code; the token response body."""
    settings = services.settings
    code = form.get("pre-authorized_code", "")
    if not code:
        raise InvalidRequest("pre-authorized_code is required")
    offer = db.scalars(select(WalletOffer).where(WalletOffer.code_hash == sha256_hex(code))).first()
    if offer is None:
        raise InvalidGrant("unknown pre-authorized code")
    if offer.locked_at is not None:
        raise InvalidGrant("too many wrong transaction codes: ask for a new offer")
    if offer.redeemed_at is not None:
        raise InvalidGrant("the pre-authorized code has already been used")
    if audit.as_utc(offer.expires_at) <= utcnow():
        raise InvalidGrant("the pre-authorized code has expired")
    tx_code = form.get("tx_code", "")
    if not tx_code:
        raise InvalidRequest("tx_code is required: type the code the officer gave you")  # §6.3
    offer_id, right = offer.id, hmac.compare_digest(tx_code_hash(code, tx_code), offer.tx_code_hash)
    if not _reserve_attempt(db, offer_id, settings.wallet_tx_code_max_attempts):
        _refuse_unreserved(db, offer_id)
    if not right:
        _count_failure(db, offer_id, settings.wallet_tx_code_max_attempts)
        raise InvalidGrant("wrong transaction code")
    identity = db.get(Identity, offer.identity_id)
    if identity is None or identity.status != "active":
        _give_back_attempt(db, offer_id)
        raise InvalidGrant("the person's identity is not active")
    now = utcnow()
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=settings.wallet_access_token_ttl_s)
    won = affected_rows(
        db,
        update(WalletOffer)
        # Not locked_at: this guess holds one of the attempts, so a parallel wrong guess that locked the offer on
        # the last one cannot take a right code's turn away.
        .where(WalletOffer.id == offer_id, WalletOffer.redeemed_at.is_(None))
        .values(
            redeemed_at=now,
            access_token_hash=sha256_hex(token),
            access_token_expires_at=expires,
            failed_attempts=WalletOffer.failed_attempts - 1,
        ),
    )
    if won != 1:
        _give_back_attempt(db, offer_id)
        raise InvalidGrant("the pre-authorized code has already been used")  # a concurrent redemption won
    audit.record(
        db,
        WALLET,
        "wallet.offer_redeemed",
        "wallet_offer",
        str(offer.id),
        uin=identity.uin,
        client_id=client.client_id if client is not None else None,
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": settings.wallet_access_token_ttl_s,
        # No authorization_details: §6.2 would then require credential_identifiers, and civid issues none (the
        # wallet names the offer's credential_configuration_id at the credential endpoint).
    }


def metadata(settings: Settings) -> dict[str, Any]:
    """Authorization server metadata members (OpenID4VCI §12.3)."""
    return {"pre-authorized_grant_anonymous_access_supported": True}


GRANT = ExtensionGrant(GRANT_TYPE, redeem, anonymous=True, metadata=metadata)
