"""The face gallery contract, one suite over every backend: FAISS in this process and Milvus on a real server.

What the gallery store relies on: exact search equals numpy's inner product (ids, order and scores), add replaces,
remove forgets (unknown ids ignored), ids/vectors/len say what is held, rebuild replaces everything, and what is
saved comes back on load (FAISS from its file; Milvus from the server, which a second client on the same
collections sees). Approximate indexes (FAISS IVF, Milvus HNSW and IVF_FLAT) keep recall@10 high."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.gallery import Gallery
from tests.matcher.gallery_backends import (  # noqa: F401 - fixtures
    EXACT_MAX,
    backend,
    finger_factory,
    gallery_factory,
    milvus_options,
)
from tests.matcher.test_gallery import batches, people

SIZE = 400


@pytest.fixture(scope="module")
def population() -> tuple[np.ndarray, np.ndarray]:
    ids = np.arange(1000, 1000 + SIZE, dtype=np.int64)
    return ids, people(SIZE)


@pytest.fixture
def gallery(gallery_factory, population) -> Gallery:
    built = gallery_factory()
    built.rebuild(batches(*population, size=150), SIZE)
    return built


def test_search_equals_numpys_exact_inner_product_in_ids_order_and_scores(gallery, population) -> None:
    ids, vectors = population
    queries = people(6, seed=5)
    exact = queries @ vectors.T
    order = np.argsort(-exact, axis=1)[:, :10]
    for row, hits in enumerate(gallery.search(queries, 10)):
        assert [h.template_id for h in hits] == ids[order[row]].tolist()
        assert [h.score for h in hits] == pytest.approx(exact[row, order[row]].tolist(), abs=1e-5)


def test_each_stored_vector_finds_itself_first_with_score_one(gallery, population) -> None:
    ids, vectors = population
    hits = gallery.search(vectors[::40], 3)
    assert [row[0].template_id for row in hits] == ids[::40].tolist()
    assert all(row[0].score == pytest.approx(1.0, abs=1e-5) for row in hits)


def test_ids_len_and_vectors_say_what_is_held(gallery, population) -> None:
    ids, vectors = population
    assert len(gallery) == SIZE
    assert gallery.ids().dtype == np.int64 and sorted(gallery.ids().tolist()) == ids.tolist()
    assert np.allclose(gallery.vectors([int(ids[7]), int(ids[3]), int(ids[150])]), vectors[[7, 3, 150]], atol=1e-6)
    with pytest.raises(KeyError):
        gallery.vectors([-5])


def test_added_template_is_found_and_removed_template_is_not(gallery) -> None:
    newcomer = people(1, seed=42)
    gallery.add(np.array([77], dtype=np.int64), newcomer)
    assert len(gallery) == SIZE + 1
    hit = gallery.search(newcomer, 1)[0][0]
    assert hit.template_id == 77 and hit.score == pytest.approx(1.0, abs=1e-5)
    gallery.remove([77, 987654])  # an unknown id is ignored
    assert len(gallery) == SIZE and 77 not in gallery.ids().tolist()
    assert all(h.template_id != 77 for h in gallery.search(newcomer, 10)[0])


def test_adding_an_existing_id_replaces_its_vector(gallery, population) -> None:
    ids = population[0]
    replacement = people(1, seed=7)
    gallery.add(ids[:1], replacement)
    assert len(gallery) == SIZE
    hit = gallery.search(replacement, 1)[0][0]
    assert hit.template_id == ids[0] and hit.score == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(gallery.vectors([int(ids[0])]), replacement, atol=1e-6)


def test_search_returns_k_hits_best_first_for_each_query(gallery, population) -> None:
    results = gallery.search(population[1][:4], 5)
    assert len(results) == 4
    for hits in results:
        scores = [h.score for h in hits]
        assert len(hits) == 5 and scores == sorted(scores, reverse=True)


def test_empty_gallery_holds_nothing_and_finds_nothing(gallery_factory) -> None:
    empty = gallery_factory()
    assert len(empty) == 0 and empty.ids().tolist() == []
    assert empty.search(people(3), 5) == [[], [], []]


def test_k_larger_than_the_gallery_returns_what_there_is(gallery_factory, population) -> None:
    small = gallery_factory()
    small.add(population[0][:3], population[1][:3])
    assert len(small.search(population[1][:1], 10)[0]) == 3


def test_rebuild_replaces_everything_and_reports_progress(gallery, population) -> None:
    ids, vectors = population
    fresh_ids = np.arange(90_000, 90_050, dtype=np.int64)
    fresh = people(50, seed=11)
    progress: list[int] = []
    gallery.rebuild(batches(fresh_ids, fresh, size=20), 50, progress=progress.append)
    assert sum(progress) == 50 and len(gallery) == 50
    assert sorted(gallery.ids().tolist()) == fresh_ids.tolist()
    assert gallery.search(vectors[:1], 1)[0][0].template_id in fresh_ids
    assert not gallery.needs_rebuild


def test_what_was_saved_comes_back_on_load(gallery, gallery_factory, population, tmp_path: Path) -> None:
    path = tmp_path / "gallery" / "face.index"
    gallery.watermark = 4242
    gallery.save(path)
    restored = gallery_factory()
    assert restored.load(path)
    assert restored.kind == gallery.kind and restored.watermark == 4242 and len(restored) == SIZE
    assert sorted(restored.ids().tolist()) == sorted(gallery.ids().tolist())
    queries = population[1][:10]
    assert restored.search(queries, 3) == gallery.search(queries, 3)


def test_load_with_nothing_saved_returns_false_and_leaves_the_gallery_empty(gallery_factory, tmp_path) -> None:
    fresh = gallery_factory()
    assert fresh.load(tmp_path / "nothing.index") is False
    assert len(fresh) == 0


def test_approximate_index_keeps_recall_against_exact_search(backend, gallery_factory) -> None:
    ids = np.arange(3000, dtype=np.int64)
    vectors = people(3000)
    indexes = {"faiss": [{"exact_max": 0}], "milvus": [{"face_index": "HNSW"}, {"face_index": "IVF_FLAT"}]}
    queries = people(40, seed=99)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    for options in indexes[backend]:
        approximate = gallery_factory(**options)
        approximate.rebuild(batches(ids, vectors, size=1000), len(ids))
        assert approximate.kind.lower().endswith(("ivf", "hnsw", "ivf_flat")), approximate.kind
        hits = approximate.search(queries, 10)
        recall = np.mean([len(set(exact[i]) & {h.template_id for h in hits[i]}) / 10 for i in range(len(queries))])
        assert recall >= 0.9, (options, recall)


def test_needs_rebuild_when_the_structure_no_longer_fits(backend, gallery_factory, population, tmp_path) -> None:
    ids, vectors = population
    if backend == "faiss":  # a flat index grown well past exact_max should become IVF
        grown = gallery_factory(exact_max=100)
        grown.add(ids[:100], vectors[:100])
        assert not grown.needs_rebuild
        grown.add(ids[100:], vectors[100:])
        assert grown.needs_rebuild
        return
    # Milvus: the collection was built with another index than the one now configured.
    built = gallery_factory(face_index="FLAT")
    built.rebuild(batches(ids, vectors), SIZE)
    built.save(tmp_path / "face.index")
    reconfigured = gallery_factory(face_index="HNSW")
    assert reconfigured.load(tmp_path / "face.index") and reconfigured.needs_rebuild
    reconfigured.rebuild(batches(ids, vectors), SIZE)
    assert not reconfigured.needs_rebuild and reconfigured.kind == "milvus HNSW" and len(reconfigured) == SIZE
