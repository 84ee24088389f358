"""dedup_jobs: the deduplication queue (one job per accepted enrolment, leased by workers)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 06:00:00

Enrolments stored before this revision were deduplicated inside the global dedup lock and are all decided: they
get no job. From here an accepted enrolment is stored as ``pending_dedup`` with its templates and a job, and a
worker (or the registration process itself) decides it (models/dedup_job.py).
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dedup_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enrolment_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('worker', sa.String(length=120), nullable=True),
        sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('deferred_matches', sa.JSON(), nullable=False),
        sa.Column('search_s', sa.Double(), nullable=True),
        sa.Column('lock_wait_s', sa.Double(), nullable=True),
        sa.Column('cpu_s', sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_dedup_jobs_enrolment_id_enrolments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dedup_jobs')),
        sa.UniqueConstraint('enrolment_id', name=op.f('uq_dedup_jobs_enrolment_id')),
    )
    with op.batch_alter_table('dedup_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dedup_jobs_status'), ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('dedup_jobs')
