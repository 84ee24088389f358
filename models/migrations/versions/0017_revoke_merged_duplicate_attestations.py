"""revoke the KYC attestations that stated a merged duplicate's data instead of the identity's record

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 00:10:00

Data only. Before this revision a "duplicate" decision made the applicant's enrolment the identity's record:
claims and attestations came from the latest ISSUED or DUPLICATE enrolment of the identity by ``decided_at``
(``idp.claims.current_record``, removed). Since then civid states the enrolment that issued the UIN
(``enrollment.record.issuing_enrolment``), but attestations already signed from a merged application, possibly
someone else's data under this UIN, stay verifiable for 90 days. For every identity whose old record is not its
issuing enrolment, this migration revokes each attestation issued while the old rule pointed at another
enrolment (issued at or after the decision that made that enrolment the record), exactly as
``kyc.revocation.revoke`` does: ``revoked_at``/``revoked_reason``/``revoked_by`` set, so the status endpoint
answers "revoked" and the attestation's bit is set in its status list. Expired ones are revoked too: a bank
asking later must learn that what it was told was not the record ("revoked wins over expired",
``kyc.revocation.status_of``). Attestations issued before the merge stated the issuing record and stay valid.

Each revocation appends one ``kyc.attestation_revoked`` event (actor civid/system) to the audit hash chain,
hashed as ``civid.audit.event_hash`` does (frozen here, like the tables: the migration must not follow later
changes of the models), under the same chain lock, so ``civid audit verify`` still passes.

Downgrade changes nothing: a revocation is final (the status list has no way back to VALID), and the older code
would state the merged enrolment again, so those attestations must stay revoked.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

ACTOR = (None, 'civid', 'system')  # civid.audit.SYSTEM
GENESIS = '0' * 64
AUDIT_LOCK_KEY = 0x43495649_41554454  # models.db.AUDIT_LOCK_KEY ("CIVIAUDT")
REASON = ("issued from a duplicate application's data, not the record that issued the UIN "
          "(civid upgrade 0017)")
CHUNK = 500  # ids per IN (...): well under SQLite's bound-parameter limit
WHEN = sa.DateTime(timezone=True)

# The tables as they stand at this revision (not the models, which move on), only the columns used.
identities = sa.table('identities', sa.column('id', sa.Integer), sa.column('uin', sa.String))
enrolments = sa.table('enrolments', sa.column('id', sa.Integer), sa.column('public_id', sa.String),
                      sa.column('identity_id', sa.Integer), sa.column('status', sa.String),
                      sa.column('decided_at', WHEN))
attestations = sa.table('kyc_attestations', sa.column('id', sa.Integer), sa.column('uid', sa.String),
                        sa.column('client_id', sa.String), sa.column('identity_id', sa.Integer),
                        sa.column('issued_at', WHEN), sa.column('status_list', sa.Integer),
                        sa.column('status_index', sa.Integer), sa.column('revoked_at', WHEN),
                        sa.column('revoked_reason', sa.String), sa.column('revoked_by', sa.String))
events = sa.table('audit_events', sa.column('id', sa.Integer), sa.column('occurred_at', WHEN),
                  sa.column('actor_id', sa.Integer), sa.column('actor_name', sa.String),
                  sa.column('actor_role', sa.String), sa.column('action', sa.String),
                  sa.column('subject_type', sa.String), sa.column('subject_id', sa.String),
                  sa.column('person', sa.String), sa.column('client_id', sa.String),
                  sa.column('detail', sa.JSON), sa.column('prev_hash', sa.String), sa.column('hash', sa.String))
RECORD_STATUSES = ('issued', 'duplicate')  # what the old current_record chose from


def upgrade() -> None:
    connection = op.get_bind()
    now = datetime.now(timezone.utc)
    revoked: list[tuple[sa.Row[Any], str | None, _Enrolment | None, _Enrolment]] = []
    for identity_id, uin, issuing, timeline in _identities_with_another_record(connection):
        for row in _unrevoked(connection, identity_id):
            issued_at = _utc(row.issued_at)
            assert issued_at is not None  # attestations.issued_at is NOT NULL (0004_kyc)
            stated = _old_record_at(timeline, issued_at)
            if stated is None or stated is issuing:
                continue  # issued before the merge: it states the record that issued the UIN
            revoked.append((row, uin, issuing, stated))
    if not revoked:
        return
    _lock_audit_chain(connection)
    previous = connection.execute(sa.select(events.c.hash).order_by(events.c.id.desc()).limit(1)).scalar()
    previous = previous or GENESIS
    for row, uin, issuing, stated in revoked:
        connection.execute(attestations.update()
                           .where(attestations.c.id == row.id, attestations.c.revoked_at.is_(None))
                           .values(revoked_at=now, revoked_reason=REASON, revoked_by=ACTOR[1]))
        # The detail of kyc.revocation.revoke's event, plus which enrolments were involved (ids, no personal data).
        detail = {'client_id': row.client_id, 'uin': uin, 'status_list': row.status_list,
                  'status_index': row.status_index, 'reason': REASON, 'migration': revision,
                  'record_enrolment': issuing.public_id if issuing else None,
                  'stated_enrolment': stated.public_id,
                  'merged_at': stated.decided_at.isoformat() if stated.decided_at else None}
        previous = _append_event(connection, previous, now, 'kyc.attestation_revoked', 'attestation', row.uid,
                                 detail, person=uin, client_id=row.client_id)


def downgrade() -> None:
    """Nothing to undo: a revocation is final (see the module docstring)."""


class _Enrolment:
    """One ISSUED or DUPLICATE enrolment of an identity, with the old rule's sort key."""

    def __init__(self, row: sa.Row[Any]) -> None:
        self.id, self.public_id, self.status = row.id, row.public_id, row.status
        self.decided_at = _utc(row.decided_at)

    @property
    def key(self) -> tuple[bool, datetime, int]:
        # current_record: ORDER BY decided_at DESC NULLS LAST, id DESC, first → the greatest of this key.
        return (self.decided_at is not None, self.decided_at or datetime.min.replace(tzinfo=timezone.utc), self.id)


