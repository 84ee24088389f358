"""case decisions: each deduplication case's decision history (first decision, then one row per change)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 09:00:00

Backfill. Before this revision a case row held only the decision in force; every earlier decision lived in
the audit chain: ``case.decided``, then one ``case.decision_changed`` per change, each carrying the decision
it superseded (its outcome, UIN, decider's name, time and comment). For each decided case this migration
rebuilds the whole history from those events when they agree with the case row (the first is
``case.decided``, the others are changes that carry ``superseded``, and the last names the case row's
decision): earlier decisions from the ``superseded`` summaries (decider id and name from the event that made
them), the decision in force from the case row. Otherwise (events missing or disagreeing) it records the case
row's decision alone as decision 1. The audit chain itself is only read, never changed.
"""
from datetime import datetime, timezone
from typing import Any

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

DECISION_EVENTS = ('case.decided', 'case.decision_changed')
OUTCOMES = ('duplicate', 'not_duplicate')


def upgrade() -> None:
    decisions = op.create_table('case_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('uin', sa.String(length=16), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_name', sa.String(length=100), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['dedup_cases.id'], name=op.f('fk_case_decisions_case_id_dedup_cases')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['api_keys.id'], name=op.f('fk_case_decisions_decided_by_id_api_keys')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['identities.id'], name=op.f('fk_case_decisions_duplicate_of_id_identities')),
    sa.ForeignKeyConstraint(['replaces_id'], ['case_decisions.id'], name=op.f('fk_case_decisions_replaces_id_case_decisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_decisions')),
    sa.UniqueConstraint('case_id', 'sequence', name='uq_case_decisions_case_sequence'),
    sa.UniqueConstraint('replaces_id', name=op.f('uq_case_decisions_replaces_id'))
    )
    with op.batch_alter_table('case_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_decisions_case_id'), ['case_id'], unique=False)
    _backfill(op.get_bind(), decisions)


def downgrade() -> None:
    with op.batch_alter_table('case_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_decisions_case_id'))
    op.drop_table('case_decisions')


# The tables as they stand at this revision (not the models, which move on).
cases = sa.table('dedup_cases', sa.column('id', sa.Integer), sa.column('public_id', sa.String),
                 sa.column('enrolment_id', sa.Integer), sa.column('status', sa.String),
                 sa.column('decision', sa.String), sa.column('duplicate_of_id', sa.Integer),
                 sa.column('comment', sa.Text), sa.column('decided_by_id', sa.Integer),
                 sa.column('decided_at', sa.DateTime(timezone=True)))
events = sa.table('audit_events', sa.column('id', sa.Integer), sa.column('occurred_at', sa.DateTime(timezone=True)),
                  sa.column('actor_id', sa.Integer), sa.column('actor_name', sa.String),
                  sa.column('action', sa.String), sa.column('subject_type', sa.String),
                  sa.column('subject_id', sa.String), sa.column('detail', sa.JSON))
identities = sa.table('identities', sa.column('id', sa.Integer), sa.column('uin', sa.String))
enrolments = sa.table('enrolments', sa.column('id', sa.Integer), sa.column('identity_id', sa.Integer))
api_keys = sa.table('api_keys', sa.column('id', sa.Integer), sa.column('name', sa.String))


def _backfill(connection: sa.Connection, decisions: sa.Table) -> None:
    """One row per decision of every case decided before this revision (see the module docstring)."""
    trail: dict[str, list[sa.Row[Any]]] = {}
    for event in connection.execute(sa.select(events).where(
            events.c.subject_type == 'case', events.c.action.in_(DECISION_EVENTS)).order_by(events.c.id)):
        trail.setdefault(event.subject_id, []).append(event)
    identity_of = {row.uin: row.id for row in connection.execute(sa.select(identities.c.id, identities.c.uin))}
    uin_of = {v: k for k, v in identity_of.items()}
    key_names = {row.id: row.name for row in connection.execute(sa.select(api_keys.c.id, api_keys.c.name))}
    decided = connection.execute(
        sa.select(cases, enrolments.c.identity_id).join(enrolments, enrolments.c.id == cases.c.enrolment_id)
        .where(cases.c.status == 'decided', cases.c.decision.is_not(None)).order_by(cases.c.id)).all()
    for case in decided:
        history = trail.get(case.public_id, [])
        if _agrees(history, case):
            rows = [_earlier(event, history[index + 1].detail['superseded'], identity_of, key_names)
                    for index, event in enumerate(history[:-1])]
            last = history[-1]
            rows.append(_in_force(case, last.detail.get('uin'), last.actor_name))
        else:
            own = case.duplicate_of_id if case.decision == 'duplicate' else case.identity_id
            rows = [_in_force(case, uin_of.get(own), key_names.get(case.decided_by_id, '?'))]
        replaces = None
        for sequence, row in enumerate(rows, start=1):
            replaces = connection.execute(decisions.insert().values(
                case_id=case.id, sequence=sequence, replaces_id=replaces, **row)
            ).inserted_primary_key[0]  # type: ignore[index]  # None only for a statement that is no INSERT


def _agrees(history: list[sa.Row[Any]], case: sa.Row[Any]) -> bool:
    """The audit events tell this case's whole story: one first decision, changes, ending at the row's."""
    return (bool(history) and history[0].action == 'case.decided'
            and all(e.action == 'case.decision_changed' and isinstance((e.detail or {}).get('superseded'), dict)
                    and e.detail['superseded'].get('decision') in OUTCOMES for e in history[1:])
            and (history[-1].detail or {}).get('decision') == case.decision)


def _earlier(event: sa.Row[Any], superseded: dict[str, Any], identity_of: dict[str | None, int],
             key_names: dict[int, str]) -> dict[str, Any]:
    """A decision later replaced: what the replacing event kept of it, who made it from its own event."""
    uin = (event.detail or {}).get('uin', superseded.get('uin'))
    outcome = superseded['decision']
    return {'outcome': outcome, 'uin': uin, 'duplicate_of_id': identity_of.get(uin) if outcome == 'duplicate' else None,
            'comment': superseded.get('comment') or '',
            'decided_by_id': event.actor_id if event.actor_id in key_names else None,
            'decided_by_name': event.actor_name,
            'decided_at': _parse(superseded.get('decided_at')) or _utc(event.occurred_at)}


def _in_force(case: sa.Row[Any], uin: str | None, decided_by_name: str) -> dict[str, Any]:
    """The decision on the case row."""
    return {'outcome': case.decision, 'uin': uin, 'duplicate_of_id': case.duplicate_of_id,
            'comment': case.comment or '', 'decided_by_id': case.decided_by_id, 'decided_by_name': decided_by_name,
            'decided_at': _utc(case.decided_at) or datetime.now(timezone.utc)}


def _parse(text: object) -> datetime | None:
    try:
        return _utc(datetime.fromisoformat(str(text))) if text else None
    except ValueError:
        return None


def _utc(moment: datetime | None) -> datetime | None:
    """Stored times are UTC; SQLite hands them back without their zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
