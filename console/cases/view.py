"""What an adjudicator sees of a case: the applicant and each candidate side by side, the evidence in words.

Pure reading: rows → frozen values for the templates. Demographics are compared field by field (a differing
field is marked); scores are shown with the log-likelihood ratio they mean under the shipped calibration
(matcher/fusion.py) and the thresholds in force (settings). Never templates; photos only as links, which
``console.cases`` serves while the case is open.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.web import i18n, pages
from enrollment import decision_history
from enrollment.documents import documents_of, masked
from idp.runtime import IdpServices
from matcher.iso19794 import FINGER_POSITIONS
from models import ApiKey, CaseStatus, DedupCase, Enrolment, Identity, Photo, utcnow

FIELDS = (
    "given_name",
    "middle_names",
    "family_name",
    "date_of_birth",
    "sex",
    "place_of_birth",
    "nationality",
    "address",
    "phone",
    "email",
    "documents",
    "enrolled",
    "officer",
)
MAX_RATIO = 1e9  # beyond a billion the exact figure means nothing to a reader


@dataclass(frozen=True)
class Cell:
    text: str
    differs: bool = False  # a candidate's value that is not the applicant's


@dataclass(frozen=True)
class FingerEvidence:
    position: int
    finger: str
    score: float
    llr: float
    match: bool
    words: str


@dataclass(frozen=True)
class Evidence:
    """One candidate's comparison with the applicant: per modality and fused."""

    face_score: float
    face_llr: float
    face_words: str
    face_above_threshold: bool
    fingers: list[FingerEvidence]
    fused_llr: float | None
    fused_words: str
    fused_above_threshold: bool


@dataclass(frozen=True)
class Column:
    """One person of the comparison: the applicant (rank None) or a ranked candidate."""

    enrolment_id: str
    rank: int | None
    uin: str | None
    status: str
    photos: list[int]
    fingers: list[dict[str, Any]]  # the enrolment's finger reports (position, status, nfiq2, reason): no images
    evidence: Evidence | None
    # The candidate identity's status: a suspended or deactivated (deceased) person's match is flagged as such.
    identity_status: str | None = None


@dataclass(frozen=True)
class PastDecision:
    """One row of the case's decision history (``CaseDecision``), as the page shows it."""

    sequence: int
    decision: str
    uin: str | None
    decided_by: str
    decided_at: str
    comment: str
    replaces: int | None  # the sequence of the decision this one replaced; None for the first


@dataclass(frozen=True)
class CaseView:
    public_id: str
    kind: str  # models.CaseKind: an applicant's own case, or a register pair (both already hold a UIN)
    applicant_name: str
    status: str
    age: str
    columns: list[Column]
    rows: list[tuple[str, list[Cell]]]  # (field, one cell per column)
    issued_candidates: list[Column]  # those a 'duplicate' decision may name
    history: list[PastDecision]
    decision: str | None
    duplicate_of_uin: str | None
    thresholds: dict[str, str]

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN


def when(moment: datetime | None) -> str:
    """A stored time as staff read it (UTC, stated)."""
    return pages.when(moment) or ""


