"""MOSIP ABIS: the references MOSIP inserts (abis_references) and their sealed templates (abis_templates)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 06:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('abis_references',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference_id', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_abis_references')),
    sa.UniqueConstraint('reference_id', name=op.f('uq_abis_references_reference_id'))
    )
    op.create_table('abis_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference_pk', sa.Integer(), nullable=False),
    sa.Column('modality', sa.String(length=8), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=12), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('features_nonce', sa.LargeBinary(length=12), nullable=True),
    sa.Column('features_ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reference_pk'], ['abis_references.id'], name=op.f('fk_abis_templates_reference_pk_abis_references'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_abis_templates'))
    )
    with op.batch_alter_table('abis_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_abis_templates_reference_pk'), ['reference_pk'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('abis_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_abis_templates_reference_pk'))
    op.drop_table('abis_templates')
    op.drop_table('abis_references')
