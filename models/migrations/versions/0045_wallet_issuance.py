"""Wallet issuance (OpenID4VCI): credential offers with a pre-authorized code, nonces, issued wallet credentials

Revision ID: 0045
Revises: 0043
Create Date: 2026-12-07 15:20:00

``wallet_offers``, ``wallet_nonces``, ``wallet_credentials`` (models/wallet.py): an officer's credential offer for one
identity (its pre-authorized code, transaction code and access token stored only as hashes), the ``c_nonce`` values
a wallet's key proofs carry (each accepted once), and each SD-JWT VC issued (claim names, holder key thumbprint,
status-list slot; never claim values).
"""

from alembic import op
import sqlalchemy as sa


revision = '0045'
down_revision = '0043'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'wallet_nonces',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_nonces')),
        sa.UniqueConstraint('value', name=op.f('uq_wallet_nonces_value')),
    )
    with op.batch_alter_table('wallet_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_nonces_expires_at'), ['expires_at'], unique=False)
    op.create_table(
        'wallet_offers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('tx_code_hash', sa.String(length=64), nullable=False),
        sa.Column('failed_attempts', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('access_token_hash', sa.String(length=64), nullable=True),
        sa.Column('access_token_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('credential_issued_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_wallet_offers_identity_id_identities')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_offers')),
        sa.UniqueConstraint('access_token_hash', name=op.f('uq_wallet_offers_access_token_hash')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_wallet_offers_code_hash')),
    )
    with op.batch_alter_table('wallet_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_offers_identity_id'), ['identity_id'], unique=False)
    op.create_table(
        'wallet_credentials',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=False),
        sa.Column('status_id', sa.Integer(), nullable=False),
        sa.Column('vct', sa.String(length=200), nullable=False),
        sa.Column('flow', sa.String(length=32), nullable=False),
        sa.Column('offer_id', sa.Integer(), nullable=True),
        sa.Column('client_id', sa.String(length=64), nullable=True),
        sa.Column('holder_jkt', sa.String(length=64), nullable=False),
        sa.Column('claims', sa.JSON(), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['identity_id'], ['identities.id'], name=op.f('fk_wallet_credentials_identity_id_identities')
        ),
        sa.ForeignKeyConstraint(['offer_id'], ['wallet_offers.id'], name=op.f('fk_wallet_credentials_offer_id_wallet_offers')),
        sa.ForeignKeyConstraint(
            ['status_id'], ['credential_statuses.id'], name=op.f('fk_wallet_credentials_status_id_credential_statuses')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_credentials')),
        sa.UniqueConstraint('status_id', name=op.f('uq_wallet_credentials_status_id')),
    )
    with op.batch_alter_table('wallet_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_credentials_identity_id'), ['identity_id'], unique=False)


def downgrade() -> None:
    op.drop_table('wallet_credentials')
    op.drop_table('wallet_offers')
    op.drop_table('wallet_nonces')
