"""batch records: the digest of the package's person.json as parsed, to recognise a re-exported drive

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 23:30:00

Records created before this revision keep NULL: their re-exports are judged by deduplication as before.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('batch_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_sha256', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_batch_records_person_sha256'), ['person_sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('batch_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_records_person_sha256'))
        batch_op.drop_column('person_sha256')
