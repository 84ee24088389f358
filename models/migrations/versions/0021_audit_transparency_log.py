"""The audit trail becomes a transparency log: a Merkle tree over the events, and signed checkpoints.

Adds ``audit_events.leaf_index`` (the event's place in the log, set by the sequencer; the chain's ``prev_hash``
and ``hash`` become nullable, set by the sequencer too), ``audit_tree_nodes`` (the hash of every complete
subtree) and ``audit_checkpoints``. The existing events become the log's first leaves in id order — the order
the chain links them — with their chain hashes kept as they are, so ``civid audit verify`` still checks them.
The leaf format is frozen here as ``civid.audit.leaf_data`` writes it (the migration must not follow later
changes of the code).

Downgrade drops the tree and the checkpoints and re-links the chain in id order where the sequencer's order
differed (PostgreSQL sequences in commit order), since the older code walks the chain by id.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import hashlib
import json
from datetime import timezone
from typing import Any

from alembic import op
import sqlalchemy as sa

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

GENESIS = '0' * 64
WHEN = sa.DateTime(timezone=True)
CHUNK = 1000

events = sa.table('audit_events', sa.column('id', sa.Integer), sa.column('occurred_at', WHEN),
                  sa.column('actor_id', sa.Integer), sa.column('actor_name', sa.String),
                  sa.column('actor_role', sa.String), sa.column('action', sa.String),
                  sa.column('subject_type', sa.String), sa.column('subject_id', sa.String),
                  sa.column('person', sa.String), sa.column('client_id', sa.String),
                  sa.column('detail', sa.JSON), sa.column('prev_hash', sa.String), sa.column('hash', sa.String),
                  sa.column('leaf_index', sa.BigInteger))
nodes = sa.table('audit_tree_nodes', sa.column('level', sa.SmallInteger), sa.column('position', sa.BigInteger),
                 sa.column('hash', sa.LargeBinary))


def upgrade() -> None:
    with op.batch_alter_table('audit_events') as batch:
        batch.add_column(sa.Column('leaf_index', sa.BigInteger(), nullable=True))
        batch.create_unique_constraint('uq_audit_events_leaf_index', ['leaf_index'])
        batch.alter_column('prev_hash', existing_type=sa.String(64), nullable=True)
        batch.alter_column('hash', existing_type=sa.String(64), nullable=True)
    op.create_table(
        'audit_tree_nodes',
        sa.Column('level', sa.SmallInteger(), nullable=False, autoincrement=False),
        sa.Column('position', sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column('hash', sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint('level', 'position', name='pk_audit_tree_nodes'),
    )
    op.create_table(
        'audit_checkpoints',
        sa.Column('tree_size', sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column('root_hash', sa.LargeBinary(32), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('signed_at', WHEN, nullable=False),
        sa.PrimaryKeyConstraint('tree_size', name='pk_audit_checkpoints'),
    )
    _existing_events_become_leaves(op.get_bind())


def _existing_events_become_leaves(connection: sa.Connection) -> None:
    level: list[bytes] = []
    for row in connection.execute(sa.select(events).order_by(events.c.id)):
        level.append(hashlib.sha256(b'\x00' + _leaf_data(row)).digest())
        connection.execute(events.update().where(events.c.id == row.id).values(leaf_index=len(level) - 1))
    height = 0
    while level:
        for start in range(0, len(level), CHUNK):
            connection.execute(nodes.insert(), [{'level': height, 'position': start + i, 'hash': value}
                                                for i, value in enumerate(level[start:start + CHUNK])])
        # Only complete subtrees are stored: an odd last node waits for the leaves that will complete it.
        level = [hashlib.sha256(b'\x01' + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        height += 1


def _content(row: Any) -> dict[str, Any]:
    """civid.audit._content, frozen."""
    moment = row.occurred_at
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    content = {'occurred_at': moment.isoformat(), 'actor': [row.actor_id, row.actor_name, row.actor_role],
               'action': row.action, 'subject': [row.subject_type, row.subject_id], 'detail': row.detail}
    if row.person is not None:
        content['person'] = row.person
    if row.client_id is not None:
        content['client_id'] = row.client_id
    return content


def _canonical(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(',', ':'), default=str)


def _leaf_data(row: Any) -> bytes:
    """civid.audit.leaf_data, frozen."""
    return _canonical({'id': row.id, **_content(row)}).encode()


def downgrade() -> None:
    connection = op.get_bind()
    previous = GENESIS
    for row in connection.execute(sa.select(events).order_by(events.c.id)).all():
        link = hashlib.sha256((previous + _canonical(_content(row))).encode()).hexdigest()
        if (row.prev_hash, row.hash) != (previous, link):
            connection.execute(events.update().where(events.c.id == row.id).values(prev_hash=previous, hash=link))
        previous = link
    op.drop_table('audit_checkpoints')
    op.drop_table('audit_tree_nodes')
    with op.batch_alter_table('audit_events') as batch:
        batch.drop_constraint('uq_audit_events_leaf_index', type_='unique')
        batch.drop_column('leaf_index')
        batch.alter_column('prev_hash', existing_type=sa.String(64), nullable=False)
        batch.alter_column('hash', existing_type=sa.String(64), nullable=False)
