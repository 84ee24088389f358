"""fingerprints: finger templates, per-finger enrolment reports, fused case scores

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 01:40:04.605999
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('finger_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('nfiq2', sa.Integer(), nullable=True),
    sa.Column('minutiae_count', sa.Integer(), nullable=False),
    sa.Column('in_gallery', sa.Boolean(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=12), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('features_nonce', sa.LargeBinary(length=12), nullable=False),
    sa.Column('features_ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_finger_templates_enrolment_id_enrolments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finger_templates')),
    sa.UniqueConstraint('enrolment_id', 'position', name='uq_finger_templates_enrolment_position')
    )
    with op.batch_alter_table('finger_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finger_templates_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finger_templates_in_gallery'), ['in_gallery'], unique=False)

    with op.batch_alter_table('case_candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('finger_scores', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('fused_llr', sa.Float(), nullable=True))

    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fingerprints', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('dedup_modalities', sa.JSON(), nullable=True))




def downgrade() -> None:
    
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_column('dedup_modalities')
        batch_op.drop_column('fingerprints')

    with op.batch_alter_table('case_candidates', schema=None) as batch_op:
        batch_op.drop_column('fused_llr')
        batch_op.drop_column('finger_scores')

    with op.batch_alter_table('finger_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finger_templates_in_gallery'))
        batch_op.drop_index(batch_op.f('ix_finger_templates_enrolment_id'))

    op.drop_table('finger_templates')

