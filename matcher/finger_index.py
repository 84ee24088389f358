"""The 1:N fingerprint gallery: MCC indexing cylinders in FAISS binary indexes, with votes per finger.

After Cappelli, Ferrara, Maltoni, "Fingerprint indexing based on Minutia Cylinder-Code", IEEE TPAMI 2011:
every valid minutia of every enrolled finger contributes one 320-bit cylinder (``mcc.INDEXING``: NS=8,
ND=5). Each probe cylinder finds its ``neighbours`` most similar gallery cylinders, similarity being the
MCC bit similarity without cell masks, 2|a∧b| / (|a| + |b|); each neighbour votes similarity³ for the
finger it belongs to, a probe cylinder counting at most once per finger (its best match there). A finger's
score is the sum of its votes divided by sqrt(probe cylinders · finger cylinders), so fingers with many
minutiae get no head start. Measured on FVC2002 (280 probes, 40 real + 10k synthetic fingers):
``neighbours=256, vote_power=3`` gives 0.7% pre-selection error at 5% penetration, against 1.8% for
64 neighbours and plain similarity votes. The top ``shortlist`` fingers go on to the 1:1 matcher (``mcc.similarity``).

Why popcount bands: FAISS ranks binary codes by Hamming distance |a| + |b| − 2|a∧b|, which favours
sparse gallery cylinders (an almost empty cylinder is "near" everything); ranked that way the pre-selection
error on FVC2002 at 1% penetration was 5-9% instead of 2% (benchmarks/finger_index.py). Within a band of
gallery cylinders with about the same number of set bits, Hamming order is similarity order, so the
index keeps one FAISS index per band, takes the nearest ``neighbours`` of each band, and re-ranks them by
similarity.

Like the face gallery (``matcher/gallery.py``) this is a cache of the database, keyed by the finger
template's database id, and rebuildable from it. Per band, up to ``exact_max`` cylinders in all an exact
``IndexBinaryFlat``, above it an ``IndexBinaryIVF`` searched with ``nprobe`` lists. Both support
``remove_ids``; FAISS ids are cylinder row numbers, and ``_row_finger`` maps a row to its finger (−1 once
removed).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
from numpy.typing import NDArray

from matcher import index_files, mcc
from matcher.faiss_threads import search_threads
from matcher.gallery import MilvusOptions

FLAT = "flat"
IVF = "ivf"
BITS = mcc.INDEXING.bit_count
# Bands of set-bit counts [edge_i, edge_i+1): real SecuGen cylinders have 18-23 bits on average.
BAND_EDGES = (0, 10, 13, 16, 19, 22, 25, 28, 31, 35, 40, 46, 55, 70, BITS + 1)
BAND_COUNT = len(BAND_EDGES) - 1


def band_of(bit_counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """The popcount band of each cylinder."""
    return np.searchsorted(BAND_EDGES, bit_counts, side="right") - 1


def ivf_list_count(rows: int) -> int:
    """IVF lists for a band of ``rows`` cylinders: about sqrt(rows)/2, a power of two, 16..1024.

    Capped because FAISS trains binary IVF with float k-means over the 320 bits (minutes on two cores
    beyond ~1k centroids per band)."""
    return int(min(1024, max(16, 2 ** round(math.log2(max(math.sqrt(max(rows, 1)) / 2, 1))))))


@dataclass(frozen=True)
class FingerIndexOptions:
    """What every finger index backend is built from (the defaults are the measured ones in the module docstring)."""

    exact_max: int = 1_000_000  # cylinders: up to this many an exact binary index per band, above it IVF
    nprobe: int = 16
    neighbours: int = 256
    vote_power: float = 3.0
    faiss_threads: int = 1  # OpenMP threads per FAISS search, 0 FAISS's default (matcher/faiss_threads.py)
    milvus: MilvusOptions = MilvusOptions()


class FingerGallery(Protocol):
    """What the finger gallery store needs from a 1:N finger index (the same life as ``matcher.gallery.Gallery``:
    a cache of the database with a ``watermark``, saved and loaded, rebuilt when its structure no longer fits)."""

    watermark: int

    @property
    def kind(self) -> str: ...
    @property
    def needs_rebuild(self) -> bool: ...
    def add(self, ids: NDArray[np.int64], cylinder_sets: Sequence[mcc.Cylinders]) -> None: ...
    def remove(self, ids: Iterable[int]) -> None: ...
    def search(self, probe: mcc.Cylinders, shortlist: int) -> list[tuple[int, float]]: ...
    def ids(self) -> NDArray[np.int64]: ...
    def rebuild(
        self,
        batches: Iterable[tuple[NDArray[np.int64], Sequence[mcc.Cylinders]]],
        total: int,
        progress: Callable[[int], None] | None = None,
    ) -> None: ...
    def save(self, path: Path) -> None: ...
    def load(self, path: Path) -> bool: ...
    def __len__(self) -> int: ...


class FingerIndex:
    """MCC cylinder index over fingers, thread-safe, persisted to one ``.npz`` file plus a JSON sidecar."""

    def __init__(
        self,
        *,
        exact_max: int = 1_000_000,
        nprobe: int = 16,
        neighbours: int = 256,
        vote_power: float = 3.0,
        threads: int = 1,
    ) -> None:
        # Cylinders, not fingers (≈ 40 a finger): flat search scans every code (≈ 0.1 s per probe per 1M
        # cylinders on 2 cores), so above ~25k fingers IVF, whose nprobe=16 kept the mates in our runs.
        self.exact_max = exact_max
        self.nprobe = nprobe
        self.neighbours = neighbours  # gallery cylinders kept per probe cylinder (and fetched per band)
        self.vote_power = vote_power  # a vote is similarity ** vote_power: > 1 favours close matches
        self.threads = threads  # OpenMP threads per band search (matcher/faiss_threads.py)
        self._lock = threading.RLock()
        self._bands: list[faiss.IndexBinary] = [self._new_flat() for _ in range(BAND_COUNT)]
        self.kind = FLAT
        self._row_finger = np.empty(0, np.int64)  # finger id per row, −1 when removed
        self._row_bits = np.empty(0, np.int16)  # set bits per row
        self._finger_rows: dict[int, range] = {}  # a finger's rows are contiguous: appended together
        self.watermark = 0  # highest finger template id known to be included (set by the caller)

    # --- construction ----------------------------------------------------------------------------
    @classmethod
    def from_options(cls, options: FingerIndexOptions) -> FingerIndex:
        """The finger backend factory registered as "faiss" (matcher/gallery_backends.py)."""
        return cls(
            exact_max=options.exact_max,
            nprobe=options.nprobe,
            neighbours=options.neighbours,
            vote_power=options.vote_power,
            threads=options.faiss_threads,
        )

    @staticmethod
    def _new_flat() -> faiss.IndexBinary:
        return faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(BITS))

    def _new_ivf(self, training: NDArray[np.uint8], rows: int) -> faiss.IndexBinary:
        nlist = min(ivf_list_count(rows), len(training) // 39)
        if nlist < 2:
            return self._new_flat()
        quantizer = faiss.IndexBinaryFlat(BITS)
        index = faiss.IndexBinaryIVF(quantizer, BITS, nlist)
        index.own_fields = True
        quantizer.this.disown()  # type: ignore[attr-defined]  # SWIG's proxy pointer, absent from faiss's stubs
        index.train(np.ascontiguousarray(training))
        index.nprobe = self.nprobe
        return index

    def set_nprobe(self, nprobe: int) -> None:
        """Change how many IVF lists a search visits per band (no effect on exact bands)."""
        with self._lock:
            self.nprobe = nprobe
            for band in self._bands:
                if isinstance(band, faiss.IndexBinaryIVF):
                    band.nprobe = nprobe

    def rebuild(
        self,
        batches: Iterable[tuple[NDArray[np.int64], Sequence[mcc.Cylinders]]],
        total: int,
        progress: Callable[[int], None] | None = None,
        training_sample: int = 600_000,
    ) -> None:
        """Replace the index with the given (finger ids, indexing cylinders) batches; ``total`` = fingers announced."""
        fresh = FingerIndex(
            exact_max=self.exact_max, nprobe=self.nprobe, neighbours=self.neighbours, vote_power=self.vote_power
        )
        expected_rows = total * 40  # a typical finger has about 40 valid minutiae
        pending: list[tuple[NDArray[np.int64], Sequence[mcc.Cylinders]]] = []
        trained = expected_rows <= self.exact_max
        for ids, cylinder_sets in batches:
            if not trained:  # IVF trains on the first batches, then adds as it goes
                pending.append((ids, cylinder_sets))
                if sum(len(c) for _, sets in pending for c in sets) < min(training_sample, expected_rows):
                    continue
                fresh._train(_stack(pending), expected_rows)
                trained = True
                for held_ids, held_sets in pending:
                    fresh._append(held_ids, held_sets)
                    if progress:
                        progress(len(held_ids))
                pending = []
                continue
            fresh._append(ids, cylinder_sets)
            if progress:
                progress(len(ids))
        if pending:  # fewer cylinders arrived than announced: train on what there is
            rows = _stack(pending)
            if len(rows) > self.exact_max:
                fresh._train(rows, len(rows))
            for held_ids, held_sets in pending:
                fresh._append(held_ids, held_sets)
                if progress:
                    progress(len(held_ids))
        with self._lock:
            self._bands, self.kind = fresh._bands, fresh.kind
            self._row_finger, self._row_bits, self._finger_rows = fresh._row_finger, fresh._row_bits, fresh._finger_rows

    def _train(self, sample: NDArray[np.uint8], expected_rows: int) -> None:
        """Replace the (empty) bands by IVF indexes trained on ``sample``; bands with too little data stay flat."""
        bands = band_of(mcc.bit_counts(sample))
        for band in range(BAND_COUNT):
            rows = sample[bands == band]
            self._bands[band] = self._new_ivf(rows, int(expected_rows * len(rows) / max(len(sample), 1)))
        self.kind = IVF

    def _append(self, ids: NDArray[np.int64], cylinder_sets: Sequence[mcc.Cylinders]) -> None:
        """Add fingers whose ids are not in the index (caller holds the lock or owns the instance)."""
        ids = np.asarray(ids, dtype=np.int64)
        counts = np.array([len(c) for c in cylinder_sets], dtype=np.int64)
        if counts.sum() == 0:
            return
        for c in cylinder_sets:
            if len(c) and c.params.bit_count != BITS:
                raise ValueError("the finger index takes cylinders built with mcc.INDEXING")
        codes = np.ascontiguousarray(np.concatenate([c.bits for c in cylinder_sets if len(c)]))
        first = len(self._row_finger)
        rows = np.arange(first, first + len(codes), dtype=np.int64)
        bit_counts = mcc.bit_counts(codes)
        bands = band_of(bit_counts)
        for band in np.unique(bands).tolist():
            chosen = bands == band
            self._bands[band].add_with_ids(np.ascontiguousarray(codes[chosen]), rows[chosen])
        self._row_finger = np.concatenate([self._row_finger, np.repeat(ids, counts)])
        self._row_bits = np.concatenate([self._row_bits, bit_counts.astype(np.int16)])
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) + first
        for finger, start, count in zip(ids.tolist(), starts.tolist(), counts.tolist()):
            if count:
                self._finger_rows[finger] = range(start, start + count)

    # --- the interface ---------------------------------------------------------------------------------
    def add(self, ids: NDArray[np.int64], cylinder_sets: Sequence[mcc.Cylinders]) -> None:
        """Add fingers (ids shape (n,), one indexing ``Cylinders`` each); ids already present are replaced."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) != len(cylinder_sets):
            raise ValueError("one Cylinders per finger id")
        with self._lock:
            self._drop(ids.tolist())
            self._append(ids, cylinder_sets)

    def remove(self, ids: Iterable[int]) -> None:
        """Remove fingers by id; unknown ids are ignored."""
        with self._lock:
            self._drop([int(i) for i in ids])

    def _drop(self, ids: list[int]) -> None:
        ranges = [self._finger_rows.pop(i) for i in ids if i in self._finger_rows]
        if ranges:
            stale = np.concatenate([np.arange(r.start, r.stop, dtype=np.int64) for r in ranges])
            bands = band_of(self._row_bits[stale])
            for band in np.unique(bands).tolist():
                self._bands[band].remove_ids(stale[bands == band])
            self._row_finger[stale] = -1

    def search(self, probe: mcc.Cylinders, shortlist: int) -> list[tuple[int, float]]:
        """The ``shortlist`` best fingers for a probe's indexing cylinders, (finger id, vote score) best first."""
        if len(probe) == 0 or shortlist <= 0:
            return []
        if probe.params.bit_count != BITS:
            raise ValueError("search takes cylinders built with mcc.INDEXING")
        codes = np.ascontiguousarray(probe.bits)
        with self._lock, search_threads(self.threads):
            found = [band.search(codes, min(self.neighbours, int(band.ntotal))) for band in self._bands if band.ntotal]
            if not found:
                return []
            distances = np.concatenate([d for d, _ in found], axis=1).astype(np.float32)
            rows = np.concatenate([r for _, r in found], axis=1)
            valid = rows >= 0
            gallery_bits = np.where(valid, self._row_bits[np.where(valid, rows, 0)], 0).astype(np.float32)
            fingers = np.where(valid, self._row_finger[np.where(valid, rows, 0)], -1)
            finger_rows = self._finger_rows
            return vote(
                mcc.bit_counts(codes).astype(np.float32),
                distances,
                gallery_bits,
                fingers,
                lambda finger: len(finger_rows[finger]),
                neighbours=self.neighbours,
                vote_power=self.vote_power,
                shortlist=shortlist,
            )

    def penetration(self, shortlist: int) -> float:
        """Share of the enrolled fingers a shortlist of this length sends to the 1:1 matcher."""
        fingers = len(self)
        return min(1.0, shortlist / fingers) if fingers else 0.0

    def __len__(self) -> int:
        """Enrolled fingers (not cylinders)."""
        return len(self._finger_rows)

    @property
    def cylinder_count(self) -> int:
        """Cylinders in the FAISS index."""
        return int(sum(band.ntotal for band in self._bands))

    def ids(self) -> NDArray[np.int64]:
        """Every finger id in the index (used to reconcile with the database)."""
        with self._lock:
            return np.fromiter(self._finger_rows.keys(), np.int64, len(self._finger_rows))

    @property
    def needs_rebuild(self) -> bool:
        """True when the index kind no longer fits its size, or removals left over a quarter of rows dead."""
        rows = self.cylinder_count
        dead = len(self._row_finger) - rows
        return (
            (self.kind == FLAT and rows > self.exact_max * 1.25)
            or (self.kind == IVF and rows < self.exact_max // 2)
            or dead > max(rows, 1) // 4
        )

    # --- persistence -----------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the bands and row map to ``path`` (npz) and a sidecar (``.json``) as one pair (index_files.py)."""
        with index_files.saving_pair(path, path.with_suffix(".json")) as (tmp, meta_tmp):
            with self._lock:
                arrays = {f"band_{n}": faiss.serialize_index_binary(band) for n, band in enumerate(self._bands)}
                meta = {
                    "kind": self.kind,
                    "fingers": len(self),
                    "cylinders": self.cylinder_count,
                    "rows": len(self._row_finger),
                    "watermark": self.watermark,
                    "bits": BITS,
                    "band_edges": list(BAND_EDGES),
                }
                with open(tmp, "wb") as handle:
                    # The keys are band_<n>: none can fill savez's allow_pickle, which mypy cannot tell from the type.
                    np.savez(handle, finger=self._row_finger, bits=self._row_bits, **arrays)  # type: ignore[arg-type]
            meta_tmp.write_text(json.dumps(meta))

    def load(self, path: Path) -> bool:
        """Load a saved index; False (and the index left as it was) when it is missing or inconsistent."""
        try:
            meta = json.loads(path.with_suffix(".json").read_text())
            with np.load(path, allow_pickle=False) as stored:
                row_finger, row_bits = stored["finger"].astype(np.int64), stored["bits"].astype(np.int16)
                bands = [faiss.deserialize_index_binary(stored[f"band_{n}"]) for n in range(BAND_COUNT)]
            live = np.flatnonzero(row_finger >= 0)
            if (
                meta["bits"] != BITS
                or meta["band_edges"] != list(BAND_EDGES)
                or any(b.d != BITS for b in bands)
                or sum(b.ntotal for b in bands) != meta["cylinders"]
                or len(row_finger) != meta["rows"]
                or len(row_bits) != len(row_finger)
                or len(live) != meta["cylinders"]
            ):
                return False
        except (OSError, RuntimeError, ValueError, KeyError):
            return False
        order = np.argsort(row_finger[live], kind="stable")
        fingers, starts, counts = np.unique(row_finger[live][order], return_index=True, return_counts=True)
        firsts = live[order][starts]
        finger_rows = {f: range(a, a + n) for f, a, n in zip(fingers.tolist(), firsts.tolist(), counts.tolist())}
        for band in bands:
            if isinstance(band, faiss.IndexBinaryIVF):
                band.nprobe = self.nprobe
        with self._lock:
            self._bands, self.kind, self.watermark = bands, meta["kind"], int(meta["watermark"])
            self._row_finger, self._row_bits, self._finger_rows = row_finger, row_bits, finger_rows
        return True


def vote(
    probe_bits: NDArray[np.float32],
    distances: NDArray[np.float32],
    gallery_bits: NDArray[np.float32],
    fingers: NDArray[np.int64],
    finger_size: Callable[[int], int],
    *,
    neighbours: int,
    vote_power: float,
    shortlist: int,
) -> list[tuple[int, float]]:
    """The finger shortlist from the nearest gallery cylinders of each probe cylinder, whatever engine found them.

    Row ``p`` of the (probe cylinders, candidates) arrays holds probe cylinder p's candidates: their Hamming
    ``distances``, their set-bit counts, and their ``fingers`` (−1 where a slot is empty); ``probe_bits`` is each
    probe cylinder's set-bit count and ``finger_size(f)`` finger f's cylinder count. The module docstring gives the
    rule: similarity 2|a∧b| / (|a| + |b|), the best ``neighbours`` per probe cylinder vote similarity ** vote_power,
    one vote per finger per probe cylinder, the sum normalised by sqrt(probe cylinders · finger cylinders)."""
    valid = fingers >= 0
    total = probe_bits[:, None] + gallery_bits
    similarity = np.where(valid & (total > 0), 1 - distances / np.maximum(total, 1), 0)
    # The most similar ``neighbours`` over all bands, per probe cylinder.
    if similarity.shape[1] > neighbours:
        keep = np.argpartition(-similarity, neighbours - 1, axis=1)[:, :neighbours]
        similarity = np.take_along_axis(similarity, keep, axis=1)
        fingers = np.take_along_axis(fingers, keep, axis=1)
    voted = similarity > 0
    probe_of = np.nonzero(voted)[0]
    voters, votes = fingers[voted], (similarity[voted] ** vote_power).astype(np.float32)
    unique, finger_slot = np.unique(voters, return_inverse=True)
    if len(unique) == 0:
        return []
    sizes = np.array([finger_size(int(f)) for f in unique], np.float32)
    # Each probe cylinder votes once per finger (its best match there); votes are summed per finger.
    best = np.zeros((len(probe_bits), len(unique)), np.float32)
    np.maximum.at(best, (probe_of, finger_slot), votes)
    scores = best.sum(axis=0) / np.sqrt(len(probe_bits) * sizes)
    order = np.argsort(-scores, kind="stable")[:shortlist]
    return [(int(unique[i]), float(scores[i])) for i in order]


def _stack(pending: list[tuple[NDArray[np.int64], Sequence[mcc.Cylinders]]]) -> NDArray[np.uint8]:
    """The cylinder codes of held batches, one row each."""
    parts = [c.bits for _, sets in pending for c in sets if len(c)]
    return np.ascontiguousarray(np.concatenate(parts)) if parts else np.zeros((0, BITS // 8), np.uint8)
