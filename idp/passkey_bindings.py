"""Binding a passkey at the enrolment desk: the officer checks the person, then issues a one-time code the
citizen types on their own device at ``/passkeys/bind``. Also the officer's view and revocation of a
person's passkeys.

A code is 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as three groups of
four: about 59 bits, single use, valid ``passkey_binding_ttl_s``. It is stored as an HMAC under the
server's key, so a copy of the database alone does not let anyone test guesses offline.

Whoever types a code binds a passkey to the identity, and a staff member's passkey signs in to the console
with their roles; so who may issue a code for whom is decided here, once, for the console page, the API and
the CLI (``authorise``): a staff member's code only by an admin (or the operator's CLI on the server, the
first admin's route), a citizen's by a registration officer, and nobody's for their own UIN. A new code voids
the person's earlier unused ones, so at most one code per person is ever live.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
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
from civid.errors import Conflict, Forbidden, NotFound
from civid.input_types import RowId, UinPath
from civid.uin import normalise_uin
from idp import passkey_registry
from idp.passkey_ceremony import PasskeyRejected
from idp.runtime import IdpServices
from idp.server_secrets import ServerSecrets
from models import ApiKey, Identity, Passkey, PasskeyBinding, StaffAccount, utcnow

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LENGTH = 3, 4

router = APIRouter(prefix="/v1", tags=["passkeys"])
Officer = Annotated[Actor, Depends(require("officer"))]
# Admins too: a staff member's code is theirs to issue (``authorise``); a citizen's stays an officer's.
CodeIssuer = Annotated[Actor, Depends(require("officer", "admin"))]
SessionDep = Annotated[Session, Depends(get_session)]
ServicesDep = Annotated[IdpServices, Depends(get_services)]


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


@dataclass(frozen=True)
class Issuer:
    """Who asks for a binding code: the actor it is audited as, every role they hold, and, for a staff member,
    their own UIN. ``operator``: ``civid passkeys code`` run on the server, trusted like the database itself."""

    actor: Actor
    roles: tuple[str, ...]
    uin: str | None = None
    operator: bool = False

    @classmethod
    def api_key(cls, actor: Actor) -> Issuer:
        """A caller with an API key: one role, no person behind it."""
        return cls(actor, (actor.role,))


def has_staff_account(db: Session, identity: Identity) -> bool:
    """Whether the identity belongs to a staff member (a disabled account counts: it may be re-enabled)."""
    return db.scalars(select(StaffAccount.id).where(StaffAccount.uin == identity.uin)).first() is not None


def _refusal(db: Session, identity: Identity, issuer: Issuer) -> Forbidden | None:
    if issuer.uin is not None and issuer.uin == identity.uin:
        # A second passkey for oneself is another person's check to make, like any other.
        return Forbidden(
            "nobody issues a passkey binding code for their own UIN; ask a colleague",
            code="own_uin",
            params={"uin": identity.uin},
        )
    if issuer.operator:
        return None
    if has_staff_account(db, identity):
        # Disabled accounts count too: re-enabled, a passkey bound meanwhile would sign in with their roles.
        if "admin" not in issuer.roles:
            return Forbidden(
                f"UIN {identity.uin} has a staff account: only an administrator (admin role) may "
                "issue its passkey binding code",
                code="staff_needs_admin",
                params={"uin": identity.uin},
            )
        return None  # an admin can give anyone any role anyway, so their roles cover the target's
    if "officer" not in issuer.roles:
        return Forbidden(
            "a citizen's passkey binding code is issued by a registration officer, who checks the "
            "person and their document at the desk",
            code="officer_needed",
            params={"uin": identity.uin},
        )
    return None


def authorise(db: Session, identity: Identity, issuer: Issuer) -> None:
    """Raise Forbidden (audited as ``passkey.binding_refused``) unless ``issuer`` may issue a code for ``identity``."""
    refused = _refusal(db, identity, issuer)
    if refused is None:
        return
    audit.record(
        db,
        issuer.actor,
        "passkey.binding_refused",
        "identity",
        identity.uin,
        reason=refused.code,
        roles=list(issuer.roles),
    )
    db.commit()  # the refusal stays on record although the request fails (and rolls back the rest)
    raise refused


def void_unused_codes(db: Session, identity: Identity) -> list[int]:
    """Expire the identity's unused live codes (a code handed out and forgotten must not stay usable); their ids."""
    # Lock the identity row: two codes issued at once are then issued one after the other, and the second
    # sees (and voids) the first.
    db.scalars(select(Identity.id).where(Identity.id == identity.id).with_for_update()).one()
    now = utcnow()
    voided = []
    for row in db.scalars(
        select(PasskeyBinding).where(PasskeyBinding.identity_id == identity.id, PasskeyBinding.used_at.is_(None))
    ):
        if audit.as_utc(row.expires_at) > now:
            row.expires_at = now  # the bind page then says "expired; ask an officer for a new one"
            voided.append(row.id)
    return voided


