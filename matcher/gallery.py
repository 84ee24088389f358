"""The 1:N face gallery: a FAISS index over L2-normalised descriptors, searched by inner product.

The gallery is a cache: it holds (template id, vector) pairs whose truth is the database, and it can
always be rebuilt from there. ``Gallery`` is everything the gallery store (enrollment/gallery_store.py)
asks of an engine, so another backend (a distributed vector engine beside PostgreSQL) is one class
registered in matcher/gallery_backends.py; ``FaissGallery`` is the one-machine implementation.

Index choice by size: up to ``exact_max`` templates an exact ``IndexFlatIP``; above it an
``IndexIVFFlat`` (inner product) whose recall against exact search is measured by
``benchmarks/gallery_speed.py``. IVF, not HNSW, because templates must be removable and an IVF
index supports ``remove_ids`` and rebuilds from a database in seconds.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import faiss
import numpy as np
from numpy.typing import NDArray

from matcher import index_files
from matcher.faiss_threads import search_threads

DIM = 128
FLAT = "flat"
IVF = "ivf"


class GalleryUnavailable(RuntimeError):
    """The gallery's engine cannot be reached or refused a request (a server-side backend: Milvus)."""


@dataclass(frozen=True)
class MilvusOptions:
    """Where the Milvus backends (matcher/milvus_gallery.py, matcher/milvus_finger_index.py) keep their collections
    and how they index and search them. Plain values: building one imports no client library."""

    uri: str = "http://127.0.0.1:19530"
    collection_prefix: str = "civid"  # collections <prefix>_faces and <prefix>_fingers (aliases of the live ones)
    timeout_s: float = 10.0  # one call to the server (search, insert, delete)
    face_index: str = "HNSW"  # FLAT (exact), IVF_FLAT or HNSW over the face vectors, inner product
    nlist: int = 1024  # IVF_FLAT / BIN_IVF_FLAT: lists per segment (Milvus trains each sealed segment's index)
    nprobe: int = 64  # IVF_FLAT / BIN_IVF_FLAT: lists visited per search
    hnsw_m: int = 16  # HNSW: links per node
    hnsw_ef_construction: int = 200  # HNSW: candidates kept while building
    ef: int = 128  # HNSW: candidates kept while searching (at least k)
    finger_index: str = "BIN_FLAT"  # BIN_FLAT (exact) or BIN_IVF_FLAT over MCC cylinders, Hamming distance
    # Strong: a search sees every write acknowledged before it, by any process (what dedup needs); it waits for the
    # server's next time tick (proxy.timeTickInterval, 200 ms by default). Bounded/Eventually do not wait and may
    # miss the last seconds of writes; Session sees this client's inserts but not, on Milvus 2.3, its deletes.
    consistency: str = "Strong"


@dataclass(frozen=True)
class GalleryOptions:
    """What every backend is built from (the gallery store reads them from settings once)."""

    exact_max: int = 100_000  # up to this many templates an exact search; above it an approximate index
    nprobe: int = 512  # approximate index: lists (or probes) visited per search
    dim: int = DIM
    # FAISS IVF: 1 splits one query's probed lists across threads (faster on an idle machine), 0 gives each query
    # one thread (better when several searches run at once); benchmarks/gallery_speed.py --parallel-modes measures.
    faiss_parallel_mode: int = 1
    faiss_threads: int = 1  # OpenMP threads per FAISS search, 0 FAISS's default (matcher/faiss_threads.py)
    milvus: MilvusOptions = MilvusOptions()


@dataclass(frozen=True)
class Hit:
    """One gallery match: the template's database id and its cosine similarity to the query."""

    template_id: int
    score: float


class GallerySearch(Protocol):
    """The one thing a 1:N search needs: the nearest templates of each query (a gallery or its store)."""

    def search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]: ...


class Gallery(GallerySearch, Protocol):
    """What the gallery store needs from a 1:N face gallery, whatever the engine.

    ``watermark`` is the highest template id the entries are known to include: the store sets it and
    adds the templates above it to catch up with commits of other processes; ``save`` keeps it with the
    entries and ``load`` restores it. ``kind`` names the index structure for status pages ("flat", "ivf")."""

    watermark: int

    @property
    def kind(self) -> str: ...
    @property
    def needs_rebuild(self) -> bool:
        """True when the structure no longer suits the size (the store then rebuilds instead of loading)."""
        ...

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None: ...
    def remove(self, ids: Iterable[int]) -> None: ...
    def ids(self) -> NDArray[np.int64]: ...
    def vectors(self, ids: Iterable[int]) -> NDArray[np.float32]:
        """The held vectors of ``ids`` (shape (n, dim)), in the order given; an unknown id is a KeyError."""
        ...

    def rebuild(
        self,
        batches: Iterable[tuple[NDArray[np.int64], NDArray[np.float32]]],
        total: int,
        progress: Callable[[int], None] | None = None,
    ) -> None: ...
    def save(self, path: Path) -> None: ...
    def load(self, path: Path) -> bool:
        """Restore what ``save`` wrote; False (and the gallery left empty) when there is nothing usable."""
        ...

    def __len__(self) -> int: ...


