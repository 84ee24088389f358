"""openid clients: registered grant types, nonce instead of PKCE, sector_identifier_uri

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01 23:20:00

Existing clients keep today's behaviour: both grants (authorization_code and refresh_token), PKCE required,
no sector_identifier_uri. An authorization code may have no PKCE challenge (a client allowed nonce instead).
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None

BOTH_GRANTS = '["authorization_code", "refresh_token"]'


def upgrade() -> None:
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grant_types', sa.JSON(), nullable=False,
                                      server_default=sa.text(f"'{BOTH_GRANTS}'")))
        batch_op.add_column(sa.Column('require_pkce', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('sector_identifier_uri', sa.String(length=2000), nullable=True))
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.alter_column('code_challenge', existing_type=sa.String(length=128), nullable=True)


def downgrade() -> None:
    # Codes without a challenge cannot exist before 0013; they live 60 s, so dropping them loses nothing.
    op.execute("DELETE FROM authorization_codes WHERE code_challenge IS NULL")
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.alter_column('code_challenge', existing_type=sa.String(length=128), nullable=False)
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.drop_column('sector_identifier_uri')
        batch_op.drop_column('require_pkce')
        batch_op.drop_column('grant_types')
