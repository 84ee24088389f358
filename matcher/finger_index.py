"""The 1:N fingerprint gallery: MCC indexing cylinders in a FAISS binary index, with votes per finger.

After Cappelli, Ferrara, Maltoni, "Fingerprint indexing based on Minutia Cylinder-Code", IEEE TPAMI 2011:
every valid minutia of every enrolled finger contributes one 320-bit cylinder (``mcc.INDEXING``: NS=8,
ND=5). A probe's cylinders each look up their ``neighbours`` nearest gallery cylinders by Hamming
distance; each neighbour's similarity 1 − d / (|a| + |b|) (the MCC bit similarity without cell masks)
votes for the finger it belongs to, a probe cylinder counting at most once per finger (its best match).
A finger's score is the sum of its votes divided by sqrt(probe cylinders · finger cylinders), so fingers
with many minutiae get no head start. The top ``shortlist`` fingers go on to the 1:1 matcher
(``mcc.similarity`` on the matching cylinders).

Like the face gallery (``matcher/gallery.py``) this is a cache of the database, keyed by the finger
template's database id, and rebuildable from it. Index by size: up to ``exact_max`` cylinders an exact
``IndexBinaryFlat``; above it an ``IndexBinaryIVF`` (k-means on Hamming codes) searched with ``nprobe``
lists. Both support ``remove_ids``; FAISS ids are cylinder row numbers, and ``_row_finger`` maps a row to
its finger (−1 once removed).
"""

from __future__ import annotations

import json
import math
import os
import threading
from pathlib import Path
from typing import Callable, Iterable, Sequence

import faiss
import numpy as np
from numpy.typing import NDArray

from matcher import mcc

FLAT = "flat"
IVF = "ivf"
BITS = mcc.INDEXING.bit_count


def ivf_list_count(rows: int) -> int:
    """IVF lists for ``rows`` cylinders: about sqrt(rows)/2, a power of two, 256..4096.

    Capped at 4096 because FAISS trains binary IVF with float k-means over the 320 bits: 4096 centroids on
    160k samples already take minutes on two cores."""
    return int(min(4096, max(256, 2 ** round(math.log2(math.sqrt(max(rows, 1)) / 2)))))


