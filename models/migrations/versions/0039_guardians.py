"""Children and guardians: the guardianship link, and an enrolment's guardian and deferred fingers

Revision ID: 0039
Revises: 0037
Create Date: 2026-12-04 19:30:00

``guardianships`` (models/guardianship.py): an adult identity who may act for a child's identity until the
child's age of majority. ``enrolments.guardian_identity_id`` / ``guardian_relationship``: the guardian verified
at the desk for a minor's enrolment; ``enrolments.fingers_deferred``: a small child enrolled with the face only,
whose fingers are owed at a later biometric update (false for every enrolment stored before).
"""

from alembic import op
import sqlalchemy as sa


revision = '0039'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guardian_identity_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('guardian_relationship', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('fingers_deferred', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_foreign_key(
            batch_op.f('fk_enrolments_guardian_identity_id_identities'), 'identities', ['guardian_identity_id'], ['id']
        )
    op.create_table(
        'guardianships',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('guardian_identity_id', sa.Integer(), nullable=False),
        sa.Column('child_identity_id', sa.Integer(), nullable=False),
        sa.Column('relationship', sa.String(length=16), nullable=False),
        sa.Column('enrolment_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['guardian_identity_id'], ['identities.id'], name=op.f('fk_guardianships_guardian_identity_id_identities')
        ),
        sa.ForeignKeyConstraint(
            ['child_identity_id'], ['identities.id'], name=op.f('fk_guardianships_child_identity_id_identities')
        ),
        sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_guardianships_enrolment_id_enrolments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_guardianships')),
        sa.UniqueConstraint('guardian_identity_id', 'child_identity_id', name='uq_guardianships_pair'),
    )
    with op.batch_alter_table('guardianships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardianships_guardian_identity_id'), ['guardian_identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guardianships_child_identity_id'), ['child_identity_id'], unique=False)


def downgrade() -> None:
    op.drop_table('guardianships')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_enrolments_guardian_identity_id_identities'), type_='foreignkey')
        batch_op.drop_column('fingers_deferred')
        batch_op.drop_column('guardian_relationship')
        batch_op.drop_column('guardian_identity_id')