def _identities_with_another_record(
    connection: sa.Connection,
) -> Iterator[tuple[int, str | None, _Enrolment | None, list[_Enrolment]]]:
    """(identity id, UIN, issuing enrolment or None, its ISSUED/DUPLICATE enrolments) of every identity whose
    old current_record is not its issuing enrolment. Only identities holding two or more such enrolments can."""
    several = [row[0] for row in connection.execute(
        sa.select(enrolments.c.identity_id).where(enrolments.c.identity_id.is_not(None),
                                                  enrolments.c.status.in_(RECORD_STATUSES))
        .group_by(enrolments.c.identity_id).having(sa.func.count() > 1).order_by(enrolments.c.identity_id))]
    for chunk in _chunks(several):
        held: dict[int, list[_Enrolment]] = {}
        for row in connection.execute(sa.select(enrolments).where(enrolments.c.identity_id.in_(chunk),
                                                                  enrolments.c.status.in_(RECORD_STATUSES))
                                      .order_by(enrolments.c.id)):
            held.setdefault(row.identity_id, []).append(_Enrolment(row))
        uins = {row.id: row.uin for row in connection.execute(
            sa.select(identities.c.id, identities.c.uin).where(identities.c.id.in_(chunk)))}
        for identity_id in chunk:
            timeline = held.get(identity_id, [])
            # enrollment.record.issuing_enrolment: the first ISSUED enrolment by id.
            issuing = next((e for e in timeline if e.status == 'issued'), None)
            if timeline and max(timeline, key=lambda e: e.key) is not issuing:
                yield identity_id, uins.get(identity_id), issuing, timeline


def _old_record_at(timeline: list[_Enrolment], moment: datetime) -> _Enrolment | None:
    """What current_record answered at ``moment``: the greatest among the enrolments decided by then (one
    without a decision time sorts last, so it counts whenever it is the only kind left)."""
    known = [e for e in timeline if e.decided_at is None or e.decided_at <= moment]
    return max(known, key=lambda e: e.key) if known else None


def _unrevoked(connection: sa.Connection, identity_id: int) -> Sequence[sa.Row[Any]]:
    return connection.execute(sa.select(attestations).where(attestations.c.identity_id == identity_id,
                                                            attestations.c.revoked_at.is_(None))
                              .order_by(attestations.c.id)).all()


def _lock_audit_chain(connection: sa.Connection) -> None:
    """models.db.lock_audit_chain: no other writer may append between reading the last hash and inserting."""
    if connection.dialect.name == 'postgresql':
        connection.execute(sa.text('SELECT pg_advisory_xact_lock(:key)'), {'key': AUDIT_LOCK_KEY})
    else:  # SQLite: take the database's write lock now, before the last hash is read
        connection.execute(sa.text('UPDATE audit_events SET id = id WHERE 0'))


def _append_event(connection: sa.Connection, previous: str, occurred_at: datetime,
                  action: str, subject_type: str, subject_id: str, detail: dict[str, Any], *,
                  person: str | None, client_id: str | None) -> str:
    """Insert one chained event (civid.audit.record's fields); return its hash."""
    detail = json.loads(json.dumps(detail, default=str))
    person = str(person)[:16] if person else None
    client_id = str(client_id)[:64] if client_id else None
    # civid.audit.event_hash, frozen: person and client_id are hashed only when set.
    content = {'occurred_at': occurred_at.isoformat(), 'actor': list(ACTOR), 'action': action,
               'subject': [subject_type, subject_id], 'detail': detail}
    if person is not None:
        content['person'] = person
    if client_id is not None:
        content['client_id'] = client_id
    canonical = json.dumps(content, sort_keys=True, separators=(',', ':'), default=str)
    digest = hashlib.sha256((previous + canonical).encode()).hexdigest()
    connection.execute(events.insert().values(
        occurred_at=occurred_at, actor_id=ACTOR[0], actor_name=ACTOR[1], actor_role=ACTOR[2], action=action,
        subject_type=subject_type, subject_id=subject_id, person=person, client_id=client_id, detail=detail,
        prev_hash=previous, hash=digest))
    return digest


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _utc(moment: datetime | None) -> datetime | None:
    """Stored times are UTC; SQLite hands them back without their zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
