"""Export a person's fingerprints as one ISO/IEC 19794-2:2005 record, for another AFIS to consume."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.errors import NotFound
from enrollment.fingerprint import AcceptedFinger, open_finger, record_of
from enrollment.matcher_problems import matcher_problems
from enrollment.record import issuing_enrolment
from matcher import iso19794
from models import Enrolment, FingerTemplate, Identity

if TYPE_CHECKING:
    from enrollment.runtime import EnrolmentServices


def export_identity(services: EnrolmentServices, session: Session, uin: str) -> tuple[bytes, list[int]]:
    """The fingers of the identity's record (one view per position, the best-quality capture where it holds
    several) as an encoded record, and the positions it holds."""
    identity = session.scalars(select(Identity).where(Identity.uin == uin)).first()
    if identity is None:
        raise NotFound(f"no identity with UIN {uin}")
    # The record's fingers only: a duplicate application's fingers are an attempt against the identity
    # (enrollment.record), not the person's prints.
    record = issuing_enrolment(session, identity.id)
    rows = session.execute(
        select(FingerTemplate, Enrolment.public_id)
        .join(Enrolment)
        .where(Enrolment.id == (record.id if record is not None else None))
        .order_by(FingerTemplate.position, FingerTemplate.id)
    ).all()
    best: dict[int, tuple[int, AcceptedFinger]] = {}
    for row, public_id in rows:
        rank = row.nfiq2 if row.nfiq2 is not None else -1
        if row.position not in best or rank > best[row.position][0]:
            best[row.position] = (rank, open_finger(services.keyring, row, public_id))
    if not best:
        raise NotFound(f"identity {uin} has no enrolled fingerprints")
    fingers = [finger for _, (_, finger) in sorted(best.items())]
    with matcher_problems():
        return iso19794.encode(record_of(fingers)), sorted(best)
