"""a resident's locks on their authentication methods (face, passkey, officer verification), with temporary unlock

Revision ID: 0032
Revises: 0033
Create Date: 2026-12-03 16:00:00

``auth_method_locks``: one row per identity and method once the resident changed it; no row is unlocked.
"""

from alembic import op
import sqlalchemy as sa


revision = '0032'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'auth_method_locks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=32), nullable=False),
        sa.Column('locked', sa.Boolean(), nullable=False),
        sa.Column('unlocked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ['identity_id'], ['identities.id'], name=op.f('fk_auth_method_locks_identity_id_identities')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_method_locks')),
        sa.UniqueConstraint('identity_id', 'method', name=op.f('uq_auth_method_locks_identity_id')),
    )
    with op.batch_alter_table('auth_method_locks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_method_locks_identity_id'), ['identity_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('auth_method_locks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_method_locks_identity_id'))
    op.drop_table('auth_method_locks')
