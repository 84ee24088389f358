"""enrolments: the digest of the request stored with its Idempotency-Key

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:30:00

A replay under a key whose stored digest differs is refused (422). Enrolments stored before this revision
get no digest (NULL): nothing records what their request was, so their keys keep replaying the stored result
as before, rather than refusing a client that retries a request sent just before the upgrade.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_digest', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode's copy of the table: dropping the old
    # enrolments table would break the foreign keys of every template, case and document row that names it.
    op.drop_column('enrolments', 'request_digest')
