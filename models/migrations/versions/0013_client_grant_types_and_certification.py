"""openid clients: registered grant types

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-01 23:20:00

Existing clients keep today's behaviour: both grants (authorization_code and refresh_token).
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0010'
branch_labels = None
depends_on = None

BOTH_GRANTS = '["authorization_code", "refresh_token"]'


def upgrade() -> None:
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grant_types', sa.JSON(), nullable=False,
                                      server_default=sa.text(f"'{BOTH_GRANTS}'")))


def downgrade() -> None:
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.drop_column('grant_types')