def ivf_list_count(size: int) -> int:
    """Number of IVF lists for a gallery of ``size``: about 2·sqrt(N), a power of two, 256..16384."""
    return int(min(16384, max(256, 2 ** round(math.log2(2 * math.sqrt(max(size, 1)))))))


class FaissGallery:
    """A FAISS gallery with ids, thread-safe, persisted to one file plus a small JSON sidecar."""

    def __init__(
        self, *, exact_max: int = 100_000, nprobe: int = 512, dim: int = DIM, parallel_mode: int = 1, threads: int = 1
    ) -> None:
        self.exact_max = exact_max
        self.nprobe = nprobe
        self.dim = dim
        self.parallel_mode = parallel_mode
        self.threads = threads
        self._lock = threading.RLock()
        self._index: faiss.Index = self._new_flat()
        self.kind = FLAT
        self.watermark = 0  # highest template id known to be included (set by the caller)

    @classmethod
    def from_options(cls, options: GalleryOptions) -> FaissGallery:
        """The backend factory registered as "faiss" (matcher/gallery_backends.py)."""
        return cls(
            exact_max=options.exact_max,
            nprobe=options.nprobe,
            dim=options.dim,
            parallel_mode=options.faiss_parallel_mode,
            threads=options.faiss_threads,
        )

    # --- construction ----------------------------------------------------------------------
    def _new_flat(self) -> faiss.Index:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _new_ivf(self, training: NDArray[np.float32], size: int) -> faiss.Index:
        nlist = min(ivf_list_count(size), max(1, len(training) // 39))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(training)
        self._tune(index)
        return index

    def _tune(self, index: faiss.IndexIVF) -> None:
        # parallel_mode 1 splits one query's probed lists across threads (measured 11.2 ms -> 6.3 ms p50 at 1M on an
        # idle machine); 0 runs each query on one thread, which wastes less when searches already run side by side.
        index.nprobe = self.nprobe
        index.parallel_mode = self.parallel_mode

    def set_nprobe(self, nprobe: int) -> None:
        """Change how many IVF lists a search visits (no effect on an exact index)."""
        with self._lock:
            self.nprobe = nprobe
            if isinstance(self._index, faiss.IndexIVF):
                self._index.nprobe = nprobe

    def set_parallel_mode(self, parallel_mode: int) -> None:
        """Change how an IVF search spreads over threads (0: one thread a query; 1: a query's lists split)."""
        with self._lock:
            self.parallel_mode = parallel_mode
            if isinstance(self._index, faiss.IndexIVF):
                self._index.parallel_mode = parallel_mode

    def rebuild(
        self,
        batches: Iterable[tuple[NDArray[np.int64], NDArray[np.float32]]],
        total: int,
        progress: Callable[[int], None] | None = None,
        training_sample: int = 100_000,
    ) -> None:
        """Replace the index with the given (ids, vectors) batches; ``total`` picks the index kind."""
        if total <= self.exact_max:
            index, kind, pending = self._new_flat(), FLAT, None
        else:
            index, kind, pending = None, IVF, []
        for ids, vectors in batches:
            ids = np.ascontiguousarray(ids, dtype=np.int64)
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
            if index is None:
                # IVF trains on the first batches (enough for the k-means), then adds as it goes.
                pending.append((ids, vectors))
                if sum(len(i) for i, _ in pending) < min(training_sample, total):
                    continue
                training = np.concatenate([v for _, v in pending])[:training_sample]
                index = self._new_ivf(training, total)
                for held_ids, held_vectors in pending:
                    index.add_with_ids(held_vectors, held_ids)
                added = sum(len(i) for i, _ in pending)  # the held batches count now, not only this one
                pending = []
            else:
                index.add_with_ids(vectors, ids)
                added = len(ids)
            if progress:
                progress(added)
        if index is None:  # fewer vectors arrived than announced
            vectors = np.concatenate([v for _, v in pending]) if pending else np.empty((0, self.dim), np.float32)
            ids = np.concatenate([i for i, _ in pending]) if pending else np.empty(0, np.int64)
            index = self._new_flat() if len(ids) <= self.exact_max else self._new_ivf(vectors, len(ids))
            kind = FLAT if len(ids) <= self.exact_max else IVF
            if len(ids):
                index.add_with_ids(vectors, ids)
                if progress:
                    progress(len(ids))
        with self._lock:
            self._index, self.kind = index, kind

    # --- the interface -----------------------------------------------------------------------
    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add templates (ids shape (n,), vectors shape (n, 128)); ids already present are replaced."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids) == 0:
            return
        with self._lock:
            # faiss's Python remove_ids takes an id array (its stub for Index lists only an IDSelector).
            self._index.remove_ids(ids)  # type: ignore[arg-type]
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids: Iterable[int]) -> None:
        """Remove templates by id; unknown ids are ignored."""
        array = np.fromiter(ids, dtype=np.int64)
        if len(array):
            with self._lock:
                self._index.remove_ids(array)  # type: ignore[arg-type]  # an id array, as in add()

    def search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        """The ``k`` most similar templates for each query (shape (q, 128)), best first."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        with self._lock, search_threads(self.threads):
            if self._index.ntotal == 0:
                return [[] for _ in range(len(queries))]
            scores, ids = self._index.search(queries, min(k, self._index.ntotal))
        return [
            [Hit(int(i), float(s)) for s, i in zip(row_scores, row_ids) if i >= 0]
            for row_scores, row_ids in zip(scores, ids)
        ]

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def vectors(self, ids: Iterable[int]) -> NDArray[np.float32]:
        """The stored vectors of ``ids`` (shape (n, 128)); an id not in the index is a KeyError."""
        wanted = [int(i) for i in ids]
        with self._lock:
            if isinstance(self._index, faiss.IndexIDMap2):
                try:
                    rows = [self._index.reconstruct(i) for i in wanted]
                except RuntimeError as error:  # FAISS reports an unknown id as a RuntimeError
                    raise KeyError(str(error)) from None
            else:  # an IVF index keeps no id map: look each id up in its inverted lists
                rows = [self._ivf_vector(i) for i in wanted]
        return np.stack(rows).astype(np.float32) if rows else np.empty((0, self.dim), np.float32)

    def _ivf_vector(self, template_id: int) -> NDArray[np.float32]:
        ivf: Any = self._index  # an IndexIVFFlat; FAISS's stubs type it as the base Index
        invlists = ivf.invlists
        for list_no in range(ivf.nlist):
            size = invlists.list_size(list_no)
            if not size:
                continue
            list_ids = faiss.rev_swig_ptr(invlists.get_ids(list_no), size)
            hits = np.flatnonzero(list_ids == template_id)
            if len(hits):
                codes = faiss.rev_swig_ptr(invlists.get_codes(list_no), size * invlists.code_size)
                offset = int(hits[0]) * invlists.code_size
                return np.frombuffer(codes[offset : offset + invlists.code_size].tobytes(), dtype=np.float32).copy()
        raise KeyError(template_id)

    def ids(self) -> NDArray[np.int64]:
        """Every template id in the index (used to reconcile with the database)."""
        with self._lock:
            if isinstance(self._index, faiss.IndexIDMap2):
                return faiss.vector_to_array(self._index.id_map).astype(np.int64)
            # Not an IDMap2, so an IVF index: the only two kinds built or loaded. An IVF owns its inverted lists.
            ivf = cast(faiss.IndexIVF, self._index)
            invlists = cast(faiss.InvertedLists, ivf.invlists)
            parts = [
                faiss.rev_swig_ptr(invlists.get_ids(list_no), invlists.list_size(list_no)).copy()
                for list_no in range(ivf.nlist)
                if invlists.list_size(list_no)
            ]
            return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)

    @property
    def needs_rebuild(self) -> bool:
        """True when the index kind no longer fits the size (flat grown past exact_max, or IVF shrunk)."""
        size = len(self)
        return (self.kind == FLAT and size > self.exact_max * 1.25) or (self.kind == IVF and size < self.exact_max // 2)

    # --- persistence ---------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the index and its sidecar as one pair (matcher/index_files.py): a crash leaves the old pair."""
        with index_files.saving_pair(path, path.with_suffix(".json")) as (tmp, meta_tmp):
            with self._lock:
                faiss.write_index(self._index, str(tmp))
                meta = {
                    "kind": self.kind,
                    "count": int(self._index.ntotal),
                    "watermark": self.watermark,
                    "dim": self.dim,
                }
            meta_tmp.write_text(json.dumps(meta))

    def load(self, path: Path) -> bool:
        """Load a saved index; False (and the gallery left empty) when it is missing or unreadable."""
        meta_path = path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text())
            index = faiss.read_index(str(path))
            if index.d != self.dim or index.ntotal != meta["count"]:
                return False
        except (OSError, RuntimeError, ValueError, KeyError):
            return False
        if isinstance(index, faiss.IndexIVF):
            self._tune(index)
        with self._lock:
            self._index, self.kind, self.watermark = index, meta["kind"], int(meta["watermark"])
        return True
