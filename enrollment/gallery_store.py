"""Keeps the FAISS gallery a faithful cache of the face templates in the database.

The database is the truth. At start the saved index is loaded and reconciled with the database
(templates missing from the file are added, ones no longer in the gallery removed); a missing or
unreadable file, or an index of the wrong kind for the gallery's size, means a full rebuild. Inside
the dedup section each enrolment first catches up with templates other processes committed (ids
above the watermark), so every search sees everything committed before it.
"""

from __future__ import annotations

import logging
from typing import Iterator

import numpy as np
from numpy.typing import NDArray
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from civid.keyring import KeyRing
from civid.settings import Settings
from enrollment.templates import open_descriptor
from matcher.gallery import FaissGallery
from models import Enrolment, FaceTemplate

log = logging.getLogger(__name__)
BATCH = 10_000


class GalleryStore:
    """The gallery plus the knowledge of how to fill it from the database."""

    def __init__(self, settings: Settings, keyring: KeyRing, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.keyring = keyring
        self.sessions = sessions
        self.gallery = FaissGallery(exact_max=settings.gallery_exact_max, nprobe=settings.gallery_ivf_nprobe)
        self.path = settings.gallery_dir / "face.index"
        self._unsaved = 0

    # --- start-up -----------------------------------------------------------------------------
    def open(self, show_progress: bool = False) -> str:
        """Load and reconcile, or rebuild; returns what was done ('loaded', 'reconciled', 'rebuilt')."""
        if self.gallery.load(self.path) and not self.gallery.needs_rebuild:
            with self.sessions() as session:
                added, removed = self.reconcile(session)
            if added or removed:
                log.info("gallery reconciled with the database: %d added, %d removed", added, removed)
                self.save()
                return "reconciled"
            return "loaded"
        self.rebuild(show_progress=show_progress)
        return "rebuilt"

    def rebuild(self, show_progress: bool = False) -> int:
        """Rebuild the index from every template in the gallery, then save it. Returns the count."""
        with self.sessions() as session:
            total = session.scalar(select(func.count()).select_from(FaceTemplate).where(FaceTemplate.in_gallery)) or 0
            max_id = session.scalar(select(func.max(FaceTemplate.id))) or 0
            with _progress(show_progress) as progress:
                task = progress.add_task("Rebuilding face gallery", total=total)
                self.gallery.rebuild(self._batches(session), total, progress=lambda n: progress.advance(task, n))
        self.gallery.watermark = max_id
        self.save()
        return total

    def reconcile(self, session: Session) -> tuple[int, int]:
        """Make the index hold exactly the gallery templates of the database. Returns (added, removed)."""
        truth = np.fromiter(session.scalars(select(FaceTemplate.id).where(FaceTemplate.in_gallery)), dtype=np.int64)
        held = self.gallery.ids()
        missing = np.setdiff1d(truth, held)
        extra = np.setdiff1d(held, truth)
        if len(extra):
            self.gallery.remove(extra.tolist())
        for start in range(0, len(missing), BATCH):
            ids = missing[start:start + BATCH]
            self._add_rows(session, select(FaceTemplate).where(FaceTemplate.id.in_(ids.tolist())))
        self.gallery.watermark = int(max(self.gallery.watermark, truth.max() if len(truth) else 0))
        return len(missing), len(extra)

    # --- steady state -----------------------------------------------------------------------------
    def catch_up(self, session: Session) -> int:
        """Add templates committed since the watermark (by this or another process)."""
        query = select(FaceTemplate).where(FaceTemplate.id > self.gallery.watermark, FaceTemplate.in_gallery)
        added = self._add_rows(session, query)
        newest = session.scalar(select(func.max(FaceTemplate.id)))
        if newest:
            self.gallery.watermark = max(self.gallery.watermark, newest)
        return added

    def added(self, ids: list[int], vectors: NDArray[np.float32]) -> None:
        """Record templates just committed by this process."""
        self.gallery.add(np.asarray(ids, dtype=np.int64), vectors)
        self.gallery.watermark = max([self.gallery.watermark, *ids])
        self._unsaved += len(ids)
        if self._unsaved >= self.settings.gallery_persist_every:
            self.save()

    def removed(self, ids: list[int]) -> None:
        """Drop templates that just left the gallery (a duplicate decided)."""
        self.gallery.remove(ids)
        self.save()

    def save(self) -> None:
        self.gallery.save(self.path)
        self._unsaved = 0

    # --- helpers -------------------------------------------------------------------------------------
    def _add_rows(self, session: Session, query) -> int:  # type: ignore[no-untyped-def]
        rows = session.execute(query.add_columns(Enrolment.public_id).join(Enrolment)).all()
        if not rows:
            return 0
        ids = np.array([row.id for row, _ in rows], dtype=np.int64)
        vectors = np.stack([open_descriptor(self.keyring, row, public_id) for row, public_id in rows])
        self.gallery.add(ids, vectors)
        return len(ids)

    def _batches(self, session: Session) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32]]]:
        query = (select(FaceTemplate.id, FaceTemplate.photo_index, FaceTemplate.key_id, FaceTemplate.nonce,
                        FaceTemplate.ciphertext, Enrolment.public_id)
                 .join(Enrolment).where(FaceTemplate.in_gallery).order_by(FaceTemplate.id)
                 .execution_options(yield_per=BATCH))
        for chunk in session.execute(query).partitions(BATCH):
            ids = np.array([r.id for r in chunk], dtype=np.int64)
            vectors = np.stack([open_descriptor(self.keyring, r, r.public_id) for r in chunk])  # type: ignore[arg-type]
            yield ids, vectors


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    disable=not enabled, transient=False)
