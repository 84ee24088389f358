"""The gallery backends the contract suites run over: FAISS in this process, and Milvus on the session's server.

``gallery_factory`` and ``finger_factory`` are parametrised fixtures: each test using one runs once per backend,
and builds as many empty galleries as it needs (a second one on the same Milvus prefix sees the first's rows, as a
second civid process does)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from matcher.finger_index import FingerIndex
from matcher.gallery import FaissGallery, MilvusOptions
from tests.milvus import drop_collections

EXACT_MAX = 500
BACKENDS = ["faiss", "milvus"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def milvus_options(backend: str, request: pytest.FixtureRequest) -> Iterator[Callable[..., MilvusOptions]]:
    """Options for Milvus galleries under a prefix of this test's own (dropped afterwards)."""
    if backend != "milvus":
        yield lambda **_: MilvusOptions()
        return
    import secrets

    uri = request.getfixturevalue("milvus_uri")
    prefix = "t_" + secrets.token_hex(6)
    yield lambda **overrides: MilvusOptions(uri=uri, collection_prefix=prefix, **overrides)
    drop_collections(uri, prefix)


@pytest.fixture
def gallery_factory(backend: str, milvus_options: Callable[..., MilvusOptions]) -> Callable[..., Any]:
    """Builds an empty face gallery of the backend: FAISS exact up to EXACT_MAX, Milvus FLAT unless told."""

    def make(**overrides: Any) -> Any:
        if backend == "faiss":
            return FaissGallery(exact_max=overrides.get("exact_max", EXACT_MAX), nprobe=64)
        from matcher.milvus_gallery import MilvusGallery

        return MilvusGallery(milvus_options(face_index=overrides.get("face_index", "FLAT")))

    return make


@pytest.fixture
def finger_factory(backend: str, milvus_options: Callable[..., MilvusOptions]) -> Callable[..., Any]:
    """Builds an empty finger index of the backend: both exact (FAISS flat bands, Milvus BIN_FLAT) unless told."""

    def make(**overrides: Any) -> Any:
        if backend == "faiss":
            return FingerIndex(exact_max=overrides.get("exact_max", 1_000_000), nprobe=overrides.get("nprobe", 16))
        from matcher.milvus_finger_index import MilvusFingerIndex

        index = overrides.get("finger_index", "BIN_FLAT")
        return MilvusFingerIndex(milvus_options(finger_index=index, nlist=16, nprobe=overrides.get("nprobe", 16)))

    return make
