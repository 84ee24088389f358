"""The 1:N fingerprint index on Milvus: MCC indexing cylinders as BINARY_VECTOR(320) rows, Hamming distance.

The same pre-selection as ``FingerIndex`` (matcher/finger_index.py, whose docstring gives the method), held in a
Milvus collection (``<prefix>_fingers``) that every civid process shares: one partition per popcount band (the
bands keep Hamming order equal to similarity order), the ``neighbours`` nearest cylinders of each probe cylinder
taken per band, and the votes counted by ``finger_index.vote``. BIN_FLAT is exact (FAISS's flat bands' neighbours, up to
ties at the cut-off), BIN_IVF_FLAT approximate (``nprobe`` of ``nlist`` lists per segment).

A row is one cylinder. Its primary key packs what a vote needs of each neighbour, ``finger id · 2²¹ + cylinder
number · 2⁹ + set bits`` (a finger has far fewer than 4,096 minutiae, a cylinder at most 320 bits set; finger ids
below 2⁴²), so a search asks for no output fields, which measured twice as slow. The row also holds the finger's
database id (to delete by), its cylinder count (the vote's normaliser, read once per finger and cached: a
template's content never changes under its id) and ``first`` marking one row per finger (to count and list them).
Persistence is the server's, as for the face collection (matcher/milvus_gallery.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymilvus import DataType, MilvusClient, MilvusException

from matcher import mcc, milvus_client
from matcher.finger_index import BAND_COUNT, BITS, FingerIndexOptions, band_of, vote
from matcher.gallery import MilvusOptions
from matcher.milvus_client import MilvusUnavailable

ROWS_PER_FINGER = 4096
NUMBER_SHIFT = 9  # bits of the set-bit count (≤ 320)
FINGER_SHIFT = 21  # 9 + 12 bits of the cylinder number
MAX_FINGER_ID = 2**42
PRIMARY = "row"
CODE = "code"


def partition(band: int) -> str:
    """The partition holding the cylinders of popcount band ``band``."""
    return f"band_{band:02d}"


class MilvusFingerIndex(milvus_client.AliasedCollection):
    """MCC cylinder index over fingers in a Milvus collection, one partition per popcount band."""

    def __init__(self, options: MilvusOptions, *, neighbours: int = 256, vote_power: float = 3.0) -> None:
        self.options = options
        self.neighbours = neighbours
        self.vote_power = vote_power
        self.alias = f"{options.collection_prefix}_fingers"
        self.watermark = 0
        self._client: MilvusClient = milvus_client.connect(options)
        self._live_index: str | None = None
        self._sizes: dict[int, int] = {}  # cylinders per finger id, read from the collection as fingers get votes
        # The 14 band searches of one probe run side by side: each waits for the same consistency point.
        self._searchers = ThreadPoolExecutor(max_workers=BAND_COUNT, thread_name_prefix="milvus-band")

    @classmethod
    def from_options(cls, options: FingerIndexOptions) -> MilvusFingerIndex:
        """The finger backend factory registered as "milvus" (matcher/gallery_backends.py)."""
        return cls(options.milvus, neighbours=options.neighbours, vote_power=options.vote_power)

    # --- the collection (kind, location, needs_rebuild: milvus_client.AliasedCollection) -------------------
    @property
    def configured_index(self) -> str:
        return self.options.finger_index

    def _create(self, name: str) -> None:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(PRIMARY, DataType.INT64, is_primary=True)
        schema.add_field("finger", DataType.INT64)  # the database's finger_templates.id
        schema.add_field("cylinders", DataType.INT16)
        schema.add_field("first", DataType.BOOL)
        schema.add_field(CODE, DataType.BINARY_VECTOR, dim=BITS)
        index = self._client.prepare_index_params()
        params = {"nlist": self.options.nlist} if self.options.finger_index == "BIN_IVF_FLAT" else {}
        index.add_index(field_name=CODE, index_type=self.options.finger_index, metric_type="HAMMING", params=params)
        self._client.create_collection(
            name, schema=schema, index_params=index, consistency_level=self.options.consistency
        )
        for band in range(BAND_COUNT):
            self._client.create_partition(name, partition(band))

    def _collection(self) -> str:
        if self._live_index is None:
            if milvus_client.live_collection(self._client, self.alias) is None:
                name = milvus_client.new_collection_name(self.alias)
                self._create(name)
                milvus_client.publish(self._client, self.alias, name)
            self._live_index = str(milvus_client.index_of(self._client, self.alias, CODE)["index_type"])
        return self.alias

    # --- the interface ------------------------------------------------------------------------------------
    def add(self, ids: NDArray[np.int64], cylinder_sets: Sequence[mcc.Cylinders]) -> None:
        """Add fingers (one indexing ``Cylinders`` each); ids already present are replaced."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) != len(cylinder_sets):
            raise ValueError("one Cylinders per finger id")
        _check(cylinder_sets)
        _check_ids(ids)
        collection = self._collection()
        self.remove(ids.tolist())
        self._write(collection, ids, cylinder_sets)

    def _write(self, collection: str, ids: NDArray[np.int64], cylinder_sets: Sequence[mcc.Cylinders]) -> None:
        by_band: list[list[dict[str, Any]]] = [[] for _ in range(BAND_COUNT)]
        for finger, cylinders in zip(ids.tolist(), cylinder_sets):
            if not len(cylinders):
                continue  # a finger without valid minutiae is not searchable (as in FingerIndex)
            bits = mcc.bit_counts(cylinders.bits)
            for number, (code, band, count) in enumerate(zip(cylinders.bits, band_of(bits), bits.tolist())):
                by_band[int(band)].append(
                    {
                        PRIMARY: (finger << FINGER_SHIFT) | (number << NUMBER_SHIFT) | count,
                        "finger": finger,
                        "cylinders": len(cylinders),
                        "first": number == 0,
                        CODE: np.ascontiguousarray(code).tobytes(),
                    }
                )
        for band, rows in enumerate(by_band):
            for start in range(0, len(rows), milvus_client.WRITE_BATCH):
                try:
                    self._client.insert(
                        collection,
                        rows[start : start + milvus_client.WRITE_BATCH],
                        partition_name=partition(band),
                        timeout=self.options.timeout_s,
                    )
                except MilvusException as error:
                    raise MilvusUnavailable(f"Milvus refused a write to {collection}: {error}") from error

    def remove(self, ids: Iterable[int]) -> None:
        """Remove fingers by id; unknown ids are ignored."""
        wanted = [int(i) for i in ids]
        for finger in wanted:
            self._sizes.pop(finger, None)
        for start in range(0, len(wanted), milvus_client.ID_BATCH):
            chunk = wanted[start : start + milvus_client.ID_BATCH]
            self._client.delete(
                self._collection(), filter=milvus_client.id_filter("finger", chunk), timeout=self.options.timeout_s
            )

    def search(self, probe: mcc.Cylinders, shortlist: int) -> list[tuple[int, float]]:
        """The ``shortlist`` best fingers for a probe's indexing cylinders, (finger id, vote score) best first."""
        if len(probe) == 0 or shortlist <= 0:
            return []
        if probe.params.bit_count != BITS:
            raise ValueError("search takes cylinders built with mcc.INDEXING")
        collection = self._collection()
        queries = [np.ascontiguousarray(code).tobytes() for code in probe.bits]
        found = list(self._searchers.map(lambda band: self._search_band(collection, queries, band), range(BAND_COUNT)))
        width = sum(part[0].shape[1] for part in found)
        if width == 0:
            return []
        distances = np.concatenate([part[0] for part in found], axis=1)
        gallery_bits = np.concatenate([part[1] for part in found], axis=1)
        fingers = np.concatenate([part[2] for part in found], axis=1)
        self._read_sizes(collection, np.unique(fingers[fingers >= 0]).tolist())
        return vote(
            mcc.bit_counts(probe.bits).astype(np.float32),
            distances,
            gallery_bits,
            fingers,
            self._sizes.__getitem__,
            neighbours=self.neighbours,
            vote_power=self.vote_power,
            shortlist=shortlist,
        )

    def _read_sizes(self, collection: str, fingers: list[int]) -> None:
        """Cache the cylinder counts of ``fingers`` not yet known."""
        unknown = [finger for finger in fingers if finger not in self._sizes]
        for start in range(0, len(unknown), milvus_client.ID_BATCH):
            chunk = unknown[start : start + milvus_client.ID_BATCH]
            rows = self._client.query(
                collection,
                filter=f"first == true and {milvus_client.id_filter('finger', chunk)}",
                output_fields=["finger", "cylinders"],
                consistency_level=self.options.consistency,
                timeout=self.options.timeout_s,
            )
            self._sizes.update({int(row["finger"]): int(row["cylinders"]) for row in rows})

    def _search_band(
        self, collection: str, queries: list[bytes], band: int
    ) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.int64]]:
        """One band's nearest cylinders per probe cylinder, padded to one width (empty slots: finger −1)."""
        params: dict[str, Any] = {"nprobe": self.options.nprobe} if self._live_index == "BIN_IVF_FLAT" else {}
        try:
            rows = self._client.search(
                collection,
                data=queries,
                limit=self.neighbours,
                anns_field=CODE,
                partition_names=[partition(band)],
                search_params={"metric_type": "HAMMING", "params": params},
                consistency_level=self.options.consistency,
                timeout=self.options.timeout_s,
            )
        except MilvusException as error:
            raise MilvusUnavailable(f"Milvus search on {self.alias} failed: {error}") from error
        width = max((len(row) for row in rows), default=0)
        distances = np.zeros((len(queries), width), np.float32)
        keys = np.full((len(queries), width), -1, np.int64)
        for query, row in enumerate(rows):
            distances[query, : len(row)] = [hit["distance"] for hit in row]
            keys[query, : len(row)] = [hit["id"] for hit in row]
        empty = keys < 0
        fingers = np.where(empty, -1, keys >> FINGER_SHIFT)
        bits = np.where(empty, 0, keys & ((1 << NUMBER_SHIFT) - 1)).astype(np.float32)
        return distances, bits, fingers

    def ids(self) -> NDArray[np.int64]:
        """Every finger id in the index (used to reconcile with the database)."""
        pages = self._client.query_iterator(
            self._collection(),
            batch_size=milvus_client.ID_BATCH,
            filter="first == true",
            output_fields=["finger"],
            consistency_level=self.options.consistency,
            timeout=self.options.timeout_s,
        )
        found: list[int] = []
        try:
            while page := pages.next():
                found.extend(int(row["finger"]) for row in page)
        finally:
            pages.close()
        return np.array(found, dtype=np.int64)

    def rebuild(
        self,
        batches: Iterable[tuple[NDArray[np.int64], Sequence[mcc.Cylinders]]],
        total: int,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Fill a new collection with the given (finger ids, cylinders) batches, index it, then publish it."""
        name = milvus_client.new_collection_name(self.alias)
        self._create(name)
        try:
            for ids, cylinder_sets in batches:
                _check(cylinder_sets)
                ids = np.asarray(ids, dtype=np.int64).reshape(-1)
                _check_ids(ids)
                self._write(name, ids, cylinder_sets)
                if progress:
                    progress(len(ids))
            milvus_client.seal_and_index(self._client, name, CODE, self.options)
        except BaseException:
            self._client.drop_collection(name)
            raise
        milvus_client.publish(self._client, self.alias, name)
        self._live_index = self.options.finger_index
        self._sizes = {}

    def __len__(self) -> int:
        """Enrolled fingers with at least one cylinder (not cylinders)."""
        rows = self._client.query(
            self._collection(),
            filter="first == true",
            output_fields=["count(*)"],
            consistency_level=self.options.consistency,
            timeout=self.options.timeout_s,
        )
        return int(rows[0]["count(*)"]) if rows else 0

    @property
    def cylinder_count(self) -> int:
        """Cylinders in the collection."""
        return milvus_client.count(self._client, self._collection(), self.options)

    def penetration(self, shortlist: int) -> float:
        """Share of the enrolled fingers a shortlist of this length sends to the 1:1 matcher."""
        fingers = len(self)
        return min(1.0, shortlist / fingers) if fingers else 0.0

    # --- persistence ----------------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the sidecar (the collection followed, the watermark); the cylinders live on the server."""
        milvus_client.save_sidecar(self._client, self.alias, path, self.watermark)

    def load(self, path: Path) -> bool:
        """True when the collection exists (then loaded for search); False when there is none."""
        live = milvus_client.live_collection(self._client, self.alias)
        if live is None:
            return False
        self._client.load_collection(live, timeout=max(self.options.timeout_s, 60))
        self._live_index = str(milvus_client.index_of(self._client, live, CODE)["index_type"])
        self.watermark = milvus_client.sidecar_watermark(path, live)
        return True


def _check(cylinder_sets: Sequence[mcc.Cylinders]) -> None:
    for cylinders in cylinder_sets:
        if len(cylinders) and cylinders.params.bit_count != BITS:
            raise ValueError("the finger index takes cylinders built with mcc.INDEXING")
        if len(cylinders) >= ROWS_PER_FINGER:
            raise ValueError(f"a finger has at most {ROWS_PER_FINGER - 1} cylinders in the Milvus index")


def _check_ids(ids: NDArray[np.int64]) -> None:
    if len(ids) and (ids.min() < 0 or ids.max() >= MAX_FINGER_ID):
        raise ValueError(f"finger ids must lie in [0, 2**42) for the Milvus index, not {ids.min()}..{ids.max()}")
