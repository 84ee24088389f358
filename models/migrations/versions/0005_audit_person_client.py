"""audit events: person (UIN) and client_id columns for auditors' queries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 06:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('client_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_events_person'), ['person'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_client_id'), ['client_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_client_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_person'))
        batch_op.drop_column('client_id')
        batch_op.drop_column('person')
