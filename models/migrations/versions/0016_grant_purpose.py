"""grant purpose: a grant's tokens release only what was consented for the purpose it was authorised for

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 00:20:00

``oidc_grants.purpose`` (the purpose the grant was authorised for, as stored on ``consents.purpose``) and
``data_releases.consent_uids`` (the consent rows covering what a release released) replacing
``data_releases.consent_uid`` (the client's newest row, which need not hold any released claim).

Grants from before this revision were not told their purpose. Where the person's consents to that client
(any, live or not) all name one and the same purpose, the grant can only have been authorised for it and gets
it; otherwise (several purposes, or a consent given without one) the grant is left NULL, which means "no
stated purpose": its tokens then release only what was consented without a purpose, and a bank whose grant
lost claims that way sends the citizen through /authorize again. Failing closed there is deliberate: guessing
among several purposes could hand a grant data consented for another one. An old release's single
``consent_uid`` becomes a one-element ``consent_uids``.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_SAME_PERSON_AND_CLIENT = ("c.identity_id = oidc_grants.identity_id AND c.client_id = oidc_grants.client_id")


def upgrade() -> None:
    with op.batch_alter_table('oidc_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=500), nullable=True))
    op.execute(sa.text(
        f"UPDATE oidc_grants SET purpose = (SELECT MIN(c.purpose) FROM consents c WHERE {_SAME_PERSON_AND_CLIENT}) "
        f"WHERE (SELECT COUNT(DISTINCT c.purpose) FROM consents c WHERE {_SAME_PERSON_AND_CLIENT}) = 1 "
        f"AND NOT EXISTS (SELECT 1 FROM consents c WHERE {_SAME_PERSON_AND_CLIENT} AND c.purpose IS NULL)"))

    with op.batch_alter_table('data_releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_uids', sa.JSON(), nullable=True))
    array = 'json_build_array' if op.get_bind().dialect.name == 'postgresql' else 'json_array'
    op.execute(sa.text(f"UPDATE data_releases SET consent_uids = {array}(consent_uid) WHERE consent_uid IS NOT NULL"))
    with op.batch_alter_table('data_releases', schema=None) as batch_op:
        batch_op.drop_column('consent_uid')


def downgrade() -> None:
    with op.batch_alter_table('data_releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_uid', sa.String(length=64), nullable=True))
    first = ("consent_uids->>0" if op.get_bind().dialect.name == 'postgresql'
             else "json_extract(consent_uids, '$[0]')")
    op.execute(sa.text(f"UPDATE data_releases SET consent_uid = {first} WHERE consent_uids IS NOT NULL"))
    with op.batch_alter_table('data_releases', schema=None) as batch_op:
        batch_op.drop_column('consent_uids')
    with op.batch_alter_table('oidc_grants', schema=None) as batch_op:
        batch_op.drop_column('purpose')
