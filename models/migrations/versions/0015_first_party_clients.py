"""first-party clients: civid's own officer console is not put through the consent page

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 23:30:00

Existing clients are not first-party; the console's own registration (``registered_by = 'civid:console'``)
becomes first-party, so staff signing in after the upgrade are no longer asked to consent to it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_party', sa.Boolean(), nullable=False, server_default=sa.false()))
    clients = sa.table('oidc_clients', sa.column('first_party', sa.Boolean), sa.column('registered_by', sa.String))
    op.execute(clients.update().where(clients.c.registered_by == 'civid:console').values(first_party=True))


def downgrade() -> None:
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.drop_column('first_party')
