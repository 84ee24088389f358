"""Binding a passkey at the enrolment desk: the officer checks the person, then issues a one-time code the
citizen types on their own device at ``/passkeys/bind``. Also the officer's view and revocation of a
person's passkeys.

A code is 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as three groups of
four: about 59 bits, single use, valid ``passkey_binding_ttl_s``. It is stored as an HMAC under the
server's key, so a copy of the database alone does not let anyone test guesses offline.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.auth import require
from civid.deps import get_services, get_session
from civid.errors import Conflict, NotFound
from civid.input_types import RowId, UinPath
from civid.services import Services
from enrollment.uin import normalise_uin
from idp import passkey_registry
from idp.passkey_ceremony import PasskeyRejected
from idp.server_secrets import ServerSecrets
from models import ApiKey, Identity, Passkey, PasskeyBinding, utcnow

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LENGTH = 3, 4

router = APIRouter(prefix="/v1", tags=["passkeys"])
Officer = Annotated[Actor, Depends(require("officer"))]
SessionDep = Annotated[Session, Depends(get_session)]
ServicesDep = Annotated[Services, Depends(get_services)]


class BindingCodeOut(BaseModel):
    code: str
    expires_at: datetime
    bind_url: str


class PasskeyOut(BaseModel):
    id: int
    label: str
    bound_via: str
    bound_by: str | None
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None
    revoked_reason: str | None


class RevokeIn(BaseModel):
    reason: str = "revoked by an officer"


def normalise_code(text: str) -> str:
    """What the citizen typed, without spaces or dashes, upper-cased."""
    return re.sub(r"[^0-9A-Za-z]", "", text or "").upper()


def _code_hash(secrets_: ServerSecrets, code: str) -> str:
    return secrets_.mac("passkey-binding", normalise_code(code))


def issue_code(db: Session, secrets_: ServerSecrets, ttl_s: int, identity: Identity, officer: Actor) -> tuple[str, PasskeyBinding]:
    """Create a one-time binding code for ``identity``; return it (shown once) and its row."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH))
    code = "-".join(raw[i:i + GROUP_LENGTH] for i in range(0, len(raw), GROUP_LENGTH))
    now = utcnow()
    row = PasskeyBinding(code_hash=_code_hash(secrets_, code), identity_id=identity.id, officer_id=officer.id,
                         created_at=now, expires_at=now + timedelta(seconds=ttl_s))
    db.add(row)
    db.flush()
    audit.record(db, officer, "passkey.binding_issued", "identity", identity.uin, binding=row.id,
                 expires_at=row.expires_at.isoformat())
    return code, row


def usable_binding(db: Session, secrets_: ServerSecrets, code: str) -> PasskeyBinding:
    """The live binding for a typed code; PasskeyRejected (with the reason) when unknown, used or expired."""
    if not normalise_code(code):
        raise PasskeyRejected("enter the code the officer gave you", message_key="passkey.error.code_missing")
    row = db.scalars(select(PasskeyBinding).where(PasskeyBinding.code_hash == _code_hash(secrets_, code))).first()
    if row is None:
        raise PasskeyRejected("this code is not known; check it and try again", message_key="passkey.error.code_unknown")
    if row.used_at is not None:
        raise PasskeyRejected("this code has already been used; ask an officer for a new one",
                              message_key="passkey.error.code_used")
    if audit.as_utc(row.expires_at) <= utcnow():
        raise PasskeyRejected("this code has expired; ask an officer for a new one",
                              message_key="passkey.error.code_expired")
    return row


def officer_name(db: Session, binding: PasskeyBinding) -> str | None:
    """The name of the officer's API key that issued a binding code (recorded on the passkey)."""
    key = db.get(ApiKey, binding.officer_id) if binding.officer_id else None
    return key.name if key else None


def _identity(db: Session, uin: str) -> Identity:
    number = normalise_uin(uin)
    identity = db.scalars(select(Identity).where(Identity.uin == number)).first()
    if identity is None:
        raise NotFound(f"no identity with UIN {number}", code="unknown_uin", params={"uin": number})
    return identity


def find_identity(db: Session, uin: str) -> Identity:
    """The active identity a binding code may be issued for (NotFound, InvalidUin or Conflict, each coded)."""
    identity = _identity(db, uin)
    if identity.status != "active":
        raise Conflict(f"identity {identity.uin} is {identity.status}; no passkey can be bound", code="inactive",
                       params={"uin": identity.uin})
    return identity


@router.post("/identities/{uin}/passkey-bindings", status_code=201, response_model=BindingCodeOut,
             summary="Issue a one-time code for the person at the desk to bind a passkey")
def create_binding(uin: UinPath, db: SessionDep, services: ServicesDep, officer: Officer) -> BindingCodeOut:
    """The officer has checked the person (document, face) at the desk; the code lets them bind a passkey."""
    identity = find_identity(db, uin)
    code, row = issue_code(db, services.idp_secrets, services.settings.passkey_binding_ttl_s, identity, officer)
    db.commit()
    return BindingCodeOut(code=code, expires_at=audit.as_utc(row.expires_at),
                          bind_url=services.settings.resolved_issuer + "/passkeys/bind")


@router.get("/identities/{uin}/passkeys", response_model=list[PasskeyOut], summary="A person's passkeys")
def list_passkeys(uin: UinPath, db: SessionDep, officer: Officer) -> list[PasskeyOut]:
    """Every passkey bound to the person, revoked ones included (audited as an access)."""
    identity = _identity(db, uin)
    rows = [PasskeyOut(**passkey_registry.describe(row)) for row in passkey_registry.of(db, identity.id)]
    audit.record(db, officer, "passkey.listed", "identity", identity.uin)
    db.commit()
    return rows


def _revoke(db: Session, uin: str, passkey_id: int, officer: Actor, reason: str) -> PasskeyOut:
    identity = _identity(db, uin)
    row = db.get(Passkey, passkey_id)
    if row is None or row.identity_id != identity.id:
        raise NotFound(f"identity {identity.uin} has no passkey {passkey_id}")
    passkey_registry.revoke(db, row, officer, reason or "revoked by an officer")
    db.commit()
    return PasskeyOut(**passkey_registry.describe(row))


@router.delete("/identities/{uin}/passkeys/{passkey_id}", response_model=PasskeyOut, summary="Revoke a passkey")
def delete_passkey(uin: UinPath, passkey_id: RowId, db: SessionDep, officer: Officer) -> PasskeyOut:
    """Revoke a passkey (the person lost the device); the row stays for the record."""
    return _revoke(db, uin, passkey_id, officer, "revoked by an officer")


@router.post("/identities/{uin}/passkeys/{passkey_id}/revoke", response_model=PasskeyOut,
             summary="Revoke a passkey, with a reason")
def revoke_passkey(uin: UinPath, passkey_id: RowId, body: RevokeIn, db: SessionDep, officer: Officer) -> PasskeyOut:
    """Revoke a passkey with the reason the person gave (lost, stolen, replaced)."""
    return _revoke(db, uin, passkey_id, officer, body.reason)
