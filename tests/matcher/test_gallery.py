"""FaissGallery: exact and IVF indexes, add/remove/search, ids, and persistence."""

from __future__ import annotations

import json
import threading

import faiss
import numpy as np
import pytest

from matcher.gallery import FLAT, IVF, FaissGallery, Gallery, GalleryOptions, ivf_list_count
from matcher.gallery_backends import create_gallery

DIM = 128
EXACT_MAX = 500
IVF_SIZE = 3000


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def people(count: int, seed: int = 0) -> np.ndarray:
    """Descriptor-like vectors: 30 clusters (families of look-alikes) plus per-person spread, L2-normalised."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((30, DIM)))
    members = centres[rng.integers(0, 30, count)] + 0.35 * rng.standard_normal((count, DIM))
    return unit(members)


def batches(ids: np.ndarray, vectors: np.ndarray, size: int = 700):
    for start in range(0, len(ids), size):
        yield ids[start : start + size], vectors[start : start + size]


@pytest.fixture(scope="module")
def population() -> tuple[np.ndarray, np.ndarray]:
    ids = np.arange(1000, 1000 + IVF_SIZE, dtype=np.int64)
    return ids, people(IVF_SIZE)


def built(ids: np.ndarray, vectors: np.ndarray, **options) -> FaissGallery:
    gallery = FaissGallery(exact_max=EXACT_MAX, nprobe=64, **options)
    gallery.rebuild(batches(ids, vectors), len(ids))
    return gallery


# --- index kind by size -------------------------------------------------------------------------------


def test_gallery_at_or_below_exact_max_is_flat_and_exact(population):
    ids, vectors = population[0][:EXACT_MAX], population[1][:EXACT_MAX]
    gallery = built(ids, vectors)
    assert gallery.kind == FLAT and len(gallery) == EXACT_MAX
    queries = vectors[::50]
    expected = np.argsort(-(queries @ vectors.T), axis=1)[:, :5]
    for row, hits in enumerate(gallery.search(queries, 5)):
        assert [h.template_id for h in hits] == ids[expected[row]].tolist()
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_gallery_above_exact_max_is_ivf_and_finds_each_stored_vector(population):
    ids, vectors = population
    progress: list[int] = []
    gallery = FaissGallery(exact_max=EXACT_MAX, nprobe=64)
    gallery.rebuild(batches(ids, vectors), len(ids), progress=progress.append, training_sample=2000)
    assert gallery.kind == IVF and len(gallery) == IVF_SIZE
    assert sum(progress) == IVF_SIZE
    queries = vectors[::25]
    found = [hits[0].template_id for hits in gallery.search(queries, 3)]
    assert found == ids[::25].tolist()


def test_ivf_recall_against_exact_search_is_high(population):
    ids, vectors = population
    gallery = built(ids, vectors)
    queries = people(50, seed=99)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    hits = gallery.search(queries, 10)
    recall = np.mean([len(set(ids[exact[i]]) & {h.template_id for h in hits[i]}) / 10 for i in range(len(queries))])
    assert recall >= 0.9


def test_fewer_vectors_than_announced_still_builds_a_fitting_index(population):
    ids, vectors = population[0][:100], population[1][:100]
    gallery = FaissGallery(exact_max=50)
    progress: list[int] = []
    gallery.rebuild(batches(ids, vectors), total=IVF_SIZE, progress=progress.append)  # announced 3000, 100 came
    assert len(gallery) == 100 and gallery.kind == IVF and sum(progress) == 100
    assert gallery.search(vectors[:1], 1)[0][0].template_id == ids[0]


def test_needs_rebuild_when_the_kind_no_longer_fits_the_size(population):
    ids, vectors = population
    flat = FaissGallery(exact_max=EXACT_MAX)
    flat.add(ids[:EXACT_MAX], vectors[:EXACT_MAX])
    assert not flat.needs_rebuild
    flat.add(ids[EXACT_MAX : EXACT_MAX * 2], vectors[EXACT_MAX : EXACT_MAX * 2])
    assert flat.needs_rebuild
    ivf = built(ids, vectors)
    assert not ivf.needs_rebuild
    ivf.remove(ids[EXACT_MAX // 4 :].tolist())
    assert ivf.needs_rebuild


def test_ivf_list_count_grows_with_the_gallery_within_bounds():
    assert ivf_list_count(0) == 256
    assert ivf_list_count(1_000_000) == 2048
    assert ivf_list_count(10**10) == 16384
    counts = [ivf_list_count(n) for n in (10_000, 100_000, 1_000_000, 10_000_000)]
    assert counts == sorted(counts) and all(c & (c - 1) == 0 for c in counts)


# --- add, remove, search, ids on both kinds -------------------------------------------------------------------


@pytest.fixture(params=[FLAT, IVF])
def gallery(request, population) -> FaissGallery:
    ids, vectors = population
    count = 200 if request.param == FLAT else IVF_SIZE
    built_gallery = built(ids[:count], vectors[:count])
    assert built_gallery.kind == request.param
    return built_gallery


def test_ids_lists_every_template_held(gallery, population):
    ids = population[0][: len(gallery)]
    assert sorted(gallery.ids().tolist()) == ids.tolist()
    assert gallery.ids().dtype == np.int64


def test_vectors_returns_the_stored_vectors_in_the_order_asked(gallery, population):
    ids, vectors = population
    wanted = [int(ids[7]), int(ids[3]), int(ids[150])]
    assert np.allclose(gallery.vectors(wanted), vectors[[7, 3, 150]], atol=1e-6)
    with pytest.raises(KeyError):
        gallery.vectors([-5])


def test_faiss_gallery_is_a_complete_gallery():
    gallery: Gallery = FaissGallery()  # mypy checks the protocol; the factory builds the same class by name
    assert isinstance(create_gallery("faiss", GalleryOptions(exact_max=7)), FaissGallery)
    assert gallery.watermark == 0


def test_added_template_is_found_and_removed_template_is_not(gallery):
    newcomer = people(1, seed=42)
    gallery.add(np.array([77], dtype=np.int64), newcomer)
    before = len(gallery)
    hit = gallery.search(newcomer, 1)[0][0]
    assert hit.template_id == 77 and hit.score == pytest.approx(1.0, abs=1e-5)
    gallery.remove([77, 987654])  # an unknown id is ignored
    assert len(gallery) == before - 1
    assert 77 not in gallery.ids().tolist()
    assert all(h.template_id != 77 for h in gallery.search(newcomer, 10)[0])


def test_adding_an_existing_id_replaces_its_vector(gallery, population):
    ids = population[0]
    size = len(gallery)
    replacement = people(1, seed=7)
    gallery.add(ids[:1], replacement)
    assert len(gallery) == size
    hit = gallery.search(replacement, 1)[0][0]
    assert hit.template_id == ids[0] and hit.score == pytest.approx(1.0, abs=1e-5)


def test_search_returns_best_first_for_each_query(gallery, population):
    queries = population[1][:4]
    results = gallery.search(queries, 5)
    assert len(results) == 4
    for hits in results:
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True) and len(hits) == 5


def test_empty_gallery_search_returns_no_hits():
    gallery = FaissGallery()
    assert len(gallery) == 0 and gallery.ids().tolist() == []
    assert gallery.search(people(3), 5) == [[], [], []]


def test_k_larger_than_the_gallery_returns_what_there_is(population):
    gallery = FaissGallery()
    gallery.add(population[0][:3], population[1][:3])
    assert len(gallery.search(population[1][:1], 10)[0]) == 3


# --- persistence ---------------------------------------------------------------------------------------


def test_save_and_load_round_trip_keeps_kind_ids_watermark_and_results(gallery, population, tmp_path):
    path = tmp_path / "gallery" / "face.index"
    gallery.watermark = 4242
    gallery.save(path)
    assert path.is_file() and path.with_suffix(".json").is_file()
    restored = FaissGallery(exact_max=EXACT_MAX, nprobe=64)
    assert restored.load(path)
    assert restored.kind == gallery.kind and restored.watermark == 4242 and len(restored) == len(gallery)
    assert sorted(restored.ids().tolist()) == sorted(gallery.ids().tolist())
    queries = population[1][:10]
    assert restored.search(queries, 3) == gallery.search(queries, 3)


def test_two_saves_at_once_to_one_path_both_finish_and_leave_one_loadable_pair(population, tmp_path, monkeypatch):
    # Workers of `civid serve --workers N` save at the same shutdown: both write their temp file, then both rename.
    ids, vectors = population
    first, second = built(ids[:200], vectors[:200]), built(ids[200:300], vectors[200:300])
    first.watermark, second.watermark = 1, 2
    both_written = threading.Barrier(2, timeout=10)
    write_index = faiss.write_index

    def write_then_wait(index, name: str) -> None:
        write_index(index, name)
        both_written.wait()

    monkeypatch.setattr(faiss, "write_index", write_then_wait)
    path = tmp_path / "face.index"
    failures: list[BaseException] = []

    def save(gallery: FaissGallery) -> None:
        try:
            gallery.save(path)
        except BaseException as error:
            failures.append(error)

    savers = [threading.Thread(target=save, args=(g,)) for g in (first, second)]
    for saver in savers:
        saver.start()
    for saver in savers:
        saver.join()
    assert failures == []
    restored = FaissGallery(exact_max=EXACT_MAX, nprobe=64)
    assert restored.load(path)
    saved = first if restored.watermark == 1 else second
    assert sorted(restored.ids().tolist()) == sorted(saved.ids().tolist())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_load_of_a_missing_file_returns_false_and_leaves_the_gallery_empty(tmp_path):
    gallery = FaissGallery()
    assert gallery.load(tmp_path / "nothing.index") is False
    assert len(gallery) == 0 and gallery.kind == FLAT


def test_load_of_a_corrupt_index_file_returns_false(gallery, tmp_path):
    path = tmp_path / "face.index"
    gallery.save(path)
    path.write_bytes(b"\0garbage" * 100)
    fresh = FaissGallery()
    assert fresh.load(path) is False and len(fresh) == 0


def test_load_of_a_truncated_index_file_returns_false(gallery, tmp_path):
    path = tmp_path / "face.index"
    gallery.save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert FaissGallery().load(path) is False


def test_load_with_a_sidecar_that_disagrees_with_the_index_returns_false(gallery, tmp_path):
    path = tmp_path / "face.index"
    gallery.save(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**meta, "count": meta["count"] + 1}))
    assert FaissGallery().load(path) is False
    path.with_suffix(".json").write_text("{broken")
    assert FaissGallery().load(path) is False