def normalise_code(text: str) -> str:
    """What the citizen typed, without spaces or dashes, upper-cased."""
    return re.sub(r"[^0-9A-Za-z]", "", text or "").upper()


def _code_hash(secrets_: ServerSecrets, code: str) -> str:
    return secrets_.mac("passkey-binding", normalise_code(code))


def issue_code(
    db: Session, secrets_: ServerSecrets, ttl_s: int, identity: Identity, issuer: Issuer
) -> tuple[str, PasskeyBinding]:
    """Create a one-time binding code for ``identity`` if ``issuer`` may (``authorise``), voiding the earlier
    unused ones; return it (shown once) and its row."""
    authorise(db, identity, issuer)
    voided = void_unused_codes(db, identity)
    raw = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH))
    code = "-".join(raw[i : i + GROUP_LENGTH] for i in range(0, len(raw), GROUP_LENGTH))
    now = utcnow()
    row = PasskeyBinding(
        code_hash=_code_hash(secrets_, code),
        identity_id=identity.id,
        officer_id=issuer.actor.id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        issuer.actor,
        "passkey.binding_issued",
        "identity",
        identity.uin,
        binding=row.id,
        expires_at=row.expires_at.isoformat(),
        voided=voided,
    )
    return code, row


def usable_binding(db: Session, secrets_: ServerSecrets, code: str) -> PasskeyBinding:
    """The live binding for a typed code; PasskeyRejected (with the reason) when unknown, used or expired."""
    if not normalise_code(code):
        raise PasskeyRejected("enter the code the officer gave you", code="code_missing")
    row = db.scalars(select(PasskeyBinding).where(PasskeyBinding.code_hash == _code_hash(secrets_, code))).first()
    if row is None:
        raise PasskeyRejected("this code is not known; check it and try again", code="code_unknown")
    if row.used_at is not None:
        raise PasskeyRejected("this code has already been used; ask an officer for a new one", code="code_used")
    if audit.as_utc(row.expires_at) <= utcnow():
        raise PasskeyRejected("this code has expired; ask an officer for a new one", code="code_expired")
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


def find_identity(db: Session, uin: str, issuer: Issuer) -> Identity:
    """The active identity ``issuer`` may issue a binding code for (NotFound, InvalidUin, Conflict or Forbidden,
    each coded)."""
    identity = _identity(db, uin)
    if identity.status != "active":
        raise Conflict(
            f"identity {identity.uin} is {identity.status}; no passkey can be bound",
            code="inactive",
            params={"uin": identity.uin},
        )
    authorise(db, identity, issuer)
    return identity


@router.post(
    "/identities/{uin}/passkey-bindings",
    status_code=201,
    response_model=BindingCodeOut,
    summary="Issue a one-time code for the person at the desk to bind a passkey",
)
def create_binding(uin: UinPath, db: SessionDep, services: ServicesDep, caller: CodeIssuer) -> BindingCodeOut:
    """The officer has checked the person (document, face) at the desk; the code lets them bind a passkey.
    A staff member's code needs an admin key (403 ``forbidden`` otherwise, audited)."""
    issuer = Issuer.api_key(caller)
    identity = find_identity(db, uin, issuer)
    code, row = issue_code(db, services.idp_secrets, services.settings.passkey_binding_ttl_s, identity, issuer)
    db.commit()
    return BindingCodeOut(
        code=code,
        expires_at=audit.as_utc(row.expires_at),
        bind_url=services.settings.resolved_issuer + "/passkeys/bind",
    )


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


@router.post(
    "/identities/{uin}/passkeys/{passkey_id}/revoke",
    response_model=PasskeyOut,
    summary="Revoke a passkey, with a reason",
)
def revoke_passkey(uin: UinPath, passkey_id: RowId, body: RevokeIn, db: SessionDep, officer: Officer) -> PasskeyOut:
    """Revoke a passkey with the reason the person gave (lost, stolen, replaced)."""
    return _revoke(db, uin, passkey_id, officer, body.reason)
