"""Virtual IDs: revocable 16-digit numbers a resident gives instead of the UIN

Revision ID: 0037
Revises: 0035
Create Date: 2026-12-04 19:00:00

``virtual_ids`` (models/virtual_id.py, civid/vid.py): the VID's keyed digest (never the VID), its last four
digits, kind, expiry, use and revocation.
"""

from alembic import op
import sqlalchemy as sa


revision = '0037'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'virtual_ids',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('last4', sa.String(length=4), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_reason', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_virtual_ids_identity_id_identities')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_virtual_ids')),
        sa.UniqueConstraint('digest', name=op.f('uq_virtual_ids_digest')),
    )
    with op.batch_alter_table('virtual_ids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_virtual_ids_identity_id'), ['identity_id'], unique=False)


def downgrade() -> None:
    op.drop_table('virtual_ids')
