"""The citizen's view of who received their data: the "Who received your data" section of /account.

Two lists, newest first: every release of personal data to a service (``kyc.releases``: which service,
which data in plain words, through what, when) and the signed identity attestations issued to banks (which
bank, when, until when, whether still valid). Names of claims only, never values: the page shows what left
civid, not the data itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.web import i18n, pages
from idp.consent_page import CLAIM_ITEMS
from kyc.releases import releases_of
from kyc.revocation import status_of
from models import Attestation, Client

VERIFIED_PREFIX = "verified_claims:"
# Claims only verified_claims carries, and the evidence; the rest reuse the consent page's words.
EXTRA_ITEMS: tuple[tuple[str, frozenset[str]], ...] = (
    ("kyc.claim.place_of_birth", frozenset({"place_of_birth"})),
    ("kyc.claim.nationalities", frozenset({"nationalities"})),
    ("consent.claim.uin", frozenset({"uin"})),
    ("kyc.claim.evidence", frozenset({"evidence"})),
)
ITEMS = CLAIM_ITEMS + EXTRA_ITEMS
ATTESTATION_LIMIT = 100


def claim_words(names: Iterable[str], lang: str) -> list[str]:
    """Claim names as the plain words of the consent page; verified claims marked as such; unknown names as is."""
    plain: set[str] = set()
    verified: set[str] = set()
    for name in names:
        if name.startswith(VERIFIED_PREFIX):
            verified.add(name[len(VERIFIED_PREFIX) :])
        else:
            plain.add(name)
    words = [i18n.translate(key, lang) for key, members in ITEMS if members & plain]
    words += [
        i18n.translate("kyc.verified", lang, item=i18n.translate(key, lang))
        for key, members in ITEMS
        if members & verified
    ]
    known = set().union(*(members for _, members in ITEMS))
    return words + sorted((plain | verified) - known)


def _client_names(db: Session, client_ids: set[str]) -> dict[str, str]:
    if not client_ids:
        return {}
    rows = db.execute(select(Client.client_id, Client.name).where(Client.client_id.in_(client_ids))).all()
    return {client_id: name for client_id, name in rows}


def release_rows(db: Session, identity_id: int, lang: str) -> list[dict[str, object]]:
    """Every release of the person's data (service, data in words, channel in words, when), newest first."""
    releases = releases_of(db, identity_id)
    names = _client_names(db, {row.client_id for row in releases})
    return [
        {
            "client": names.get(row.client_id, row.client_id),
            "claims": claim_words(row.claims, lang),
            "channel": i18n.translate(f"kyc.channel.{row.channel}", lang),
            "verified": row.verified,
            "when": pages.when(row.released_at),
        }
        for row in releases
    ]


def attestation_rows(db: Session, identity_id: int, lang: str) -> list[dict[str, object]]:
    """The KYC attestations issued about the person (bank, data, issued, until, status), newest first."""
    rows = list(
        db.scalars(
            select(Attestation)
            .where(Attestation.identity_id == identity_id)
            .order_by(Attestation.id.desc())
            .limit(ATTESTATION_LIMIT)
        )
    )
    names = _client_names(db, {row.client_id for row in rows})
    result: list[dict[str, object]] = []
    for row in rows:
        state = status_of(row)
        result.append(
            {
                "client": names.get(row.client_id, row.client_id),
                "claims": claim_words(
                    [n if n.startswith(VERIFIED_PREFIX) else VERIFIED_PREFIX + n for n in row.claims], lang
                ),
                "issued": pages.when(row.issued_at),
                "expires": pages.when(row.expires_at),
                "status": i18n.translate(f"kyc.attestation.status.{state.status}", lang),
                "revoked": pages.when(state.revoked_at),
            }
        )
    return result
