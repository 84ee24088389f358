"""Staff accounts: who may use the console, with which roles; created and changed by admins, audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.auth import hash_key
from civid.errors import Conflict, InvalidInput, NotFound
from civid.uin import normalise_uin
from idp import passkey_bindings
from models import ApiKey, Identity, StaffAccount, utcnow

STAFF_ROLES = ("officer", "adjudicator", "auditor", "admin")


@dataclass(frozen=True)
class Staff:
    """A signed-in staff member: their account, and the actor their actions are recorded as."""

    account_id: int
    uin: str
    name: str
    roles: tuple[str, ...]
    api_key_id: int

    def actor(self, role: str) -> Actor:
        """The audit actor for an action done in ``role`` (one of the account's roles)."""
        return Actor(self.api_key_id, self.name, role)

    def has(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


def _check_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(STAFF_ROLES))
    if not roles or unknown:
        raise InvalidInput(
            f"roles must be a non-empty subset of {', '.join(STAFF_ROLES)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
            code="roles_unknown" if unknown else "roles_required",
            params={"roles": ", ".join(STAFF_ROLES), "unknown": ", ".join(unknown)},
        )
    return [role for role in STAFF_ROLES if role in roles]


def add(db: Session, uin: str, name: str, roles: list[str], actor: Actor) -> StaffAccount:
    """Give the person holding ``uin`` a console account with ``roles`` (they must be enrolled)."""
    uin = normalise_uin(uin)
    roles = _check_roles(roles)
    if not name.strip():
        raise InvalidInput("a staff member needs a name (shown in the audit trail)", code="staff_name_required")
    identity = db.scalars(select(Identity).where(Identity.uin == uin)).first()
    if identity is None:
        raise NotFound(
            f"no identity with UIN {uin}: staff sign in with their own national identity",
            code="uin_not_enrolled",
            params={"uin": uin},
        )
    if db.scalars(select(StaffAccount).where(StaffAccount.uin == uin)).first() is not None:
        raise Conflict(
            f"UIN {uin} already has a staff account; change its roles instead", code="staff_exists", params={"uin": uin}
        )
    # The API-key row names this person as an actor (enrolments' officer, cases' decider); its key is
    # random and discarded: staff act through the console, not with a key.
    key = ApiKey(name=name.strip(), role=roles[0], key_hash=hash_key(secrets.token_urlsafe(32)), prefix="console")
    db.add(key)
    db.flush()
    account = StaffAccount(
        uin=uin, name=name.strip(), roles=roles, api_key_id=key.id, created_by=f"{actor.role}:{actor.name}"
    )
    db.add(account)
    db.flush()
    # A binding code an officer issued while this was a citizen's identity would now bind a passkey that signs in
    # with staff roles, which only an administrator may give (idp.passkey_bindings): such codes end here.
    voided = len(passkey_bindings.void_unused_codes(db, identity))
    audit.record(
        db,
        actor,
        "staff.added",
        "staff",
        str(account.id),
        uin=uin,
        name=account.name,
        roles=roles,
        voided_binding_codes=voided,
    )
    return account


def set_roles(db: Session, account_id: int, roles: list[str], actor: Actor) -> StaffAccount:
    """Change a staff member's roles (audited with before and after)."""
    account = get(db, account_id)
    before, account.roles = account.roles, _check_roles(roles)
    audit.record(
        db,
        actor,
        "staff.roles_changed",
        "staff",
        str(account.id),
        uin=account.uin,
        roles_before=before,
        roles=account.roles,
    )
    return account


def disable(db: Session, account_id: int, actor: Actor) -> StaffAccount:
    """Stop a staff member from signing in; their past actions stay attributed to them."""
    account = get(db, account_id)
    if account.disabled_at is None:
        account.disabled_at = utcnow()
        key = db.get(ApiKey, account.api_key_id)
        if key is not None and key.revoked_at is None:
            key.revoked_at = account.disabled_at
        audit.record(db, actor, "staff.disabled", "staff", str(account.id), uin=account.uin)
    return account


def get(db: Session, account_id: int) -> StaffAccount:
    account = db.get(StaffAccount, account_id)
    if account is None:
        raise NotFound(f"no staff account {account_id}", code="staff_not_found", params={"id": account_id})
    return account


def active_by_uin(db: Session, uin: str) -> StaffAccount | None:
    """The enabled account of the person holding ``uin``, if any."""
    account = db.scalars(select(StaffAccount).where(StaffAccount.uin == uin)).first()
    return account if account is not None and account.disabled_at is None else None


def as_staff(account: StaffAccount) -> Staff:
    return Staff(account.id, account.uin, account.name, tuple(account.roles), account.api_key_id)


def listing(db: Session) -> list[StaffAccount]:
    return list(db.scalars(select(StaffAccount).order_by(StaffAccount.name)))
