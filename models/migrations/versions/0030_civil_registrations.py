"""vital events from the civil registry: births (pending a desk enrolment) and deaths, once per registration

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-03 11:30:00

``civil_registrations``: one row per registration number (unique), so a registry's resend is answered with
what the first delivery did; a birth row is linked to the child's identity once enrolled.
"""

from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'civil_registrations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registration_number', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('source_format', sa.String(length=8), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('tracking_id', sa.String(length=64), nullable=True),
        sa.Column('event_date', sa.Date(), nullable=True),
        sa.Column('person', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('linked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['identity_id'], ['identities.id'], name=op.f('fk_civil_registrations_identity_id_identities')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_civil_registrations')),
        sa.UniqueConstraint('registration_number', name=op.f('uq_civil_registrations_registration_number')),
    )
    with op.batch_alter_table('civil_registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_civil_registrations_identity_id'), ['identity_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('civil_registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_civil_registrations_identity_id'))
    op.drop_table('civil_registrations')
