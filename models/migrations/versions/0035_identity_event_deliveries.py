"""Security Event Tokens to relying parties: a client's identity_events_uri and the delivery outbox

Revision ID: 0035
Revises: 0032
Create Date: 2026-12-03 16:10:00

``clients.identity_events_uri`` (nullable) and ``identity_event_deliveries`` (idp.identity_events).
"""

from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity_events_uri', sa.String(length=2000), nullable=True))
    op.create_table(
        'identity_event_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('jti', sa.String(length=64), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=False),
        sa.Column('event_type', sa.String(length=200), nullable=False),
        sa.Column('claims', sa.JSON(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['identity_id'], ['identities.id'], name=op.f('fk_identity_event_deliveries_identity_id_identities')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_event_deliveries')),
        sa.UniqueConstraint('jti', name=op.f('uq_identity_event_deliveries_jti')),
    )
    with op.batch_alter_table('identity_event_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_event_deliveries_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_event_deliveries_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_identity_event_deliveries_next_attempt_at'), ['next_attempt_at'], unique=False
        )


def downgrade() -> None:
    op.drop_table('identity_event_deliveries')
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.drop_column('identity_events_uri')
