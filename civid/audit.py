"""Write and check the audit trail: events, their hash chain, and their leaves in the transparency log.

Every enrolment, decision, verification and key change writes one event inside the same transaction
as the change it records, so an event exists exactly when its change does. The event takes no lock and has
no place in the log yet: the sequencer (civid/audit_sequencer.py) gives committed events their leaf index, their
Merkle tree nodes and their link in the older hash chain (each event's hash covers its content and the previous
event's hash), woken by the commit. The chain shows an edit to anyone who cannot recompute it; the tree and its
signed checkpoints (docs/audit-log.md) show it to an auditor even against whoever can.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from civid import metrics
from civid.actor import Actor as Actor  # re-exported (the alias tells mypy): callers import Actor from here too
from civid.request_id import current_request_id
from models import AuditEvent, utcnow

GENESIS = "0" * 64


SYSTEM = Actor(None, "civid", "system")


# Set in a session that wrote an event, so the sequencer is woken when that session commits.
WROTE_EVENTS = "audit.wrote_events"


def _content(event: AuditEvent) -> dict[str, Any]:
    content = {
        "occurred_at": as_utc(event.occurred_at).isoformat(),
        "actor": [event.actor_id, event.actor_name, event.actor_role],
        "action": event.action,
        "subject": [event.subject_type, event.subject_id],
        "detail": event.detail,
    }
    # Added later: hashed only when set, so events written before these columns existed still verify.
    if event.person is not None:
        content["person"] = event.person
    if event.client_id is not None:
        content["client_id"] = event.client_id
    return content


def _canonical(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the previous hash and the event's canonical JSON content (the hash chain's link)."""
    return hashlib.sha256(((event.prev_hash or "") + _canonical(_content(event))).encode()).hexdigest()


def leaf_data(event: AuditEvent) -> bytes:
    """The bytes the log's leaf commits to: the event's id and content as canonical JSON (docs/audit-log.md).

    The id is in it so a proof of inclusion for event 42 cannot be shown for another event with the same content;
    the chain's hashes are not, so the tree stands on the events alone."""
    return _canonical({"id": event.id, **_content(event)}).encode()


def as_utc(moment: datetime) -> datetime:
    """The same instant as an aware UTC datetime: SQLite returns stored times without their zone."""
    # Every stored time is UTC (models.utcnow), so a naive value read back is UTC; without this the
    # hash computed at write time (aware) never matches the one recomputed from a SQLite row (naive).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_INSERT = insert(cast(Table, AuditEvent.__table__)).returning(AuditEvent.id)


def record(
    session: Session, actor: Actor, action: str, subject_type: str, subject_id: str, **detail: Any
) -> AuditEvent:
    """Write one event (inserted now, committed with the caller's transaction; sequenced into the log after that).
    The returned event is a detached copy of what was written: its id, not yet its place in the log."""
    _refuse_sensitive(detail)
    if (request_id := current_request_id()) is not None and "request_id" not in detail:
        detail = {**detail, "request_id": request_id}  # the HTTP request that did it, as its log lines say
    person = str(subject_id) if subject_type == "identity" else detail.get("uin")
    client_id = str(subject_id) if subject_type == "client" else detail.get("client_id")
    if client_id is None and actor.role == "client" and actor.name.startswith("client:"):
        client_id = actor.name.removeprefix("client:")
    values = {
        "occurred_at": utcnow(),
        "actor_id": actor.id,
        "actor_name": actor.name,
        "actor_role": actor.role,
        "action": action,
        "subject_type": subject_type,
        "subject_id": str(subject_id),
        "person": str(person)[:16] if person else None,
        "client_id": str(client_id)[:64] if client_id else None,
        "detail": json.loads(json.dumps(detail, default=str)),
    }
    # A plain INSERT, not the ORM's unit of work: nothing in the transaction reads the event back as an object, and
    # every token, login and enrolment writes one (the unit of work cost a sixth of a refresh grant).
    event = AuditEvent(id=session.execute(_INSERT, values).scalar_one(), **values)
    session.info[WROTE_EVENTS] = True
    metrics.note_event(session, action, subject_type, str(subject_id), detail)
    return event


# Keys that would carry biometric data, document numbers or secrets: an event never holds them.
FORBIDDEN_DETAIL = frozenset(
    {
        "template",
        "templates",
        "descriptor",
        "minutiae",
        "cylinders",
        "ciphertext",
        "photo",
        "image",
        "record",
        "document_number",
        "client_secret",
        "secret",
        "password",
        "access_token",
        "refresh_token",
        "id_token",
        "code",
    }
)


def _refuse_sensitive(detail: Any, path: str = "detail") -> None:
    """Raise ValueError when ``detail`` holds raw bytes, arrays or a forbidden key (a programming error)."""
    if isinstance(detail, (bytes, bytearray, memoryview)) or type(detail).__name__ == "ndarray":
        raise ValueError(f"audit {path} must not contain binary data (biometrics stay out of the audit trail)")
    if isinstance(detail, dict):
        for key, value in detail.items():
            if str(key).lower() in FORBIDDEN_DETAIL:
                raise ValueError(f"audit {path}.{key}: this kind of value never goes into the audit trail")
            _refuse_sensitive(value, f"{path}.{key}")
    elif isinstance(detail, (list, tuple)):
        for index, value in enumerate(detail):
            _refuse_sensitive(value, f"{path}[{index}]")


def verify_chain(session: Session) -> tuple[int, int | None]:
    """Walk the chain in log order; return (events checked, id of the first broken event or None).

    Events not yet sequenced have no link yet and are not counted. When the oldest events were pruned
    (civid/audit_retention.py) the walk starts from the first kept one's own ``prev_hash``: those pruned are
    checked by their leaf hashes in the tree only (civid/audit_verify.py)."""
    previous: str | None = None
    checked = 0
    query = select(AuditEvent).where(AuditEvent.leaf_index.is_not(None)).order_by(AuditEvent.leaf_index)
    # populate_existing: an event this session loaded before the sequencer reached it is read again, not taken
    # unsequenced from the identity map (it would look broken).
    for event in session.scalars(query.execution_options(yield_per=1000, populate_existing=True)):
        if previous is None:
            previous = GENESIS if event.leaf_index == 0 else event.prev_hash
        if event.prev_hash != previous or event_hash(event) != event.hash:
            return checked, event.id
        previous = event.hash
        checked += 1
    return checked, None
