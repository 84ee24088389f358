"""How many OpenMP threads one FAISS search may use, set for the calling thread only.

FAISS parallelises a search with OpenMP. In a process that runs one search at a time beside others (an ABIS
worker, request threads, other processes on a shared machine), a search's extra threads mostly spin at OpenMP
barriers waiting for a busy core: one 10k flat face search took 24 ms with 2 threads and 0.10 ms with 1 on
2 loaded cores (12 ms of CPU against 0.13 ms). OpenMP keeps the thread count per calling thread, so setting it
around a search changes nothing for other threads (a bulk dedup spreading its batch over every core).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import faiss


@contextmanager
def search_threads(count: int) -> Iterator[None]:
    """Run the block's FAISS calls on ``count`` OpenMP threads (0: FAISS's default, one per core)."""
    if count <= 0:
        yield
        return
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)
