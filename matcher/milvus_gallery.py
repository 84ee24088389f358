"""The face gallery on Milvus: templates as FLOAT_VECTOR(128) rows keyed by their database id, inner product.

The distributed counterpart of ``FaissGallery`` (matcher/gallery.py), registered as backend "milvus"
(matcher/gallery_backends.py). Every civid process of a deployment shares one collection on one Milvus (standalone
or cluster, docs/milvus.md), so no process holds the gallery in its memory and an insert by one is seen by all.
The database stays the truth: the collection is a cache that ``civid index rebuild`` refills (into a new
collection, published under the alias when complete: matcher/milvus_client.py).

Persistence is the server's: a new ``MilvusGallery`` on the same URI and prefix finds what an earlier one added.
``save`` writes only a small sidecar (the collection it followed and the watermark); ``load`` is true whenever the
collection exists with the configured index, whatever the sidecar says (the store then reconciles with the
database, which restores the watermark too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymilvus import DataType, MilvusClient, MilvusException

from matcher import milvus_client
from matcher.gallery import DIM, GalleryOptions, Hit, MilvusOptions
from matcher.milvus_client import MilvusUnavailable

PRIMARY = "id"
VECTOR = "vector"
MAX_LIMIT = 16_384  # Milvus's largest top-k


class MilvusGallery(milvus_client.AliasedCollection):
    """A face gallery in a Milvus collection (``<prefix>_faces``), searched by inner product."""

    def __init__(self, options: MilvusOptions, dim: int = DIM) -> None:
        self.options = options
        self.dim = dim
        self.alias = f"{options.collection_prefix}_faces"
        self.watermark = 0  # highest template id known to be included (set by the store)
        self._client: MilvusClient = milvus_client.connect(options)
        self._live_index: str | None = None  # the index type of the collection found at load (None: not looked)

    @classmethod
    def from_options(cls, options: GalleryOptions) -> MilvusGallery:
        """The backend factory registered as "milvus" (matcher/gallery_backends.py)."""
        return cls(options.milvus, options.dim)

    # --- what the collection is (kind, location, needs_rebuild: milvus_client.AliasedCollection) ----------
    @property
    def configured_index(self) -> str:
        return self.options.face_index

    def _build_params(self) -> dict[str, Any]:
        if self.options.face_index == "IVF_FLAT":
            return {"nlist": self.options.nlist}
        if self.options.face_index == "HNSW":
            return {"M": self.options.hnsw_m, "efConstruction": self.options.hnsw_ef_construction}
        return {}

    def _search_params(self, k: int) -> dict[str, Any]:
        index = self._live_index or self.options.face_index
        params: dict[str, Any] = {}
        if index == "IVF_FLAT":
            params = {"nprobe": self.options.nprobe}
        elif index == "HNSW":
            params = {"ef": max(self.options.ef, k)}  # HNSW refuses an ef below the top-k asked
        return {"metric_type": "IP", "params": params}

    def _create(self, name: str) -> None:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(PRIMARY, DataType.INT64, is_primary=True)  # the database's face_templates.id
        schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=self.dim)
        index = self._client.prepare_index_params()
        index.add_index(
            field_name=VECTOR, index_type=self.options.face_index, metric_type="IP", params=self._build_params()
        )
        self._client.create_collection(
            name, schema=schema, index_params=index, consistency_level=self.options.consistency
        )

    def _collection(self) -> str:
        """The alias, creating an empty collection behind it the first time (a gallery used before any rebuild)."""
        if self._live_index is None:
            if milvus_client.live_collection(self._client, self.alias) is None:
                name = milvus_client.new_collection_name(self.alias)
                self._create(name)
                milvus_client.publish(self._client, self.alias, name)
            self._live_index = self._describe(self.alias)
        return self.alias

    def _describe(self, collection: str) -> str:
        return str(milvus_client.index_of(self._client, collection, VECTOR)["index_type"])

    # --- the interface -----------------------------------------------------------------------------------
    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add templates (ids shape (n,), vectors shape (n, 128)); ids already present are replaced (upsert)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids) == 0:
            return
        self._write(self._collection(), ids, vectors, upsert=True)

    def _write(self, collection: str, ids: NDArray[np.int64], vectors: NDArray[np.float32], *, upsert: bool) -> None:
        write = self._client.upsert if upsert else self._client.insert
        step = milvus_client.WRITE_BATCH
        for start in range(0, len(ids), step):
            chunk = zip(ids[start : start + step], vectors[start : start + step])
            rows = [{PRIMARY: int(i), VECTOR: v} for i, v in chunk]
            try:
                write(collection, rows, timeout=self.options.timeout_s)
            except MilvusException as error:
                raise MilvusUnavailable(f"Milvus refused a write to {collection}: {error}") from error

    def remove(self, ids: Iterable[int]) -> None:
        """Remove templates by id; unknown ids are ignored."""
        wanted = [int(i) for i in ids]
        for start in range(0, len(wanted), milvus_client.ID_BATCH):
            self._client.delete(
                self._collection(), ids=wanted[start : start + milvus_client.ID_BATCH], timeout=self.options.timeout_s
            )

    def search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        """The ``k`` most similar templates for each query (shape (q, 128)), best first."""
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if len(queries) == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        try:
            found = self._client.search(
                self._collection(),
                data=list(queries),
                limit=min(k, MAX_LIMIT),
                search_params=self._search_params(k),
                anns_field=VECTOR,
                consistency_level=self.options.consistency,
                timeout=self.options.timeout_s,
            )
        except MilvusException as error:
            raise MilvusUnavailable(f"Milvus search on {self.alias} failed: {error}") from error
        return [[Hit(int(hit["id"]), float(hit["distance"])) for hit in row] for row in found]

    def ids(self) -> NDArray[np.int64]:
        """Every template id in the collection (used to reconcile with the database)."""
        found = milvus_client.all_ids(self._client, self._collection(), PRIMARY, self.options)
        return np.fromiter(found, dtype=np.int64)

    def vectors(self, ids: Iterable[int]) -> NDArray[np.float32]:
        """The stored vectors of ``ids`` (shape (n, 128)), in the order given; an unknown id is a KeyError."""
        wanted = [int(i) for i in ids]
        held: dict[int, NDArray[np.float32]] = {}
        for start in range(0, len(wanted), milvus_client.ID_BATCH):
            rows = self._client.get(
                self._collection(),
                ids=wanted[start : start + milvus_client.ID_BATCH],
                output_fields=[VECTOR],
                consistency_level=self.options.consistency,
                timeout=self.options.timeout_s,
            )
            held.update({int(row[PRIMARY]): np.asarray(row[VECTOR], dtype=np.float32) for row in rows})
        missing = [i for i in wanted if i not in held]
        if missing:
            raise KeyError(missing[0])
        return np.stack([held[i] for i in wanted]) if wanted else np.empty((0, self.dim), np.float32)

    def rebuild(
        self,
        batches: Iterable[tuple[NDArray[np.int64], NDArray[np.float32]]],
        total: int,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Fill a new collection with the given (ids, vectors) batches, index it, then publish it under the alias."""
        name = milvus_client.new_collection_name(self.alias)
        self._create(name)
        try:
            for ids, vectors in batches:
                ids = np.asarray(ids, dtype=np.int64).reshape(-1)
                self._write(name, ids, np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim), upsert=False)
                if progress:
                    progress(len(ids))
            milvus_client.seal_and_index(self._client, name, VECTOR, self.options)
        except BaseException:
            self._client.drop_collection(name)  # a failed rebuild leaves the published collection as it was
            raise
        milvus_client.publish(self._client, self.alias, name)
        self._live_index = self.options.face_index

    def __len__(self) -> int:
        return milvus_client.count(self._client, self._collection(), self.options)

    # --- persistence -------------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the sidecar (the collection followed, the watermark); the vectors live on the server."""
        milvus_client.save_sidecar(self._client, self.alias, path, self.watermark)

    def load(self, path: Path) -> bool:
        """True when the collection exists (then loaded for search); False (nothing changed) when there is none."""
        live = milvus_client.live_collection(self._client, self.alias)
        if live is None:
            return False
        self._client.load_collection(live, timeout=max(self.options.timeout_s, 60))
        self._live_index = self._describe(live)
        self.watermark = milvus_client.sidecar_watermark(path, live)
        return True
