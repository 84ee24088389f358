"""printed ID cards: the number on each card, what it prints, its status slot and what became of it

Revision ID: 0043
Revises: 0041
Create Date: 2026-12-07 15:30:00

``id_cards`` (models/id_card.py): one row per card, at most one ``active`` per identity (partial unique index,
SQLite and PostgreSQL), its revocation bit in ``credential_statuses`` (one each), the QR text and the identifier
printed sealed under the template key ring.
"""

from alembic import op
import sqlalchemy as sa


revision = '0043'
down_revision = '0041'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'id_cards',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=10), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=False),
        sa.Column('identifier_kind', sa.String(length=8), nullable=False),
        sa.Column('virtual_id_id', sa.Integer(), nullable=True),
        sa.Column('status_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('issued_by', sa.String(length=100), nullable=False),
        sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('replaced_by', sa.Integer(), nullable=True),
        sa.Column('sealed_key_id', sa.String(length=32), nullable=False),
        sa.Column('sealed_nonce', sa.LargeBinary(length=12), nullable=False),
        sa.Column('sealed_ciphertext', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_id_cards_identity_id_identities')),
        sa.ForeignKeyConstraint(
            ['virtual_id_id'], ['virtual_ids.id'], name=op.f('fk_id_cards_virtual_id_id_virtual_ids')
        ),
        sa.ForeignKeyConstraint(
            ['status_id'], ['credential_statuses.id'], name=op.f('fk_id_cards_status_id_credential_statuses')
        ),
        sa.ForeignKeyConstraint(['replaced_by'], ['id_cards.id'], name=op.f('fk_id_cards_replaced_by_id_cards')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_id_cards')),
        sa.UniqueConstraint('number', name=op.f('uq_id_cards_number')),
        sa.UniqueConstraint('status_id', name=op.f('uq_id_cards_status_id')),
    )
    with op.batch_alter_table('id_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_id_cards_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(
            'uq_id_cards_one_active',
            ['identity_id'],
            unique=True,
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )


def downgrade() -> None:
    op.drop_table('id_cards')
