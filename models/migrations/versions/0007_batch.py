"""batch registration drives: batch_jobs and batch_records (resumable per-person outcomes)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 07:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('batch_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('officer_name', sa.String(length=100), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('archive_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('runner', sa.String(length=100), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['officer_id'], ['api_keys.id'], name=op.f('fk_batch_jobs_officer_id_api_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_jobs')),
    sa.UniqueConstraint('public_id', name=op.f('uq_batch_jobs_public_id'))
    )
    with op.batch_alter_table('batch_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_jobs_officer_id'), ['officer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_jobs_archive_sha256'), ['archive_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_jobs_status'), ['status'], unique=False)
    op.create_table('batch_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('package', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('enrolment_public_id', sa.String(length=36), nullable=True),
    sa.Column('uin', sa.String(length=16), nullable=True),
    sa.Column('case_public_id', sa.String(length=36), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batch_jobs.id'], name=op.f('fk_batch_records_batch_id_batch_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_records')),
    sa.UniqueConstraint('batch_id', 'package', name='uq_batch_records_batch_package')
    )
    with op.batch_alter_table('batch_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_records_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_records_status'), ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('batch_records')
    op.drop_table('batch_jobs')
