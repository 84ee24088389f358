"""What the two Milvus backends share: the connection, and collections served under a stable alias.

Each backend's collection is reached by an alias (``<prefix>_faces``, ``<prefix>_fingers``) that points at one
physical collection (``<prefix>_faces_<time>``). A rebuild fills a new physical collection, indexes and loads it,
then moves the alias and drops the old one: the workers searching meanwhile keep using the old one, and none of
them ever sees a half-filled gallery. Only this module and the two backends import pymilvus (a client library, as
faiss is: matcher stays free of the web and the database), and only when ``CIVID_GALLERY_BACKEND=milvus``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymilvus import MilvusClient, MilvusException

from matcher.gallery import GalleryUnavailable, MilvusOptions

# Rows per insert call: 10k face vectors are ~5 MiB, well inside gRPC's 64 MiB message limit.
WRITE_BATCH = 10_000
# Ids per query or delete expression, and rows per page when listing every id.
ID_BATCH = 16_384
# How long a rebuild waits for Milvus to index what it inserted (1M face vectors: a few minutes on 2 cores).
INDEX_WAIT_S = 1800.0


class MilvusUnavailable(GalleryUnavailable):
    """The Milvus server named by CIVID_GALLERY_MILVUS_URI could not be reached or refused a request."""


def connect(options: MilvusOptions) -> MilvusClient:
    """A client for ``options.uri``; ``MilvusUnavailable`` naming the URI when the server does not answer."""
    try:
        return MilvusClient(uri=options.uri, timeout=options.timeout_s)
    except (MilvusException, OSError) as error:
        raise MilvusUnavailable(f"Milvus at {options.uri} (CIVID_GALLERY_MILVUS_URI): {error}") from error


class AliasedCollection:
    """What both backends report of their collection for status output (``civid index status``): the index in
    use, where it lives, and whether the setting changed since it was built. A backend sets the attributes and
    names its configured index type."""

    options: MilvusOptions
    alias: str
    _client: MilvusClient
    _live_index: str | None  # the index type of the collection found (None: not looked at yet)

    @property
    def configured_index(self) -> str:
        """The index type the settings ask for (CIVID_GALLERY_MILVUS_FACE_INDEX or _FINGER_INDEX)."""
        raise NotImplementedError

    @property
    def kind(self) -> str:
        """ "milvus <index type>" for status output."""
        return f"milvus {self._live_index or self.configured_index}"

    @property
    def location(self) -> str:
        """The server and collection (for status output): the alias and the collection it points at now."""
        return f"{self.options.uri} collection {self.alias} ({live_collection(self._client, self.alias)})"

    @property
    def needs_rebuild(self) -> bool:
        """True when the collection's index is not the configured one (the setting changed since it was built)."""
        return self._live_index is not None and self._live_index != self.configured_index


def live_collection(client: MilvusClient, alias: str) -> str | None:
    """The physical collection ``alias`` points at, or None when there is none yet."""
    # Listed first: describing an absent alias works too, but pymilvus logs it as an RPC error with a traceback.
    if alias not in client.list_aliases().get("aliases", []):
        return None
    return str(client.describe_alias(alias)["collection_name"])


def new_collection_name(alias: str) -> str:
    """A fresh physical collection name for a rebuild of ``alias`` (time-ordered, unique per rebuild)."""
    return f"{alias}_{time.time_ns()}"


def publish(client: MilvusClient, alias: str, collection: str) -> None:
    """Point ``alias`` at ``collection`` (already filled, indexed and loaded) and drop what it pointed at before."""
    previous = live_collection(client, alias)
    if previous is None:
        client.create_alias(collection, alias)
    else:
        client.alter_alias(collection, alias)
        client.drop_collection(previous)


def index_of(client: MilvusClient, collection: str, field: str) -> dict[str, Any]:
    """The index description of ``field`` (index_type, metric_type and build parameters as strings)."""
    return dict(client.describe_index(collection, field))


def all_ids(client: MilvusClient, collection: str, primary: str, options: MilvusOptions) -> Iterator[int]:
    """Every primary key of ``collection``, page by page (a query returns at most 16,384 rows)."""
    pages = client.query_iterator(
        collection,
        batch_size=ID_BATCH,
        filter="",
        output_fields=[primary],
        consistency_level=options.consistency,
        timeout=options.timeout_s,
    )
    try:
        while page := pages.next():
            yield from (int(row[primary]) for row in page)
    finally:
        pages.close()


def count(client: MilvusClient, collection: str, options: MilvusOptions) -> int:
    """The rows of ``collection`` (a count(*) query: row statistics lag until segments are flushed)."""
    rows = client.query(
        collection,
        filter="",
        output_fields=["count(*)"],
        consistency_level=options.consistency,
        timeout=options.timeout_s,
    )
    return int(rows[0]["count(*)"]) if rows else 0


def id_filter(field: str, ids: NDArray[np.int64] | list[int]) -> str:
    """A boolean expression selecting rows whose ``field`` is one of ``ids`` (integers only: no injection)."""
    return f"{field} in [{','.join(str(int(i)) for i in ids)}]"


def seal_and_index(client: MilvusClient, collection: str, field: str, options: MilvusOptions) -> None:
    """Flush what was inserted (sealing its segments) and wait until Milvus has indexed them, then load.

    Unsealed rows are searched by brute force, so a rebuilt gallery searched before this would be correct but slow.
    Segments too small to index (under 1,024 rows) stay unindexed and count as done."""
    client.flush(collection, timeout=max(options.timeout_s, 600))
    deadline = time.monotonic() + INDEX_WAIT_S
    while time.monotonic() < deadline:
        if int(index_of(client, collection, field).get("pending_index_rows", 0)) == 0:
            break
        time.sleep(0.5)
    client.load_collection(collection, timeout=max(options.timeout_s, 600))


def save_sidecar(client: MilvusClient, alias: str, path: Path, watermark: int) -> None:
    """Write ``<path stem>.milvus.json``: the collection the alias points at and the watermark (atomically)."""
    sidecar = path.with_suffix(".milvus.json")
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    temporary = sidecar.with_name(f"{sidecar.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"collection": live_collection(client, alias), "watermark": watermark}))
    os.replace(temporary, sidecar)


def sidecar_watermark(path: Path, live: str) -> int:
    """The watermark the sidecar kept for collection ``live``; 0 when it is missing, unreadable or followed another
    collection (a rebuild since): the store's reconcile then sets it from the database."""
    try:
        meta = json.loads(path.with_suffix(".milvus.json").read_text())
        return int(meta["watermark"]) if meta.get("collection") == live else 0
    except (OSError, ValueError, KeyError, TypeError):
        return 0
