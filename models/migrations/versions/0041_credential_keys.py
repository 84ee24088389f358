"""Credentials: a purpose for each signing key, and the status of each credential civid issued

Revision ID: 0041
Revises: 0039
Create Date: 2026-12-07 15:00:00

``signing_keys.purpose``: ``oidc`` (ID tokens, access tokens, attestations: every key stored before) or
``credential`` (what a citizen carries: the ID card's Claim 169 QR and wallet credentials, credentials/). The two
rotate and are published apart, so a card valid ten years never keeps an OpenID key published that long.
``credential_statuses`` (models/credential.py): each ID card's or wallet credential's slot in a status list.
"""

from alembic import op
import sqlalchemy as sa


revision = '0041'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=16), nullable=False, server_default='oidc'))
        batch_op.create_index(batch_op.f('ix_signing_keys_purpose'), ['purpose'], unique=False)
    op.create_table(
        'credential_statuses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('list_number', sa.Integer(), nullable=False),
        sa.Column('list_index', sa.Integer(), nullable=False),
        sa.Column('claims', sa.JSON(), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_reason', sa.String(length=200), nullable=True),
        sa.Column('revoked_by', sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ['identity_id'], ['identities.id'], name=op.f('fk_credential_statuses_identity_id_identities')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_statuses')),
        sa.UniqueConstraint('list_number', 'list_index', name='uq_credential_statuses_slot'),
    )
    with op.batch_alter_table('credential_statuses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_statuses_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credential_statuses_list_number'), ['list_number'], unique=False)


def downgrade() -> None:
    op.drop_table('credential_statuses')
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_keys_purpose'))
        batch_op.drop_column('purpose')
