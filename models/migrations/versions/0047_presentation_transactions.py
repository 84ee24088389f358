"""Presentation transactions: what a relying party asked a wallet to present through civid (OpenID4VP)

Revision ID: 0047
Revises: 0045
Create Date: 2026-12-07 15:20:00

``presentation_transactions`` (models/presentation.py): one OpenID4VP request (DCQL query, nonce, state) and its
single-use outcome (pending, verified with the disclosed claims, or failed with a reason).
"""

from alembic import op
import sqlalchemy as sa


revision = '0047'
down_revision = '0045'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'presentation_transactions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uid', sa.String(length=43), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('request_handle', sa.String(length=43), nullable=False),
        sa.Column('state', sa.String(length=43), nullable=False),
        sa.Column('nonce', sa.String(length=43), nullable=False),
        sa.Column('dcql_query', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('request_fetched_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('failure_reason', sa.String(length=300), nullable=True),
        sa.Column('credential_status_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['credential_status_id'],
            ['credential_statuses.id'],
            name=op.f('fk_presentation_transactions_credential_status_id_credential_statuses'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_presentation_transactions')),
        sa.UniqueConstraint('uid', name=op.f('uq_presentation_transactions_uid')),
        sa.UniqueConstraint('request_handle', name=op.f('uq_presentation_transactions_request_handle')),
        sa.UniqueConstraint('state', name=op.f('uq_presentation_transactions_state')),
    )
    with op.batch_alter_table('presentation_transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_presentation_transactions_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_presentation_transactions_status'), ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('presentation_transactions')
