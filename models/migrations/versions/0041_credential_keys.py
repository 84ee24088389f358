"""Credential signing keys: a purpose for each signing key

Revision ID: 0041
Revises: 0039
Create Date: 2026-12-07 15:00:00

``signing_keys.purpose``: ``oidc`` (ID tokens, access tokens, attestations: every key stored before) or
``credential`` (what a citizen carries: the ID card's Claim 169 QR and wallet credentials, credentials/). The two
rotate and are published apart, so a card valid ten years never keeps an OpenID key published that long.
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


def downgrade() -> None:
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_keys_purpose'))
        batch_op.drop_column('purpose')
