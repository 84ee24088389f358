"""What ``civid restore`` proves before it says the instance is back: rows, the audit log, keys, the gallery.

Each check is a line an operator reads (what was checked, how much, and what is wrong when it is); a restore
that fails one exits non-zero, so a drill run by a script cannot pass a restore that did not come back whole.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from civid.signed_note import Checkpoint
from server.backup import Manifest
from server.services import Services

TEMPLATE_SAMPLE = 25


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def table_counts(manifest: Manifest, restored: dict[str, int]) -> Check:
    differing = {
        name: (count, restored.get(name)) for name, count in manifest.tables.items() if restored.get(name) != count
    }
    if differing:
        listed = ", ".join(f"{name} {want} in the backup, {got} restored" for name, (want, got) in differing.items())
        return Check("tables", False, listed)
    return Check("tables", True, f"{len(manifest.tables)} tables, {sum(manifest.tables.values())} rows as backed up")


def audit_trail(services: Services, held: list[Checkpoint]) -> list[Check]:
    from civid import audit

    with services.sessions() as session:
        checked, broken = audit.verify_chain(session)
    chain = Check(
        "audit chain",
        broken is None,
        f"{checked} events intact" if broken is None else f"broken at event {broken} after {checked} intact",
    )
    result = services.audit_log.check(held)
    against = f" against the held checkpoint of {result.checkpoint_size}" if result.checkpoint_size is not None else ""
    if result.finding is None:
        return [chain, Check("audit log", True, f"{result.leaves} leaves{against}")]
    finding = result.finding
    return [chain, Check("audit log", False, f"{finding.problem} at leaf {finding.first_leaf}{against}")]


def templates_open(services: Services, sample: int = TEMPLATE_SAMPLE) -> Check:
    """A random sample of face and finger templates opens with the restored key ring (the gallery rebuild then
    opens every one; this line says so in words before the rebuild's count does)."""
    from enrollment.fingerprint import open_features
    from enrollment.templates import open_descriptor
    from models import Enrolment, FaceTemplate, FingerTemplate

    openers: tuple[tuple[Any, Callable[..., object]], ...] = (
        (FaceTemplate, open_descriptor),
        (FingerTemplate, open_features),
    )
    opened = 0
    with services.sessions() as session:
        for model, opener in openers:
            ids = list(session.scalars(select(model.id)))
            for row_id in random.sample(ids, min(sample, len(ids))):
                row, public_id = session.execute(
                    select(model, Enrolment.public_id)
                    .join(Enrolment, model.enrolment_id == Enrolment.id)
                    .where(model.id == row_id)
                ).one()
                try:
                    opener(services.keyring, row, public_id)
                except Exception as exc:  # noqa: BLE001 - any failure to open is the finding
                    return Check("templates", False, f"{model.__tablename__} {row_id} does not open: {exc}")
                opened += 1
    return Check("templates", True, f"{opened} sampled templates open with the restored key ring")


def gallery_rebuilt(services: Services, show_progress: bool) -> Check:
    from models import FaceTemplate, FingerTemplate

    faces = services.gallery.rebuild(show_progress=show_progress)
    fingers = services.fingers.rebuild(show_progress=show_progress)
    with services.sessions() as session:
        want_faces = session.scalar(select(func.count()).select_from(FaceTemplate).where(FaceTemplate.in_gallery))
        want_fingers = session.scalar(select(func.count()).select_from(FingerTemplate).where(FingerTemplate.in_gallery))
    # Fewer than stored is right: a rejected or withdrawn enrolment's templates stay stored but leave the gallery.
    # A template that does not open fails the rebuild itself.
    return Check(
        "gallery",
        True,
        f"rebuilt from the database: {faces} faces of {want_faces} stored, {fingers} fingers of {want_fingers}",
    )
