"""every version of an identity's record (demographics), with its evidence, proposer and approver

Revision ID: 0033
Revises: 0030
Create Date: 2026-12-03 15:40:00

``identity_record_versions``: one row per version of an identity's demographics, never deleted; at most one
``pending`` per identity (partial unique index, SQLite and PostgreSQL). No backfill: version 1 (the record as
enrolled) is written when a record is first updated, from the issued enrolment's columns, which it leaves alone.
"""

from alembic import op
import sqlalchemy as sa


revision = '0033'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'identity_record_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('given_name', sa.String(length=100), nullable=False),
        sa.Column('middle_names', sa.String(length=100), nullable=True),
        sa.Column('family_name', sa.String(length=100), nullable=False),
        sa.Column('date_of_birth', sa.Date(), nullable=False),
        sa.Column('sex', sa.String(length=1), nullable=False),
        sa.Column('address', sa.JSON(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('evidence_type', sa.String(length=32), nullable=True),
        sa.Column('evidence_issuer_name', sa.String(length=200), nullable=True),
        sa.Column('evidence_issuer_country', sa.String(length=3), nullable=True),
        sa.Column('evidence_date_of_issuance', sa.Date(), nullable=True),
        sa.Column('evidence_check_methods', sa.JSON(), nullable=True),
        sa.Column('evidence_number_key_id', sa.String(length=32), nullable=True),
        sa.Column('evidence_number_nonce', sa.LargeBinary(length=12), nullable=True),
        sa.Column('evidence_number_ciphertext', sa.LargeBinary(), nullable=True),
        sa.Column('evidence_number_last4', sa.String(length=8), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_by_name', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_by_name', sa.String(length=100), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['api_keys.id'], name=op.f('fk_identity_record_versions_created_by_id_api_keys')
        ),
        sa.ForeignKeyConstraint(
            ['decided_by_id'], ['api_keys.id'], name=op.f('fk_identity_record_versions_decided_by_id_api_keys')
        ),
        sa.ForeignKeyConstraint(
            ['identity_id'], ['identities.id'], name=op.f('fk_identity_record_versions_identity_id_identities')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_record_versions')),
        sa.UniqueConstraint('identity_id', 'version', name='uq_identity_record_versions_identity_version'),
    )
    with op.batch_alter_table('identity_record_versions', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_identity_record_versions_identity_id'), ['identity_id'], unique=False
        )
        batch_op.create_index(
            'uq_identity_record_versions_one_pending',
            ['identity_id'],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    with op.batch_alter_table('identity_record_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_identity_record_versions_one_pending')
        batch_op.drop_index(batch_op.f('ix_identity_record_versions_identity_id'))
    op.drop_table('identity_record_versions')
