"""Keeps the FAISS indexes (faces, fingers) faithful caches of the templates in the database.

The database is the truth. At start the saved index is loaded and reconciled with the database
(templates missing from the file are added, ones no longer in the gallery removed); a missing or
unreadable file, or an index of the wrong kind for the gallery's size, means a full rebuild. Inside
the dedup section each enrolment first catches up with what other processes committed, so every search
sees everything committed before it: new templates (ids above the watermark), and the templates that
adjudication decisions took out of the gallery or put back into it. Those are old rows, below the
watermark; every decision writes a ``case_decisions`` row, so the cache remembers the newest decision it
follows and re-reads only the templates of the applicants decided since (one indexed query when none was).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from civid.keyring import KeyRing
from civid.settings import Settings
from enrollment.fingerprint import open_features
from enrollment.templates import open_descriptor
from matcher import mcc
from matcher.finger_index import FingerGallery, FingerIndexOptions
from matcher.gallery import Gallery, GalleryOptions, Hit, MilvusOptions
from matcher.gallery_backends import create_finger_gallery, create_gallery
from models import CaseDecision, DedupCase, Enrolment, FaceTemplate, FingerTemplate

log = logging.getLogger(__name__)
BATCH = 10_000
RECENT_GAPS = 1_000  # ids below the watermark re-checked after a full scan (see _mark_recent_gaps)


class TemplateCache:
    """An index plus the knowledge of how to fill it from one template table of the database.

    Subclasses name the table (``model``), where the index file lives, and how rows become index
    entries (``_decode``); the index offers add/remove/ids/rebuild/save/load and a ``watermark``
    (``matcher.gallery.Gallery`` for faces). Callers use the store's methods, never the index itself."""

    model: Any
    label = "gallery"

    def __init__(
        self, settings: Settings, keyring: KeyRing, sessions: sessionmaker[Session], gallery: Any, path: Path
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.sessions = sessions
        self._gallery = gallery
        self.path = path
        self._unsaved = 0
        # Whether the index was loaded or rebuilt here: a store never opened (``civid serve --role idp``, a CLI
        # command without the gallery) holds nothing, and saving that would overwrite the files (or the Milvus
        # sidecar) that the processes which do search keep in the shared data folder.
        self._opened = False
        # The newest case decision whose template moves the index follows (set at open: no history replayed).
        self._decisions_seen = 0
        # catch_up also runs outside the dedup section (identify): two threads must not apply their reads of
        # one applicant's templates in the wrong order.
        self._catching_up = threading.Lock()
        self._holes = IdGaps()

    # --- what the index holds (read-only views for status pages, reconciliation and tests) ------
    def __len__(self) -> int:
        return len(self._gallery)

    def __bool__(self) -> bool:
        return True  # a store is never falsy, even while its index is empty

    def ids(self) -> NDArray[np.int64]:
        """Every template id the index holds."""
        return np.asarray(self._gallery.ids(), dtype=np.int64)

    @property
    def kind(self) -> str:
        """The index structure ("flat", "ivf"), for status output."""
        return str(self._gallery.kind)

    @property
    def location(self) -> str:
        """Where the index lives: its file here, or the collection on a shared engine's server (Milvus)."""
        shared = getattr(self._gallery, "location", None)  # only a server-side backend has one
        return str(shared) if shared else str(self.path)

    @property
    def opened(self) -> bool:
        """Whether this process loaded or rebuilt the index (what /readyz asks before a search may come)."""
        return self._opened

    @property
    def watermark(self) -> int:
        """The highest template id the index is known to include."""
        return int(self._gallery.watermark)

    def _columns(self) -> tuple[Any, ...]:
        """The template columns ``_decode`` needs (plain columns: a million ORM objects would be slow)."""
        raise NotImplementedError

    def _decode(self, rows: Sequence[Any]) -> tuple[NDArray[np.int64], Any]:
        """(ids, index payload) of rows that carry the template columns and ``public_id``.

        The rows are SQLAlchemy ``Row``s of ``_columns()``, read by attribute as the template rows they stand for
        (hence ``Any``: a ``Row`` is not a ``FaceTemplate`` to mypy)."""
        raise NotImplementedError

    # --- start-up -----------------------------------------------------------------------------
    def open(self, show_progress: bool = False) -> str:
        """Load and reconcile, or rebuild; returns what was done ('loaded', 'reconciled', 'rebuilt')."""
        if self._gallery.load(self.path) and not self._gallery.needs_rebuild:
            self._opened = True
            with self.sessions() as session:
                added, removed = self.reconcile(session)
            if added or removed:
                log.info("%s reconciled with the database: %d added, %d removed", self.label, added, removed)
                self.save()
                return "reconciled"
            return "loaded"
        self.rebuild(show_progress=show_progress)
        return "rebuilt"

    def rebuild(self, show_progress: bool = False) -> int:
        """Rebuild the index from every template in the gallery, then save it. Returns the count."""
        with self.sessions() as session:
            decisions = _newest_decision(session)  # read first: a decision committed during the scan is followed
            total = session.scalar(select(func.count()).select_from(self.model).where(self.model.in_gallery)) or 0
            max_id = session.scalar(select(func.max(self.model.id))) or 0
            with _progress(show_progress) as progress:
                task = progress.add_task(f"Rebuilding {self.label}", total=total)
                self._gallery.rebuild(self._batches(session), total, progress=lambda n: progress.advance(task, n))
        self._gallery.watermark = max_id
        self._opened = True
        with self.sessions() as session:
            # Templates committed during the scan: on a shared engine (Milvus) other processes added them to the
            # collection this rebuild replaced, and their watermarks are past them, so no catch-up would bring them.
            self._add_rows(session, (self.model.id > max_id) & self.model.in_gallery)
        self._decisions_seen = decisions
        self._mark_recent_gaps()
        self.save()
        return total

    def reconcile(self, session: Session) -> tuple[int, int]:
        """Make the index hold exactly the gallery templates of the database. Returns (added, removed)."""
        decisions = _newest_decision(session)  # read first: a decision committed during the scan is followed
        truth = np.fromiter(session.scalars(select(self.model.id).where(self.model.in_gallery)), dtype=np.int64)
        held = self._gallery.ids()
        missing = np.setdiff1d(truth, held)
        extra = np.setdiff1d(held, truth)
        if len(extra):
            self._gallery.remove(extra.tolist())
        for start in range(0, len(missing), BATCH):
            ids = missing[start : start + BATCH]
            self._add_rows(session, self.model.id.in_(ids.tolist()))
        self._gallery.watermark = int(max(self._gallery.watermark, truth.max() if len(truth) else 0))
        self._decisions_seen = max(self._decisions_seen, decisions)
        self._mark_recent_gaps(session)
        return len(missing), len(extra)

    def _mark_recent_gaps(self, session: Session | None = None) -> None:
        """After a full scan (PostgreSQL): the ids just below the watermark that no row holds may belong to an
        enrolment still being stored; remember them as holes so a later catch-up finds them. Only the newest
        ``RECENT_GAPS`` ids: an enrolment's insert is one short transaction."""
        if session is None:
            with self.sessions() as own:
                self._mark_recent_gaps(own)
            return
        if session.get_bind().dialect.name != "postgresql":
            return
        top = self._gallery.watermark
        present = set(session.scalars(select(self.model.id).where(self.model.id > top - RECENT_GAPS)))
        self._holes.scanned(session, max(top - RECENT_GAPS, 0), top + 1, present | {top}, set())

    # --- steady state -----------------------------------------------------------------------------
    def catch_up(self, session: Session) -> int:
        """Add templates committed since the last catch-up, and follow the decisions committed since the last one
        seen (by this or another process). Returns the number of templates added.

        Enrolments commit without a common lock (insert-then-identify), so on PostgreSQL a template id below the
        watermark may still commit later: the transaction that drew it from the sequence was open during the
        last scan. Such gaps are remembered (``IdGaps``) and scanned again until every transaction that could
        hold them has ended. SQLite has one writer at a time, so its ids commit in order and leave no such gap."""
        with self._catching_up:
            # Decisions first, templates after: the templates read are then at least as new as the decisions.
            decided = session.execute(
                select(CaseDecision.id, CaseDecision.replaces_id, DedupCase.enrolment_id)
                .join(DedupCase, CaseDecision.case_id == DedupCase.id)
                .where(CaseDecision.id > self._decisions_seen)
            ).all()
            postgres = session.get_bind().dialect.name == "postgresql"
            settled = self._holes.settled(session) if postgres else set()
            watermark = self._gallery.watermark
            condition = self.model.id > watermark
            if self._holes.ids:
                condition = condition | self.model.id.in_(sorted(self._holes.ids))
            rows = session.execute(self._select().add_columns(self.model.in_gallery).where(condition)).all()
            present = {row.id for row in rows}
            newest = max((row.id for row in rows), default=0)
            if postgres:
                self._holes.scanned(session, watermark, newest, present, settled)
            added = self._add_decoded([row for row in rows if row.in_gallery])
            if newest:
                self._gallery.watermark = max(self._gallery.watermark, newest)
            if decided:
                added += self._follow(session, decided)
                self._decisions_seen = max(self._decisions_seen, *(row.id for row in decided))
            self._unsaved += added
            if self._unsaved >= self.settings.gallery_persist_every:
                self.save()  # a restart then reconciles a few templates, not every one added since the last save
            return added

    def _follow(self, session: Session, decided: Sequence[Any]) -> int:
        """Bring the templates of the applicants just decided in line with the database. Returns those added.

        Only a decision moves an applicant's templates (created in the gallery, taken out by a duplicate decision,
        put back by a change to not duplicate). Held templates that left are removed (an absent id is ignored);
        templates in the gallery are re-added (an add replaces a held id) only where a change was decided,
        because a first decision never puts one back: re-adding after every "not duplicate" would cost each
        decision a decryption and leave dead rows in the finger index."""
        applicants = sorted({row.enrolment_id for row in decided})
        left = session.scalars(
            select(self.model.id).where(self.model.enrolment_id.in_(applicants), ~self.model.in_gallery)
        ).all()
        if left:
            self._gallery.remove(list(left))
        changed = sorted({row.enrolment_id for row in decided if row.replaces_id is not None})
        if not changed:
            return 0
        return self._add_rows(session, self.model.enrolment_id.in_(changed) & self.model.in_gallery)

    def add_committed(self, ids: list[int], payload: Any) -> None:
        """Record templates just committed by this process."""
        if not ids:
            return
        self._gallery.add(np.asarray(ids, dtype=np.int64), payload)
        self._gallery.watermark = max([self._gallery.watermark, *ids])
        self._unsaved += len(ids)
        if self._unsaved >= self.settings.gallery_persist_every:
            self.save()

    def removed(self, ids: list[int]) -> None:
        """Drop templates that just left the gallery (a duplicate decided)."""
        if not ids:
            return
        self._gallery.remove(ids)
        self.save()

    def save(self) -> None:
        """Persist the index (nothing when it was never opened here: see ``_opened``)."""
        if not self._opened:
            return
        self._gallery.save(self.path)
        self._unsaved = 0

    # --- helpers -------------------------------------------------------------------------------------
    def _select(self) -> Any:
        return select(*self._columns(), Enrolment.public_id).join(Enrolment, self.model.enrolment_id == Enrolment.id)

    def _add_rows(self, session: Session, condition: Any) -> int:
        return self._add_decoded(session.execute(self._select().where(condition)).all())

    def _add_decoded(self, rows: Sequence[Any]) -> int:
        if not rows:
            return 0
        ids, payload = self._decode(rows)
        self._gallery.add(ids, payload)
        return len(ids)

    def _batches(self, session: Session) -> Iterator[tuple[NDArray[np.int64], Any]]:
        query = self._select().where(self.model.in_gallery).order_by(self.model.id).execution_options(yield_per=BATCH)
        for chunk in session.execute(query).partitions(BATCH):
            yield self._decode(chunk)


class GalleryStore(TemplateCache):
    """The face gallery (by default FAISS, inner product over 128-d descriptors) as a cache of ``face_templates``.

    The engine is the backend named by ``CIVID_GALLERY_BACKEND`` (matcher/gallery_backends.py)."""

    model = FaceTemplate
    label = "face gallery"
    _gallery: Gallery

    def __init__(
        self, settings: Settings, keyring: KeyRing, sessions: sessionmaker[Session], backend: str | None = None
    ) -> None:
        config = settings.gallery
        options = GalleryOptions(
            exact_max=config.exact_max,
            nprobe=config.ivf_nprobe,
            faiss_parallel_mode=config.faiss_parallel_mode,
            faiss_threads=config.faiss_threads,
            milvus=milvus_options(settings),
        )
        super().__init__(
            settings,
            keyring,
            sessions,
            create_gallery(backend or config.backend, options),
            config.directory / "face.index",
        )

    def added(self, ids: list[int], vectors: NDArray[np.float32]) -> None:
        """Record face templates just committed by this process."""
        self.add_committed(ids, vectors)

    def search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        """The ``k`` nearest templates of each query descriptor (shape (q, 128)), best first."""
        return self._gallery.search(queries, k)

    def vectors(self, ids: list[int]) -> NDArray[np.float32]:
        """The descriptors the index holds for ``ids`` (what the 1:N search compares), shape (n, 128)."""
        return self._gallery.vectors(ids)

    def _columns(self) -> tuple[Any, ...]:
        m = FaceTemplate
        return m.id, m.photo_index, m.key_id, m.nonce, m.ciphertext

    def _decode(self, rows: Sequence[Any]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        ids = np.array([r.id for r in rows], dtype=np.int64)
        return ids, np.stack([open_descriptor(self.keyring, r, r.public_id) for r in rows])


class FingerGalleryStore(TemplateCache):
    """The fingerprint index (MCC cylinders, matcher/finger_index.py) as a cache of ``finger_templates``."""

    model = FingerTemplate
    label = "fingerprint index"
    _gallery: FingerGallery

    def __init__(
        self, settings: Settings, keyring: KeyRing, sessions: sessionmaker[Session], backend: str | None = None
    ) -> None:
        options = FingerIndexOptions(faiss_threads=settings.gallery.faiss_threads, milvus=milvus_options(settings))
        index = create_finger_gallery(backend or settings.gallery.backend, options)
        super().__init__(settings, keyring, sessions, index, settings.gallery_dir / "finger.index")

    def added(self, rows: list[FingerTemplate], enrolment_public_id: str) -> None:
        """Record finger templates just committed by this process."""
        if rows:
            ids = [row.id for row in rows]
            self.add_committed(ids, [open_features(self.keyring, row, enrolment_public_id) for row in rows])

    def search(self, probe: mcc.Cylinders, shortlist: int) -> list[tuple[int, float]]:
        """The ``shortlist`` finger template ids (with index scores) nearest to one probe finger."""
        return self._gallery.search(probe, shortlist)

    def _columns(self) -> tuple[Any, ...]:
        m = FingerTemplate
        return m.id, m.position, m.key_id, m.features_nonce, m.features_ciphertext

    def _decode(self, rows: Sequence[Any]) -> tuple[NDArray[np.int64], list[Any]]:
        ids = np.array([r.id for r in rows], dtype=np.int64)
        return ids, [open_features(self.keyring, r, r.public_id) for r in rows]


class IdGaps:
    """Template ids below the watermark that were not committed at a scan (PostgreSQL only), each with the first
    transaction id not yet assigned when it was seen: once every transaction below that one has ended, one more
    scan finds the template if it was committed, and otherwise the id was rolled back and is forgotten.

    A template's id is drawn after its enrolment row (or ABIS reference row: ``abis.references``) was written, so
    the transaction drawing it already has a transaction id (below the mark taken after the scan)."""

    def __init__(self) -> None:
        self.marks: dict[int, int] = {}  # template id -> pg_snapshot_xmax after the scan that found it missing

    @property
    def ids(self) -> set[int]:
        return set(self.marks)

    def settled(self, session: Session) -> set[int]:
        """The holes whose possible writers have all ended (read before the scan that settles them)."""
        if not self.marks:
            return set()
        oldest_running = int(session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")))
        return {template_id for template_id, mark in self.marks.items() if mark <= oldest_running}

    def scanned(self, session: Session, watermark: int, newest: int, present: set[int], settled: set[int]) -> None:
        """After a scan of ids above ``watermark`` and of the holes: forget the holes found or settled, and mark the
        ids between the watermark and the newest id found that the scan did not return."""
        for template_id in list(self.marks):
            if template_id in present or template_id in settled:
                del self.marks[template_id]
        missing = [i for i in range(watermark + 1, newest) if i not in present]
        if missing:
            mark = int(session.scalar(text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")))
            for template_id in missing:
                self.marks[template_id] = mark


def milvus_options(settings: Settings) -> MilvusOptions:
    """The Milvus backends' options from the settings' group (the same fields: the core cannot name matcher's)."""
    return MilvusOptions(**dataclasses.asdict(settings.gallery.milvus))


def _newest_decision(session: Session) -> int:
    """The id of the newest case decision (ids increase: decisions are written one at a time, in the dedup section)."""
    return session.scalar(select(func.max(CaseDecision.id))) or 0


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )
