"""Updating an identity's record with evidence: an officer corrects names, birth date, sex, address, phone or
email, with the document that proves it; every version is kept (``models.identity_record``).

- ``address``, ``phone``, ``email`` are applied at once (the proposer's word and document suffice).
- ``given_name``, ``middle_names``, ``family_name``, ``date_of_birth``, ``sex`` are *sensitive*: the version
  waits (``pending``) until an adjudicator other than the proposer approves it (four eyes, as for case
  decisions); an adjudicator may reject it. A proposal that touches any sensitive field waits as a whole.
- One change at a time: while a version is pending, another proposal is a 409 (the partial unique index
  makes that hold between two concurrent requests too, and the identity row is locked meanwhile).
- Only an ``active`` identity's record changes: a suspended one is frozen under investigation, a deactivated
  or merged one is no one's to correct (409).

Where the record in force lives: the issued enrolment's columns, updated in place when a version is applied,
with every version (the enrolled one as version 1) in ``identity_record_versions``. Every reader of a person's
data (``idp.claims.claim_values``, kyc's verified claims, face login's display, the console, notifications)
already reads that enrolment, so nothing above the models learns a new place, layering is unchanged, and a
version's history can never disagree with what the portals were told at the next release.

Applying publishes ``IdentityUpdated(fields=...)`` in the same transaction: kyc revokes the attestations that
state a changed claim, notifications queue the "record updated" message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid import audit
from civid.actor import Actor
from civid.errors import Conflict, Forbidden, InvalidInput, NotFound
from civid.events import EventBus, IdentityUpdated
from civid.keyring import KeyRing
from civid.uin import normalise_uin
from enrollment.documents import DocumentEvidence, last4, masked
from enrollment.record import issuing_enrolment
from enrollment.schemas import Address, Demographics
from models import Enrolment, Identity, IdentityRecordVersion, RecordVersionStatus, utcnow

SENSITIVE = ("given_name", "middle_names", "family_name", "date_of_birth", "sex")
PLAIN = ("address", "phone", "email")
FIELDS = SENSITIVE + PLAIN
PROPOSER_ROLES = ("officer", "adjudicator")
APPROVER_ROLES = ("adjudicator",)


@dataclass(frozen=True)
class RecordVersion:
    """One version as the API and the command line show it (the evidence number masked)."""

    uin: str
    version: int
    status: str
    fields: list[str]
    record: dict[str, Any]
    evidence: dict[str, Any] | None
    reason: str | None
    created_by: str
    created_at: str
    decided_by: str | None
    decided_at: str | None
    decision_note: str | None


def _out(uin: str, row: IdentityRecordVersion) -> RecordVersion:
    evidence = None
    if row.evidence_type is not None:
        evidence = {
            "type": row.evidence_type,
            "number": masked(row.evidence_number_last4 or ""),
            "issuer": {"name": row.evidence_issuer_name, "country": row.evidence_issuer_country},
            "date_of_issuance": row.evidence_date_of_issuance.isoformat() if row.evidence_date_of_issuance else None,
            "check_methods": list(row.evidence_check_methods or []),
        }
    return RecordVersion(
        uin,
        row.version,
        row.status,
        list(row.fields),
        {
            "given_name": row.given_name,
            "middle_names": row.middle_names,
            "family_name": row.family_name,
            "date_of_birth": row.date_of_birth.isoformat(),
            "sex": row.sex,
            "address": row.address,
            "phone": row.phone,
            "email": row.email,
        },
        evidence,
        row.reason,
        row.created_by_name,
        audit.as_utc(row.created_at).isoformat(),
        row.decided_by_name,
        audit.as_utc(row.decided_at).isoformat() if row.decided_at else None,
        row.decision_note,
    )


def evidence_aad(uin: str, version: int) -> bytes:
    """Associated data binding a sealed evidence number to its identity and version."""
    return f"record-version:{uin}:{version}".encode()


def _current(record: Enrolment) -> dict[str, Any]:
    """The record in force as JSON-mode values (what a proposal is merged into and compared with)."""
    return {
        "given_name": record.given_name,
        "middle_names": record.middle_names,
        "family_name": record.family_name,
        "date_of_birth": record.date_of_birth.isoformat(),
        "sex": record.sex,
        "place_of_birth": record.place_of_birth,
        "nationality": record.nationality,
        "address": Address.model_validate(record.address).model_dump(mode="json"),
        "phone": record.phone,
        "email": record.email,
    }


def _validated(current: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The record after ``changes``, through the enrolment's own rules (``Demographics``): a 422 otherwise."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise InvalidInput(
            f"these fields cannot be changed here: {', '.join(unknown)}; only {', '.join(FIELDS)}",
            code="unknown_field",
            params={"fields": unknown},
        )
    try:
        merged = Demographics.model_validate({**current, **changes})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"the changed record is not valid: {problems}", code="invalid_record") from exc
    return merged.model_dump(mode="json")


def _load(session: Session, uin: str, *, lock: bool) -> tuple[str, Identity, Enrolment]:
    number = normalise_uin(uin)
    query = select(Identity).where(Identity.uin == number)
    identity = session.scalars(query.with_for_update() if lock else query).first()
    if identity is None:
        raise NotFound(f"no identity with UIN {number}")
    record = issuing_enrolment(session, identity.id)
    if record is None:
        raise NotFound(f"identity {number} has no issued record")
    return number, identity, record


def _snapshot(row: IdentityRecordVersion, values: Mapping[str, Any]) -> None:
    row.given_name = values["given_name"]
    row.middle_names = values["middle_names"]
    row.family_name = values["family_name"]
    row.date_of_birth = date.fromisoformat(values["date_of_birth"])
    row.sex = values["sex"]
    row.address = values["address"]
    row.phone = values["phone"]
    row.email = values["email"]


def _enrolled_version(identity: Identity, record: Enrolment) -> IdentityRecordVersion:
    """Version 1: the record as enrolled (before any change, the record in force)."""
    row = IdentityRecordVersion(
        identity_id=identity.id,
        version=1,
        status=RecordVersionStatus.APPLIED,
        fields=[],
        created_by_id=record.officer_id,
        created_by_name="enrolment",
        created_at=record.decided_at or record.created_at,
        decided_at=record.decided_at or record.created_at,
    )
    _snapshot(row, _current(record))
    return row


def _first_version(session: Session, identity: Identity, record: Enrolment) -> None:
    """Write version 1 once, before the first change replaces the enrolled values."""
    if not session.scalar(select(func.count()).where(IdentityRecordVersion.identity_id == identity.id)):
        session.add(_enrolled_version(identity, record))


def _apply(
    session: Session,
    events: EventBus,
    actor: Actor,
    number: str,
    identity: Identity,
    record: Enrolment,
    row: IdentityRecordVersion,
) -> None:
    """Put the version in force: the enrolment's columns, the audit event, ``IdentityUpdated`` (same transaction)."""
    for name in row.fields:
        setattr(record, name, getattr(row, name))
    row.status = RecordVersionStatus.APPLIED
    session.flush()
    audit.record(session, actor, "identity.record_updated", "identity", number, version=row.version, fields=row.fields)
    events.publish(session, IdentityUpdated(identity_id=identity.id, uin=number, actor=actor, fields=tuple(row.fields)))


