"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 21:54:46.871656
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('actor_role', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_events_hash'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_subject_id'), ['subject_id'], unique=False)

    op.create_table('identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uin', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identities')),
    sa.UniqueConstraint('uin', name=op.f('uq_identities_uin'))
    )
    op.create_table('enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('middle_names', sa.String(length=100), nullable=True),
    sa.Column('family_name', sa.String(length=100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('place_of_birth', sa.String(length=200), nullable=False),
    sa.Column('nationality', sa.String(length=3), nullable=False),
    sa.Column('address', sa.JSON(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('quality', sa.JSON(), nullable=False),
    sa.Column('rejection_reasons', sa.JSON(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_enrolments_identity_id_identities')),
    sa.ForeignKeyConstraint(['officer_id'], ['api_keys.id'], name=op.f('fk_enrolments_officer_id_api_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolments')),
    sa.UniqueConstraint('officer_id', 'idempotency_key', name='uq_enrolments_officer_idempotency'),
    sa.UniqueConstraint('public_id', name=op.f('uq_enrolments_public_id'))
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolments_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrolments_status'), ['status'], unique=False)

    op.create_table('dedup_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['api_keys.id'], name=op.f('fk_dedup_cases_decided_by_id_api_keys')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['identities.id'], name=op.f('fk_dedup_cases_duplicate_of_id_identities')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_dedup_cases_enrolment_id_enrolments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dedup_cases')),
    sa.UniqueConstraint('enrolment_id', name=op.f('uq_dedup_cases_enrolment_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_dedup_cases_public_id'))
    )
    with op.batch_alter_table('dedup_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dedup_cases_status'), ['status'], unique=False)

    op.create_table('face_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('photo_index', sa.Integer(), nullable=False),
    sa.Column('in_gallery', sa.Boolean(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=12), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('quality_score', sa.Double(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_face_templates_enrolment_id_enrolments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_face_templates')),
    sa.UniqueConstraint('enrolment_id', 'photo_index', name='uq_face_templates_enrolment_photo')
    )
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_face_templates_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_face_templates_in_gallery'), ['in_gallery'], unique=False)

    op.create_table('photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('photo_index', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=12), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_photos_enrolment_id_enrolments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photos')),
    sa.UniqueConstraint('enrolment_id', 'photo_index', name='uq_photos_enrolment_photo')
    )
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photos_enrolment_id'), ['enrolment_id'], unique=False)

    op.create_table('case_candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('face_score', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['dedup_cases.id'], name=op.f('fk_case_candidates_case_id_dedup_cases')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_case_candidates_enrolment_id_enrolments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_candidates'))
    )
    with op.batch_alter_table('case_candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_candidates_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('case_candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_candidates_case_id'))

    op.drop_table('case_candidates')
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photos_enrolment_id'))

    op.drop_table('photos')
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_face_templates_in_gallery'))
        batch_op.drop_index(batch_op.f('ix_face_templates_enrolment_id'))

    op.drop_table('face_templates')
    with op.batch_alter_table('dedup_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dedup_cases_status'))

    op.drop_table('dedup_cases')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolments_status'))
        batch_op.drop_index(batch_op.f('ix_enrolments_identity_id'))

    op.drop_table('enrolments')
    op.drop_table('identities')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_subject_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    op.drop_table('api_keys')
