"""openid back-channel logout: clients' backchannel_logout_uri, the outbox of logout tokens to deliver, and
the login session a re-authentication replaced

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 10:00:00

Existing clients get no back-channel logout URI (nothing is sent to them) and
``backchannel_logout_session_required`` false.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaced_by_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_login_sessions_replaced_by_id'), ['replaced_by_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_login_sessions_replaced_by_id_login_sessions'), 'login_sessions',
                                    ['replaced_by_id'], ['id'])

    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backchannel_logout_uri', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('backchannel_logout_session_required', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    op.create_table('oidc_backchannel_logouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login_session_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['login_session_id'], ['login_sessions.id'],
                            name=op.f('fk_oidc_backchannel_logouts_login_session_id_login_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_backchannel_logouts')),
    sa.UniqueConstraint('login_session_id', 'client_id', name='uq_oidc_backchannel_logouts_session_client')
    )
    with op.batch_alter_table('oidc_backchannel_logouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_backchannel_logouts_login_session_id'), ['login_session_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_backchannel_logouts_next_attempt_at'), ['next_attempt_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('oidc_backchannel_logouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_backchannel_logouts_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_oidc_backchannel_logouts_login_session_id'))
    op.drop_table('oidc_backchannel_logouts')
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.drop_column('backchannel_logout_session_required')
        batch_op.drop_column('backchannel_logout_uri')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_login_sessions_replaced_by_id_login_sessions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_login_sessions_replaced_by_id'))
        batch_op.drop_column('replaced_by_id')
