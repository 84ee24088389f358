"""dedup cases remember the applicant's own identity, so a decision changed back restores its UIN

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-02 16:10:00

``dedup_cases.own_identity_id``: the identity the applicant holds in its own right — a register pair's later UIN,
or the one an enrolment case's "not duplicate" issued. A "duplicate" decision withdraws it (status ``merged``);
a later "not duplicate" restores that one instead of issuing a second UIN to the same person.

Filled for existing cases from what the database still says: an applicant whose enrolment is issued holds its
own identity now; one whose UIN a decision withdrew is named by that case's ``identity.withdrawn`` audit event.
"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dedup_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('own_identity_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_dedup_cases_own_identity_id_identities'), 'identities', ['own_identity_id'], ['id']
        )
    connection = op.get_bind()
    connection.execute(sa.text(
        "UPDATE dedup_cases SET own_identity_id = (SELECT e.identity_id FROM enrolments e "
        "WHERE e.id = dedup_cases.enrolment_id AND e.status = 'issued')"
    ))
    withdrawn = connection.execute(sa.text(
        "SELECT subject_id, detail FROM audit_events WHERE action = 'identity.withdrawn' ORDER BY id"
    ))
    for uin, detail in withdrawn:
        case = (json.loads(detail) if isinstance(detail, str) else detail or {}).get('case')
        if case:
            connection.execute(
                sa.text(
                    "UPDATE dedup_cases SET own_identity_id = (SELECT id FROM identities WHERE uin = :uin) "
                    "WHERE public_id = :case AND own_identity_id IS NULL"
                ),
                {"uin": uin, "case": case},
            )


def downgrade() -> None:
    with op.batch_alter_table('dedup_cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dedup_cases_own_identity_id_identities'), type_='foreignkey')
        batch_op.drop_column('own_identity_id')