def propose(
    session: Session,
    keyring: KeyRing,
    events: EventBus,
    actor: Actor,
    uin: str,
    changes: Mapping[str, Any],
    evidence: DocumentEvidence | None,
    reason: str | None = None,
) -> RecordVersion:
    """Record a new version of ``uin``'s record: applied at once (address, phone, email only) or pending a second
    person's approval. Raises Forbidden, InvalidInput, NotFound or Conflict; nothing is stored then."""
    if actor.role not in PROPOSER_ROLES:
        raise Forbidden(f"role {actor.role!r} may not update a record; needs {' or '.join(PROPOSER_ROLES)}")
    if evidence is None:
        raise InvalidInput("a record update needs the document that proves it (evidence)", code="no_evidence")
    if not changes:
        raise InvalidInput("no field to change", code="no_change")
    number, identity, record = _load(session, uin, lock=True)
    current = _current(record)
    new = _validated(current, changes)
    changed = [name for name in FIELDS if new[name] != current[name]]
    if not changed:
        raise InvalidInput("the record already says so: nothing would change", code="no_change")
    if identity.status != "active":
        raise Conflict(
            f"identity {number} is {identity.status}: its record cannot be updated",
            code="not_active",
            params={"uin": number, "status": identity.status},
        )
    pending = session.scalars(
        select(IdentityRecordVersion.version).where(
            IdentityRecordVersion.identity_id == identity.id,
            IdentityRecordVersion.status == RecordVersionStatus.PENDING,
        )
    ).first()
    if pending is not None:
        raise Conflict(
            f"version {pending} of {number}'s record awaits approval: approve or reject it first",
            code="pending_version",
            params={"uin": number, "version": pending},
        )
    try:
        # Two concurrent proposals (the row lock aside, SQLite has none): the loser's insert collides on version 1,
        # the one-pending index or the version number, and is a conflict with nothing stored.
        row = _insert_version(session, keyring, actor, number, identity, record, changed, new, evidence, reason)
    except IntegrityError as exc:
        raise Conflict(
            f"{number}'s record is being updated by someone else; reload it", code="pending_version"
        ) from exc
    sensitive = row.status == RecordVersionStatus.PENDING and row.decided_at is None
    audit.record(
        session,
        actor,
        "identity.record_update_proposed",
        "identity",
        number,
        version=row.version,
        fields=changed,
        evidence_type=evidence.type,
        awaits_approval=sensitive,
    )
    if not sensitive:
        _apply(session, events, actor, number, identity, record, row)
    return _out(number, row)


