"""kyc: identity documents, attestations, data releases

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 05:54:07.941288
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('data_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('claims', sa.JSON(), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('consent_uid', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_data_releases_identity_id_identities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_releases'))
    )
    with op.batch_alter_table('data_releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_releases_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_releases_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_releases_released_at'), ['released_at'], unique=False)

    op.create_table('identity_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('number_key_id', sa.String(length=32), nullable=False),
    sa.Column('number_nonce', sa.LargeBinary(length=12), nullable=False),
    sa.Column('number_ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('number_last4', sa.String(length=8), nullable=False),
    sa.Column('issuer_name', sa.String(length=200), nullable=False),
    sa.Column('issuer_country', sa.String(length=3), nullable=False),
    sa.Column('date_of_issuance', sa.Date(), nullable=True),
    sa.Column('date_of_expiry', sa.Date(), nullable=True),
    sa.Column('check_methods', sa.JSON(), nullable=False),
    sa.Column('checked_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checked_by_id'], ['api_keys.id'], name=op.f('fk_identity_documents_checked_by_id_api_keys')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_identity_documents_enrolment_id_enrolments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_documents')),
    sa.UniqueConstraint('enrolment_id', 'position', name='uq_identity_documents_enrolment_position')
    )
    with op.batch_alter_table('identity_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_documents_enrolment_id'), ['enrolment_id'], unique=False)

    op.create_table('kyc_attestations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('claims', sa.JSON(), nullable=False),
    sa.Column('trust_framework', sa.String(length=100), nullable=False),
    sa.Column('assurance_level', sa.String(length=32), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_list', sa.Integer(), nullable=False),
    sa.Column('status_index', sa.Integer(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=200), nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['grant_id'], ['oidc_grants.id'], name=op.f('fk_kyc_attestations_grant_id_oidc_grants')),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_kyc_attestations_identity_id_identities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kyc_attestations')),
    sa.UniqueConstraint('status_list', 'status_index', name='uq_kyc_attestations_status_slot'),
    sa.UniqueConstraint('uid', name=op.f('uq_kyc_attestations_uid'))
    )
    with op.batch_alter_table('kyc_attestations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kyc_attestations_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kyc_attestations_identity_id'), ['identity_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('kyc_attestations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kyc_attestations_identity_id'))
        batch_op.drop_index(batch_op.f('ix_kyc_attestations_client_id'))

    op.drop_table('kyc_attestations')
    with op.batch_alter_table('identity_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_documents_enrolment_id'))

    op.drop_table('identity_documents')
    with op.batch_alter_table('data_releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_releases_released_at'))
        batch_op.drop_index(batch_op.f('ix_data_releases_identity_id'))
        batch_op.drop_index(batch_op.f('ix_data_releases_client_id'))

    op.drop_table('data_releases')

