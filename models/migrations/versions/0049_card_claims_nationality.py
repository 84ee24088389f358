"""ID cards state nationality: existing card slots' claims say so

Revision ID: 0049
Revises: 0047
Create Date: 2026-12-08 00:30:00

A card's Claim 169 QR states the holder's nationality, but its status slot's ``claims`` (what a record correction
compares with) did not list it, so a corrected nationality left the old card valid. Cards issued from now on list it
(``credentials.cards.CLAIMS``); this adds it to every existing card slot. Wallet credentials list what they state
already. Downgrade takes it out again.
"""

from alembic import op
import sqlalchemy as sa


revision = '0049'
down_revision = '0047'
branch_labels = None
depends_on = None

slots = sa.table(
    'credential_statuses', sa.column('id', sa.Integer), sa.column('kind', sa.String), sa.column('claims', sa.JSON)
)


def _rewrite(change) -> None:  # type: ignore[no-untyped-def]
    connection = op.get_bind()
    for row in connection.execute(sa.select(slots.c.id, slots.c.claims).where(slots.c.kind == 'card')).all():
        claims = sorted(change(set(row.claims or [])))
        if claims != sorted(row.claims or []):
            connection.execute(slots.update().where(slots.c.id == row.id).values(claims=claims))


def upgrade() -> None:
    _rewrite(lambda claims: claims | {'nationality'})


def downgrade() -> None:
    _rewrite(lambda claims: claims - {'nationality'})
