"""A gallery backend is one class: a brute-force numpy gallery registered here runs the store's whole life."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from benchmarks.database_fill import fill
from enrollment.gallery_store import GalleryStore
from matcher.gallery import Gallery, GalleryOptions, Hit
from matcher.gallery_backends import UnknownGalleryBackend, register_backend, unregister_backend
from server.services import Services, build_services
from tests.conftest import make_settings


class NumpyGallery:
    """Exact search by a matrix product over a dict of vectors; saved as one .npz plus the watermark."""

    kind = "numpy"
    needs_rebuild = False

    def __init__(self, options: GalleryOptions) -> None:
        self.dim = options.dim
        self.watermark = 0
        self._vectors: dict[int, NDArray[np.float32]] = {}

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        for template_id, vector in zip(ids.tolist(), np.asarray(vectors, np.float32).reshape(-1, self.dim)):
            self._vectors[int(template_id)] = vector

    def remove(self, ids: Iterable[int]) -> None:
        for template_id in ids:
            self._vectors.pop(int(template_id), None)

    def search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        queries = np.asarray(queries, np.float32).reshape(-1, self.dim)
        if not self._vectors:
            return [[] for _ in queries]
        ids = np.array(list(self._vectors), np.int64)
        scores = queries @ np.stack(list(self._vectors.values())).T
        order = np.argsort(-scores, axis=1)[:, :k]
        return [[Hit(int(ids[j]), float(row[j])) for j in best] for row, best in zip(scores, order)]

    def ids(self) -> NDArray[np.int64]:
        return np.array(sorted(self._vectors), np.int64)

    def vectors(self, ids: Iterable[int]) -> NDArray[np.float32]:
        return np.stack([self._vectors[int(i)] for i in ids])

    def rebuild(
        self,
        batches: Iterable[tuple[NDArray[np.int64], NDArray[np.float32]]],
        total: int,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self._vectors = {}
        for ids, vectors in batches:
            self.add(ids, vectors)
            if progress:
                progress(len(ids))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(
            path.with_suffix(".npy"),
            np.stack(list(self._vectors.values())) if self._vectors else np.empty((0, self.dim), np.float32),
        )
        path.with_suffix(".json").write_text(json.dumps({"ids": list(self._vectors), "watermark": self.watermark}))

    def load(self, path: Path) -> bool:
        try:
            meta = json.loads(path.with_suffix(".json").read_text())
            vectors = np.load(path.with_suffix(".npy"))
        except (OSError, ValueError):
            return False
        self._vectors = dict(zip(meta["ids"], vectors))
        self.watermark = int(meta["watermark"])
        return True

    def __len__(self) -> int:
        return len(self._vectors)


def _numpy_gallery(options: GalleryOptions) -> Gallery:
    return NumpyGallery(options)


@pytest.fixture
def numpy_services(tmp_path: Path) -> Iterator[Services]:
    register_backend("numpy", _numpy_gallery)
    built = build_services(make_settings(tmp_path, gallery_backend="numpy"))
    yield built
    built.close()
    unregister_backend("numpy")


def _people(count: int) -> NDArray[np.float32]:
    vectors = np.random.default_rng(7).normal(size=(count, 128)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_store_adds_searches_removes_and_rebuilds_through_a_registered_backend(numpy_services: Services) -> None:
    store = numpy_services.gallery
    assert store.kind == "numpy"
    people = _people(3)
    fill(numpy_services, people)
    assert store.rebuild() == 3
    ids = store.ids().tolist()
    assert len(store) == 3 and store.watermark == max(ids)
    assert [row[0].template_id for row in store.search(people, 1)] == ids  # each finds itself first
    store.removed([ids[0]])
    assert ids[0] not in [hit.template_id for hit in store.search(people[:1], 3)[0]]
    store.added([ids[0]], people[:1])
    assert store.search(people[:1], 1)[0][0].template_id == ids[0]
    assert np.allclose(store.vectors(ids), people)


def test_store_reopens_from_what_the_backend_saved(numpy_services: Services) -> None:
    fill(numpy_services, _people(2))
    numpy_services.gallery.rebuild()
    reopened = GalleryStore(numpy_services.settings, numpy_services.keyring, numpy_services.sessions)
    assert reopened.open() == "loaded"
    assert reopened.ids().tolist() == numpy_services.gallery.ids().tolist()
    numpy_services.gallery.removed([reopened.ids().tolist()[0]])  # the saved cache now lacks a template
    again = GalleryStore(numpy_services.settings, numpy_services.keyring, numpy_services.sessions)
    assert again.open() == "reconciled"  # the database is the truth: the template is added back
    assert again.ids().tolist() == reopened.ids().tolist()


def test_unknown_gallery_backend_refuses_to_start_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownGalleryBackend, match=r"unknown gallery backend 'vespa'.*known backends: faiss, milvus"):
        build_services(make_settings(tmp_path, gallery_backend="vespa"))


def test_a_built_in_backend_is_one_line_naming_its_class_imported_only_when_chosen(monkeypatch) -> None:
    from matcher import gallery_backends

    monkeypatch.setitem(gallery_backends.BUILT_IN, "numpy", "tests.enrollment.test_gallery_backends:NumpyGallery")
    assert "numpy" in gallery_backends.backend_names()
    assert isinstance(gallery_backends.create_gallery("numpy", GalleryOptions()), NumpyGallery)
