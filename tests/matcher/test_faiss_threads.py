"""matcher.faiss_threads: a search's OpenMP thread count is set for the calling thread only, and restored."""

from __future__ import annotations

import threading

import faiss
import numpy as np

from matcher.faiss_threads import search_threads
from matcher.gallery import FaissGallery


def test_a_one_thread_search_finds_what_the_default_finds_and_leaves_the_thread_count_as_it_was() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((2000, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1, 2001, dtype=np.int64)
    single, default = FaissGallery(threads=1), FaissGallery(threads=0)
    for gallery in (single, default):
        gallery.add(ids, vectors)
    before = faiss.omp_get_max_threads()
    assert single.search(vectors[:5], 10) == default.search(vectors[:5], 10)
    assert faiss.omp_get_max_threads() == before


def test_the_thread_count_set_around_a_search_does_not_reach_other_threads() -> None:
    inside: list[int] = []
    other: list[int] = []
    entered, release = threading.Event(), threading.Event()

    def search() -> None:
        with search_threads(1):
            inside.append(faiss.omp_get_max_threads())
            entered.set()
            release.wait(10)

    worker = threading.Thread(target=search)
    worker.start()
    entered.wait(10)
    other.append(faiss.omp_get_max_threads())
    release.set()
    worker.join(10)
    assert inside == [1]
    assert other == [faiss.omp_get_max_threads()]
