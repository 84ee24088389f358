"""the history of an identity's status (suspended, deactivated, reactivated: who, when, why, evidence)

Revision ID: 0027
Revises: 0023
Create Date: 2026-12-02 22:15:00

``identity_status_changes``: one row per transition, never updated. ``identities.status`` keeps the current
status (``active``, ``suspended``, ``deactivated``, or ``merged`` from a case decision); existing identities
need no rows: a status never changed has no history.
"""

from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'identity_status_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=False),
        sa.Column('transition', sa.String(length=16), nullable=False),
        sa.Column('from_status', sa.String(length=16), nullable=False),
        sa.Column('to_status', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('evidence_reference', sa.String(length=200), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('actor_key_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.String(length=100), nullable=False),
        sa.Column('actor_role', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['actor_key_id'], ['api_keys.id'], name=op.f('fk_identity_status_changes_actor_key_id_api_keys')
        ),
        sa.ForeignKeyConstraint(
            ['identity_id'], ['identities.id'], name=op.f('fk_identity_status_changes_identity_id_identities')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_status_changes')),
    )
    with op.batch_alter_table('identity_status_changes', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_identity_status_changes_identity_id'), ['identity_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('identity_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_status_changes_identity_id'))
    op.drop_table('identity_status_changes')