class FingerIndex:
    """MCC cylinder index over fingers, thread-safe, persisted to an index file, a row map and a JSON sidecar."""

    def __init__(self, *, exact_max: int = 4_000_000, nprobe: int = 64, neighbours: int = 64) -> None:
        self.exact_max = exact_max      # cylinders, not fingers (≈ 40 per finger)
        self.nprobe = nprobe
        self.neighbours = neighbours    # gallery cylinders retrieved per probe cylinder
        self._lock = threading.RLock()
        self._index: faiss.IndexBinary = self._new_flat()
        self.kind = FLAT
        self._row_finger = np.empty(0, np.int64)    # finger id per row, −1 when removed
        self._row_bits = np.empty(0, np.int16)      # set bits per row (for the normalised similarity)
        self._finger_rows: dict[int, range] = {}     # a finger's rows are contiguous: appended together
        self.watermark = 0  # highest finger template id known to be included (set by the caller)

    # --- construction ----------------------------------------------------------------------------
    @staticmethod
    def _new_flat() -> faiss.IndexBinary:
        return faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(BITS))

    def _new_ivf(self, training: NDArray[np.uint8], rows: int) -> faiss.IndexBinary:
        nlist = min(ivf_list_count(rows), max(1, len(training) // 39))
        quantizer = faiss.IndexBinaryFlat(BITS)
        index = faiss.IndexBinaryIVF(quantizer, BITS, nlist)
        index.own_fields = True
        index.train(training)
        quantizer.this.disown()
        index.nprobe = self.nprobe
        return index

    def set_nprobe(self, nprobe: int) -> None:
        """Change how many IVF lists a search visits (no effect on an exact index)."""
        with self._lock:
            self.nprobe = nprobe
            if isinstance(self._index, faiss.IndexBinaryIVF):
                self._index.nprobe = nprobe

    def rebuild(self, batches: Iterable[tuple[NDArray[np.int64], Sequence[mcc.Cylinders]]], total: int,
                progress: Callable[[int], None] | None = None, training_sample: int = 160_000) -> None:
        """Replace the index with the given (finger ids, indexing cylinders) batches; ``total`` = fingers announced."""
        fresh = FingerIndex(exact_max=self.exact_max, nprobe=self.nprobe, neighbours=self.neighbours)
        expected_rows = total * 40  # a typical finger has about 40 valid minutiae
        pending: list[tuple[NDArray[np.int64], Sequence[mcc.Cylinders]]] = []
        index = fresh._index if expected_rows <= self.exact_max else None
        for ids, cylinder_sets in batches:
            if index is None:  # IVF trains on the first batches, then adds as it goes
                pending.append((ids, cylinder_sets))
                if sum(len(c) for _, sets in pending for c in sets) < min(training_sample, expected_rows):
                    continue
                fresh._index, fresh.kind = fresh._new_ivf(_stack(pending)[:training_sample], expected_rows), IVF
                index = fresh._index
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
            if len(rows) > self.exact_max and len(rows) >= 256 * 39:
                fresh._index, fresh.kind = fresh._new_ivf(rows[:training_sample], len(rows)), IVF
            for held_ids, held_sets in pending:
                fresh._append(held_ids, held_sets)
                if progress:
                    progress(len(held_ids))
        with self._lock:
            self._index, self.kind = fresh._index, fresh.kind
            self._row_finger, self._row_bits, self._finger_rows = fresh._row_finger, fresh._row_bits, fresh._finger_rows

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
        self._index.add_with_ids(codes, rows)
        owners = np.repeat(ids, counts)
        self._row_finger = np.concatenate([self._row_finger, owners])
        self._row_bits = np.concatenate([self._row_bits, mcc.bit_counts(codes).astype(np.int16)])
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
        rows = [self._finger_rows.pop(i) for i in ids if i in self._finger_rows]
        if rows:
            stale = np.concatenate([np.arange(r.start, r.stop, dtype=np.int64) for r in rows])
            self._index.remove_ids(stale)
            self._row_finger[stale] = -1

    def search(self, probe: mcc.Cylinders, shortlist: int) -> list[tuple[int, float]]:
        """The ``shortlist`` best fingers for a probe's indexing cylinders, (finger id, vote score) best first."""
        if len(probe) == 0 or shortlist <= 0:
            return []
        if probe.params.bit_count != BITS:
            raise ValueError("search takes cylinders built with mcc.INDEXING")
        codes = np.ascontiguousarray(probe.bits)
        with self._lock:
            if self._index.ntotal == 0:
                return []
            distances, rows = self._index.search(codes, min(self.neighbours, int(self._index.ntotal)))
            probe_of = np.nonzero(rows >= 0)[0]
            keep = rows >= 0
            rows, distances = rows[keep], distances[keep]
            fingers = self._row_finger[rows]
            alive = fingers >= 0
            probe_of, rows, distances, fingers = probe_of[alive], rows[alive], distances[alive], fingers[alive]
            gallery_bits = self._row_bits[rows].astype(np.float32)
            unique, finger_slot = np.unique(fingers, return_inverse=True)
            sizes = np.array([len(self._finger_rows[int(f)]) for f in unique], np.float32)
        if len(unique) == 0:
            return []
        probe_bits = mcc.bit_counts(codes).astype(np.float32)[probe_of]
        total = probe_bits + gallery_bits
        similarity = np.where(total > 0, 1 - distances / np.maximum(total, 1), 0.0).astype(np.float32)
        # Each probe cylinder votes once per finger (its best match there); votes are summed per finger.
        best = np.zeros((len(probe), len(unique)), np.float32)
        np.maximum.at(best, (probe_of, finger_slot), similarity)
        scores = best.sum(axis=0) / np.sqrt(len(probe) * sizes)
        order = np.argsort(-scores, kind="stable")[:shortlist]
        return [(int(unique[i]), float(scores[i])) for i in order]

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
        return int(self._index.ntotal)

    def ids(self) -> NDArray[np.int64]:
        """Every finger id in the index (used to reconcile with the database)."""
        with self._lock:
            return np.fromiter(self._finger_rows.keys(), np.int64, len(self._finger_rows))

    @property
    def needs_rebuild(self) -> bool:
        """True when the index kind no longer fits its size, or removals left over a quarter of rows dead."""
        rows = self.cylinder_count
        dead = len(self._row_finger) - rows
        return ((self.kind == FLAT and rows > self.exact_max * 1.25) or (self.kind == IVF and rows < self.exact_max // 2)
                or dead > max(rows, 1) // 4)

    # --- persistence -----------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write index, row map (``.rows.npz``) and sidecar (``.json``) atomically: a crash leaves the old set."""
        path.parent.mkdir(parents=True, exist_ok=True)
        rows_path, meta_path = path.with_suffix(".rows.npz"), path.with_suffix(".json")
        with self._lock:
            faiss.write_index_binary(self._index, str(path.with_suffix(".tmp")))
            with open(rows_path.with_suffix(".tmp"), "wb") as handle:
                np.savez(handle, finger=self._row_finger, bits=self._row_bits)
            meta = {"kind": self.kind, "fingers": len(self), "cylinders": self.cylinder_count,
                    "rows": len(self._row_finger), "watermark": self.watermark, "bits": BITS}
        meta_path.with_suffix(".json.tmp").write_text(json.dumps(meta))
        os.replace(path.with_suffix(".tmp"), path)
        os.replace(rows_path.with_suffix(".tmp"), rows_path)
        os.replace(meta_path.with_suffix(".json.tmp"), meta_path)

    def load(self, path: Path) -> bool:
        """Load a saved index; False (and the index left as it was) when it is missing or inconsistent."""
        try:
            meta = json.loads(path.with_suffix(".json").read_text())
            index = faiss.read_index_binary(str(path))
            with np.load(path.with_suffix(".rows.npz"), allow_pickle=False) as stored:
                row_finger, row_bits = stored["finger"].astype(np.int64), stored["bits"].astype(np.int16)
            if (index.d != BITS or meta["bits"] != BITS or index.ntotal != meta["cylinders"]
                    or len(row_finger) != meta["rows"] or len(row_bits) != len(row_finger) or int((row_finger >= 0).sum()) != index.ntotal):
                return False
        except (OSError, RuntimeError, ValueError, KeyError):
            return False
        live = np.flatnonzero(row_finger >= 0)
        order = np.argsort(row_finger[live], kind="stable")
        fingers, starts, counts = np.unique(row_finger[live][order], return_index=True, return_counts=True)
        firsts = live[order][starts]
        finger_rows = {f: range(a, a + n) for f, a, n in zip(fingers.tolist(), firsts.tolist(), counts.tolist())}
        if isinstance(index, faiss.IndexBinaryIVF):
            index.nprobe = self.nprobe
        with self._lock:
            self._index, self.kind, self.watermark = index, meta["kind"], int(meta["watermark"])
            self._row_finger, self._row_bits, self._finger_rows = row_finger, row_bits, finger_rows
        return True


def _stack(pending: list[tuple[NDArray[np.int64], Sequence[mcc.Cylinders]]]) -> NDArray[np.uint8]:
    """The cylinder codes of held batches, one row each."""
    parts = [c.bits for _, sets in pending for c in sets if len(c)]
    return np.ascontiguousarray(np.concatenate(parts)) if parts else np.zeros((0, BITS // 8), np.uint8)
