"""All-vs-all candidate pairs of a face gallery: the k nearest neighbours of every template by an index, then
each unordered pair of owners once, its face score recomputed exactly.

Pure computation over arrays: the caller gives template ids (shape (n,), increasing), their owners (the
person each template belongs to, shape (n,)) and the descriptors (shape (n, 128), L2-normalised), and which
rows to query (all of them, or one imported batch's). Cost: one k-NN search per queried template; exact
search is O(n) per query (O(n²) in all), IVF visits ``nprobe`` of ``nlist ≈ 2·sqrt(n)`` lists, so about
O(n · nprobe · sqrt(n) / 2) distance computations in all (n^1.5), plus the exact re-rank of the few pairs
that survive the score floor. Queries go in fixed-size batches in row order so that a caller can record
progress as a cursor (the last template id of a finished batch) and resume after it with the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import faiss
import numpy as np
from numpy.typing import NDArray

from matcher.gallery import DIM, ivf_list_count

# IVF trains its coarse quantiser on at most this many vectors (k-means; FAISS seeds it, so it is repeatable).
TRAINING_SAMPLE = 100_000


@dataclass(frozen=True)
class ScanOptions:
    """How the scan searches: neighbours per template, the index, and which neighbours are kept."""

    neighbours: int = 10  # k: nearest templates asked per query (the template itself excluded)
    exact_max: int = 100_000  # up to this many templates an exact flat index; above it IVF
    nprobe: int = 64  # IVF lists visited per query
    batch_size: int = 10_000  # queries per batch (one cursor step)
    min_score: float = 0.85  # cosine floor for a neighbour to become a candidate pair


@dataclass(frozen=True)
class PairBatch:
    """One finished batch of queries: the candidate pairs first seen in it, and the cursor after it.

    ``first``/``second`` are owners (first < second); ``index_score`` the best score the index gave the pair,
    ``face_score`` the exact best cosine over all templates of the two owners."""

    cursor: int  # the template id of the batch's last query
    queried: int  # queries in this batch
    first: NDArray[np.int64]
    second: NDArray[np.int64]
    index_score: NDArray[np.float32]
    face_score: NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.first)


def build_index(vectors: NDArray[np.float32], options: ScanOptions) -> faiss.Index:
    """An inner-product index over ``vectors`` (shape (n, 128)) whose labels are row numbers."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(vectors) <= options.exact_max:
        index: faiss.Index = faiss.IndexFlatIP(DIM)
    else:
        nlist = min(ivf_list_count(len(vectors)), max(1, len(vectors) // 39))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
        # An evenly spaced sample, not the first rows: a register's oldest ids may be one region or one decade.
        step = max(1, len(vectors) // TRAINING_SAMPLE)
        ivf.train(vectors[::step][:TRAINING_SAMPLE])
        ivf.nprobe = options.nprobe
        # parallel_mode 0 spreads a batch's queries over the threads: the right split for many queries at once.
        ivf.parallel_mode = 0
        index = ivf
    index.add(vectors)
    return index


def scan(
    index: faiss.Index,
    template_ids: NDArray[np.int64],
    owners: NDArray[np.int64],
    vectors: NDArray[np.float32],
    query_rows: NDArray[np.int64],
    options: ScanOptions,
    reported: Iterable[tuple[int, int]] = (),
) -> Iterator[PairBatch]:
    """Search ``query_rows`` (row numbers, increasing) batch by batch; yield each batch's new owner pairs.

    ``reported`` are the pairs an interrupted run already holds: with the pairs of earlier batches, they are
    not yielded again, so a pair found from both of its sides, or again after a resume, is reported once."""
    seen = {_code(a, b) for a, b in reported}  # one int per pair: a million tuples would cost far more memory
    rows_of = _rows_by_owner(owners)
    k = min(options.neighbours + 1, len(vectors))  # +1: a template finds itself first
    for start in range(0, len(query_rows), options.batch_size):
        rows = query_rows[start : start + options.batch_size]
        if k == 0:
            break
        scores, labels = index.search(np.ascontiguousarray(vectors[rows]), k)
        first, second, best = _pairs_of(rows, scores, labels, owners, options.min_score)
        codes = (first << 32) | second
        keep = np.fromiter((code not in seen for code in codes.tolist()), dtype=bool, count=len(codes))
        first, second, best = first[keep], second[keep], best[keep]
        seen.update(codes[keep].tolist())
        exact = exact_scores(vectors, rows_of, first, second)
        yield PairBatch(int(template_ids[rows[-1]]), len(rows), first, second, best, exact)


def _code(first: int, second: int) -> int:
    return (first << 32) | second  # owner ids are database ids, below 2**31


def _pairs_of(
    rows: NDArray[np.int64],
    scores: NDArray[np.float32],
    labels: NDArray[np.int64],
    owners: NDArray[np.int64],
    min_score: float,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32]]:
    """Owner pairs (first < second, unique) of the search results at or above ``min_score``, best score each."""
    query_owner = np.repeat(owners[rows], labels.shape[1])
    flat_labels = labels.ravel()
    flat_scores = scores.ravel()
    valid = (flat_labels >= 0) & (flat_scores >= min_score)
    neighbour_owner = np.where(valid, owners[np.clip(flat_labels, 0, None)], -1)
    valid &= neighbour_owner != query_owner  # a template, or another photo of the same person
    a, b, s = query_owner[valid], neighbour_owner[valid], flat_scores[valid]
    first, second = np.minimum(a, b), np.maximum(a, b)
    if len(first) == 0:
        return first, second, s.astype(np.float32)
    order = np.lexsort((-s, second, first))  # by pair, best score first
    first, second, s = first[order], second[order], s[order]
    head = np.ones(len(first), dtype=bool)
    head[1:] = (first[1:] != first[:-1]) | (second[1:] != second[:-1])
    return first[head], second[head], s[head].astype(np.float32)


def _rows_by_owner(owners: NDArray[np.int64]) -> dict[int, NDArray[np.int64]]:
    order = np.argsort(owners, kind="stable")
    unique, starts = np.unique(owners[order], return_index=True)
    bounds = [*starts.tolist(), len(order)]
    return {int(owner): order[bounds[i] : bounds[i + 1]] for i, owner in enumerate(unique.tolist())}


def exact_scores(
    vectors: NDArray[np.float32],
    rows_of: dict[int, NDArray[np.int64]],
    first: NDArray[np.int64],
    second: NDArray[np.int64],
) -> NDArray[np.float32]:
    """The best cosine over every template of ``first[i]`` against every template of ``second[i]``."""
    result = np.empty(len(first), dtype=np.float32)
    single = np.array([len(rows_of[a]) == 1 and len(rows_of[b]) == 1 for a, b in zip(first, second)], dtype=bool)
    if single.any():  # the usual case, one photo each: a row-wise dot product
        a_rows = np.array([rows_of[a][0] for a in first[single]], dtype=np.int64)
        b_rows = np.array([rows_of[b][0] for b in second[single]], dtype=np.int64)
        result[single] = np.einsum("ij,ij->i", vectors[a_rows], vectors[b_rows])
    for i in np.flatnonzero(~single):
        result[i] = float((vectors[rows_of[int(first[i])]] @ vectors[rows_of[int(second[i])]].T).max())
    return result


def all_pairs_exact(
    owners: NDArray[np.int64], vectors: NDArray[np.float32], min_score: float, chunk: int = 4096
) -> set[tuple[int, int]]:
    """Every owner pair with some template pair at or above ``min_score``, by brute force (the recall reference
    for benchmarks and tests; O(n²))."""
    found: set[tuple[int, int]] = set()
    for start in range(0, len(vectors), chunk):
        block = vectors[start : start + chunk] @ vectors.T
        rows, columns = np.nonzero(block >= min_score)
        a, b = owners[rows + start], owners[columns]
        differ = a != b
        found.update(zip(np.minimum(a, b)[differ].tolist(), np.maximum(a, b)[differ].tolist()))
    return found