def _insert_version(
    session: Session,
    keyring: KeyRing,
    actor: Actor,
    number: str,
    identity: Identity,
    record: Enrolment,
    changed: list[str],
    new: dict[str, Any],
    evidence: DocumentEvidence,
    reason: str | None,
) -> IdentityRecordVersion:
    """Version 1 if none yet, then the new version (pending; ``decided_at`` set when it applies at once)."""
    _first_version(session, identity, record)
    session.flush()
    latest = session.scalar(
        select(func.max(IdentityRecordVersion.version)).where(IdentityRecordVersion.identity_id == identity.id)
    )
    version = (latest or 0) + 1
    sensitive = any(name in SENSITIVE for name in changed)
    sealed = keyring.seal(evidence.number.encode(), evidence_aad(number, version))
    now = utcnow()
    row = IdentityRecordVersion(
        identity_id=identity.id,
        version=version,
        status=RecordVersionStatus.PENDING,
        fields=changed,
        evidence_type=evidence.type,
        evidence_issuer_name=evidence.issuer_name,
        evidence_issuer_country=evidence.issuer_country,
        evidence_date_of_issuance=evidence.date_of_issuance,
        evidence_check_methods=list(evidence.check_methods),
        evidence_number_key_id=sealed.key_id,
        evidence_number_nonce=sealed.nonce,
        evidence_number_ciphertext=sealed.ciphertext,
        evidence_number_last4=last4(evidence.number),
        reason=(reason or "").strip()[:500] or None,
        created_by_id=actor.id,
        created_by_name=actor.name[:100],
        created_at=now,
        decided_at=None if sensitive else now,
    )
    _snapshot(row, new)
    session.add(row)
    session.flush()
    return row


def _pending(session: Session, uin: str, version: int) -> tuple[str, Identity, Enrolment, IdentityRecordVersion]:
    number, identity, record = _load(session, uin, lock=True)
    row = session.scalars(
        select(IdentityRecordVersion).where(
            IdentityRecordVersion.identity_id == identity.id, IdentityRecordVersion.version == version
        )
    ).first()
    if row is None:
        raise NotFound(f"{number}'s record has no version {version}")
    if row.status != RecordVersionStatus.PENDING:
        raise Conflict(
            f"version {version} of {number}'s record is {row.status}, not pending",
            code="not_pending",
            params={"uin": number, "version": version, "status": row.status},
        )
    return number, identity, record, row


def _decider(actor: Actor, verb: str) -> None:
    if actor.role not in APPROVER_ROLES:
        raise Forbidden(f"role {actor.role!r} may not {verb} a record update; needs {' or '.join(APPROVER_ROLES)}")


def approve(session: Session, events: EventBus, actor: Actor, uin: str, version: int) -> RecordVersion:
    """A second adjudicator's approval puts a pending sensitive version in force (four eyes)."""
    number, identity, record, row = _pending(session, uin, version)
    _decider(actor, "approve")
    if actor.id is None or actor.id == row.created_by_id:
        raise Forbidden("four eyes: whoever proposed a change may not approve it", code="same_approver")
    if identity.status != "active":
        raise Conflict(f"identity {number} is {identity.status}: its record cannot be updated", code="not_active")
    row.decided_by_id = actor.id
    row.decided_by_name = actor.name[:100]
    row.decided_at = utcnow()
    audit.record(session, actor, "identity.record_update_approved", "identity", number, version=version)
    _apply(session, events, actor, number, identity, record, row)
    return _out(number, row)


def reject(session: Session, actor: Actor, uin: str, version: int, note: str | None = None) -> RecordVersion:
    """An adjudicator turns a pending version down; the record stays as it is (the version is kept, rejected)."""
    number, _identity, _record, row = _pending(session, uin, version)
    _decider(actor, "reject")
    row.status = RecordVersionStatus.REJECTED
    row.decided_by_id = actor.id
    row.decided_by_name = actor.name[:100]
    row.decided_at = utcnow()
    row.decision_note = (note or "").strip()[:500] or None
    session.flush()
    audit.record(session, actor, "identity.record_update_rejected", "identity", number, version=version)
    return _out(number, row)


def versions(session: Session, uin: str) -> tuple[str, list[RecordVersion]]:
    """Every version of the record, oldest first (only version 1, as enrolled, until it is first updated)."""
    number, identity, record = _load(session, uin, lock=False)
    rows = session.scalars(
        select(IdentityRecordVersion)
        .where(IdentityRecordVersion.identity_id == identity.id)
        .order_by(IdentityRecordVersion.version)
    ).all()
    return number, [_out(number, row) for row in rows or [_enrolled_version(identity, record)]]
