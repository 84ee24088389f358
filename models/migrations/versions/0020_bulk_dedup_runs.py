"""bulk dedup runs: resumable runs over an existing register, their candidate pairs, and register-pair cases

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 06:10:00

``bulk_dedup_runs`` (one row per ``civid abis dedup-bulk`` run, with the cursor over face template ids it has
searched up to) and ``bulk_dedup_pairs`` (the candidate pairs each run found, with their scores).

``dedup_cases`` gains ``kind`` ("enrolment", every existing case; "register_pair" for two issued identities a
bulk run found alike) and ``key``, unique, which takes over from the unique ``enrolment_id``: an enrolment case
is keyed "enrolment:<enrolment id>" (still one per applicant), a register pair "pair:<low id>:<high id>" (one
per pair, so a rerun opens none twice) — the later-issued enrolment of a pair may also have its own enrolment
case, hence ``enrolment_id`` is no longer unique by itself. Downgrade refuses while register-pair cases exist.
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('bulk_dedup_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('last_template_id', sa.Integer(), nullable=False),
    sa.Column('queries_total', sa.Integer(), nullable=False),
    sa.Column('queries_done', sa.Integer(), nullable=False),
    sa.Column('pairs_found', sa.Integer(), nullable=False),
    sa.Column('cases_opened', sa.Integer(), nullable=False),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.Column('finished_at', WHEN, nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batch_jobs.id'], name=op.f('fk_bulk_dedup_runs_batch_id_batch_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_dedup_runs')),
    sa.UniqueConstraint('public_id', name=op.f('uq_bulk_dedup_runs_public_id'))
    )
    with op.batch_alter_table('bulk_dedup_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_dedup_runs_status'), ['status'], unique=False)

    with op.batch_alter_table('dedup_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='enrolment'))
        batch_op.add_column(sa.Column('key', sa.String(length=64), nullable=True))
    op.execute(sa.text("UPDATE dedup_cases SET key = 'enrolment:' || CAST(enrolment_id AS VARCHAR)"))
    with op.batch_alter_table('dedup_cases', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)
        batch_op.alter_column('key', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint('uq_dedup_cases_enrolment_id', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_dedup_cases_key'), ['key'])
        batch_op.create_index(batch_op.f('ix_dedup_cases_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_dedup_cases_enrolment_id'), ['enrolment_id'], unique=False)

    op.create_table('bulk_dedup_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('first_enrolment_id', sa.Integer(), nullable=False),
    sa.Column('second_enrolment_id', sa.Integer(), nullable=False),
    sa.Column('index_score', sa.Double(), nullable=False),
    sa.Column('face_score', sa.Double(), nullable=False),
    sa.Column('finger_scores', sa.JSON(), nullable=False),
    sa.Column('fused_llr', sa.Double(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['dedup_cases.id'], name=op.f('fk_bulk_dedup_pairs_case_id_dedup_cases')),
    sa.ForeignKeyConstraint(['first_enrolment_id'], ['enrolments.id'],
                            name=op.f('fk_bulk_dedup_pairs_first_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['run_id'], ['bulk_dedup_runs.id'], name=op.f('fk_bulk_dedup_pairs_run_id_bulk_dedup_runs')),
    sa.ForeignKeyConstraint(['second_enrolment_id'], ['enrolments.id'],
                            name=op.f('fk_bulk_dedup_pairs_second_enrolment_id_enrolments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_dedup_pairs')),
    sa.UniqueConstraint('run_id', 'first_enrolment_id', 'second_enrolment_id', name='uq_bulk_dedup_pairs_pair')
    )
    with op.batch_alter_table('bulk_dedup_pairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_dedup_pairs_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    connection = op.get_bind()
    pairs = connection.execute(sa.text("SELECT COUNT(*) FROM dedup_cases WHERE kind = 'register_pair'")).scalar()
    if pairs:
        raise RuntimeError(f"{pairs} register-pair cases exist; the older schema cannot hold them (one case per "
                           "enrolment). Decide and export them first.")
    with op.batch_alter_table('bulk_dedup_pairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_dedup_pairs_run_id'))
    op.drop_table('bulk_dedup_pairs')
    with op.batch_alter_table('dedup_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dedup_cases_enrolment_id'))
        batch_op.drop_index(batch_op.f('ix_dedup_cases_kind'))
        batch_op.drop_constraint(batch_op.f('uq_dedup_cases_key'), type_='unique')
        batch_op.create_unique_constraint('uq_dedup_cases_enrolment_id', ['enrolment_id'])
        batch_op.drop_column('key')
        batch_op.drop_column('kind')
    with op.batch_alter_table('bulk_dedup_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_dedup_runs_status'))
    op.drop_table('bulk_dedup_runs')