def age(created_at: datetime, lang: str) -> str:
    """How long a case has waited: days and hours, or minutes when under an hour."""
    minutes = max(0, int((utcnow() - audit.as_utc(created_at)).total_seconds() // 60))
    days, hours = minutes // 1440, (minutes % 1440) // 60
    if days:
        return i18n.translate("cases.age.days", lang, days=days, hours=hours)
    if hours:
        return i18n.translate("cases.age.hours", lang, hours=hours)
    return i18n.count_text("cases.age.minutes", minutes, lang)


def ratio_text(llr: float, lang: str = "en") -> str:
    """10^|llr| as a reader counts it: 2 significant figures, thousands separated as ``lang`` writes them."""
    ratio = 10 ** abs(llr)
    if ratio >= MAX_RATIO:
        return i18n.number(MAX_RATIO, lang) + "+"
    if ratio < 10:
        return i18n.number(ratio, lang, digits=1)
    digits = len(str(int(ratio))) - 2
    return i18n.number(round(ratio, -digits), lang)


def likelihood_words(llr: float, lang: str) -> str:
    """What a log10 likelihood ratio means: 'N× likelier if the same person' (or if different people)."""
    key = "cases.llr.same" if llr >= 0 else "cases.llr.different"
    return i18n.translate(key, lang, ratio=ratio_text(llr, lang))


def _fold(value: str) -> str:
    """Compare names as an adjudicator would: case and accents aside (Ñúñez = nunez)."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _address(value: dict[str, Any] | None) -> str:
    keys = ("line1", "line2", "locality", "district", "postal_code", "country")
    parts = [value.get(k) for k in keys] if value else []
    return ", ".join(str(p) for p in parts if p)


def _documents(db: Session, enrolment: Enrolment) -> str:
    return "; ".join(
        f"{d.type} {masked(d.number_last4)} ({d.issuer_country}, {d.date_of_expiry or '—'})"
        for d in documents_of(db, enrolment.id)
    )


def _field_values(db: Session, e: Enrolment) -> dict[str, str]:
    officer = db.get(ApiKey, e.officer_id)
    return {
        "given_name": e.given_name,
        "middle_names": e.middle_names or "",
        "family_name": e.family_name,
        "date_of_birth": e.date_of_birth.isoformat(),
        "sex": e.sex,
        "place_of_birth": e.place_of_birth,
        "nationality": e.nationality,
        "address": _address(e.address),
        "phone": e.phone or "",
        "email": e.email or "",
        "documents": _documents(db, e),
        "enrolled": when(e.created_at),
        "officer": officer.name if officer else "?",
    }


# Fields whose difference between two enrolments says something about the person (not the desk or the day).
COMPARED = frozenset(FIELDS) - {"documents", "enrolled", "officer"}


def _evidence(services: IdpServices, candidate: Any, lang: str) -> Evidence:
    fusion, settings = services.fusion, services.settings
    face_llr = fusion.face_llr(candidate.face_score)
    fingers = []
    for position, score in sorted((int(p), s) for p, s in (candidate.finger_scores or {}).items()):
        llr = fusion.finger_llr(score)  # floored and capped, as fused
        fingers.append(
            FingerEvidence(
                position,
                FINGER_POSITIONS.get(position, "?"),
                round(score, 4),
                round(llr, 2),
                score >= settings.finger_verify_threshold,
                likelihood_words(llr, lang),
            )
        )
    fused = candidate.fused_llr
    return Evidence(
        face_score=round(candidate.face_score, 4),
        face_llr=round(face_llr, 2),
        face_words=likelihood_words(face_llr, lang),
        face_above_threshold=candidate.face_score >= settings.dedup_threshold,
        fingers=fingers,
        fused_llr=round(fused, 2) if fused is not None else None,
        fused_words=likelihood_words(fused, lang) if fused is not None else "",
        fused_above_threshold=fused is not None and fused >= settings.dedup_llr_threshold,
    )


def _column(db: Session, e: Enrolment, rank: int | None, evidence: Evidence | None) -> Column:
    identity = db.get(Identity, e.identity_id) if e.identity_id else None
    photos = list(db.scalars(select(Photo.photo_index).where(Photo.enrolment_id == e.id).order_by(Photo.photo_index)))
    fingers = [
        {"position": f.get("position"), "status": f.get("status"), "nfiq2": f.get("nfiq2"), "reason": f.get("reason")}
        for f in e.fingerprints or []
    ]
    return Column(
        e.public_id,
        rank,
        identity.uin if identity else None,
        e.status,
        photos,
        fingers,
        evidence,
        identity.status if identity else None,
    )


def build(db: Session, services: IdpServices, case: DedupCase, lang: str) -> CaseView:
    """The side-by-side view of a loaded case (``adjudication.load_case``)."""
    applicant = db.get(Enrolment, case.enrolment_id)
    assert applicant is not None
    people = [(applicant, None, None)] + [(c.enrolment, c.rank, _evidence(services, c, lang)) for c in case.candidates]
    columns = [_column(db, e, rank, evidence) for e, rank, evidence in people]
    values = [_field_values(db, e) for e, _, _ in people]
    rows = []
    for field in FIELDS:
        mine = values[0][field]
        cells = [Cell(mine)] + [
            Cell(v[field], field in COMPARED and _fold(v[field]) != _fold(mine)) for v in values[1:]
        ]
        rows.append((field, cells))
    settings = services.settings
    thresholds = {
        "face": i18n.number(settings.dedup_threshold, lang, 4),
        "fused": i18n.number(settings.dedup_llr_threshold, lang, 1),
        "fused_words": likelihood_words(settings.dedup_llr_threshold, lang),
        "finger": i18n.number(settings.finger_verify_threshold, lang, 3),
    }
    duplicate_of = db.get(Identity, case.duplicate_of_id) if case.duplicate_of_id else None
    return CaseView(
        public_id=case.public_id,
        kind=case.kind,
        applicant_name=f"{applicant.given_name} {applicant.family_name}",
        status=case.status,
        age=age(case.created_at, lang),
        columns=columns,
        rows=rows,
        issued_candidates=[c for c in columns[1:] if c.uin and c.status == "issued"],
        history=history(db, case),
        decision=case.decision,
        duplicate_of_uin=duplicate_of.uin if duplicate_of else None,
        thresholds=thresholds,
    )


def history(db: Session, case: DedupCase) -> list[PastDecision]:
    """Every decision ever made on the case, oldest first (the case's ``CaseDecision`` rows)."""
    decisions = decision_history.decisions_of(db, case)
    sequence_of = {d.id: d.sequence for d in decisions}
    return [
        PastDecision(
            d.sequence,
            d.outcome,
            d.uin,
            d.decided_by_name,
            when(d.decided_at),
            d.comment,
            sequence_of.get(d.replaces_id) if d.replaces_id else None,
        )
        for d in decisions
    ]
