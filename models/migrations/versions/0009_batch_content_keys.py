"""batch records: the enrolment idempotency key, from the package's content

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 08:30:00

Records created before this revision keep NULL and the key they were enrolled under,
``batch:<batch id>:<package>`` (console.batch_jobs.idempotency_key), so a batch interrupted across the
upgrade resumes without enrolling anyone twice.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('batch_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('batch_records', schema=None) as batch_op:
        batch_op.drop_column('idempotency_key')
