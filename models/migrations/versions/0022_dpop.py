"""dpop: sender-constrained tokens (RFC 9449)

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-02 16:10:00

``oidc_clients.require_dpop`` (RFC 9449 §5.2 ``dpop_bound_access_tokens``: the client's token requests must
carry a DPoP proof; false for every existing client), ``authorization_codes.dpop_jkt`` (RFC 9449 §10: the key a
code must be redeemed with), ``refresh_tokens.dpop_jkt`` (the key a refresh-token family is bound to), and
``oidc_dpop_proofs``, the proofs' ``jti`` values (hashed with their key's thumbprint) remembered while a proof
could still be accepted, so that a replay is refused by every process sharing the database.
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_dpop', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=43), nullable=True))
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=43), nullable=True))
    op.create_table('oidc_dpop_proofs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proof_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_dpop_proofs')),
    sa.UniqueConstraint('proof_hash', name=op.f('uq_oidc_dpop_proofs_proof_hash'))
    )
    with op.batch_alter_table('oidc_dpop_proofs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_dpop_proofs_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('oidc_dpop_proofs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_dpop_proofs_expires_at'))
    op.drop_table('oidc_dpop_proofs')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.drop_column('require_dpop')
