"""The all-vs-all pair scan over arrays (matcher/bulk_pairs.py): exact and IVF, each pair once, exact re-rank."""

from __future__ import annotations

import numpy as np

from matcher.bulk_pairs import ScanOptions, all_pairs_exact, build_index, scan
from tests.enrollment.bulk_register import near, unit


def gallery(people: int, copies: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, set]:
    """Template ids, owners, vectors: ``people`` owners with one photo, owner 0 with a second photo, and
    ``copies`` more owners who are people 1..copies again (the planted pairs)."""
    rng = np.random.default_rng(seed)
    faces = unit(rng, people)
    extra = np.stack([near(faces[0], 0.99, rng)] + [near(faces[i], 0.97, rng) for i in range(1, copies + 1)])
    vectors = np.vstack([faces, extra]).astype(np.float32)
    owners = np.array([*range(people), 0, *range(people, people + copies)], dtype=np.int64) + 100
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64) * 3
    planted = {(i + 100, people + i - 1 + 100) for i in range(1, copies + 1)}
    return ids, owners, vectors, planted


def found(batches) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    return [pair for batch in batches for pair in zip(batch.first.tolist(), batch.second.tolist())]


def test_each_planted_pair_is_found_once_and_another_photo_of_the_same_person_is_no_pair() -> None:
    ids, owners, vectors, planted = gallery(300, 12)
    options = ScanOptions(neighbours=5, batch_size=50, min_score=0.9)
    pairs = found(scan(build_index(vectors, options), ids, owners, vectors, np.arange(len(ids)), options))
    assert len(pairs) == len(set(pairs))  # each unordered pair once, though both sides find it
    assert set(pairs) == planted == all_pairs_exact(owners, vectors, 0.9)


def test_the_exact_score_is_the_best_over_both_peoples_templates() -> None:
    ids, owners, vectors, _ = gallery(50, 0)
    # A look-alike of owner 100 close to its second photo only: the pair's score is that photo's.
    second_photo = vectors[50]
    look_alike = near(second_photo, 0.95, np.random.default_rng(9))
    vectors = np.vstack([vectors, look_alike]).astype(np.float32)
    owners, ids = np.append(owners, 999), np.append(ids, 10_000)
    options = ScanOptions(neighbours=3, batch_size=16, min_score=0.9)
    batches = list(scan(build_index(vectors, options), ids, owners, vectors, np.arange(len(ids)), options))
    scores = {(a, b): s for batch in batches for a, b, s in zip(batch.first, batch.second, batch.face_score)}
    best = max(float(vectors[50] @ look_alike), float(vectors[0] @ look_alike))
    assert scores.keys() == {(100, 999)} and abs(scores[(100, 999)] - best) < 1e-5


def test_ivf_above_exact_max_finds_the_planted_pairs() -> None:
    ids, owners, vectors, planted = gallery(4000, 40)
    options = ScanOptions(neighbours=5, exact_max=1000, nprobe=8, batch_size=1000, min_score=0.9)
    index = build_index(vectors, options)
    assert type(index).__name__ == "IndexIVFFlat"
    assert set(found(scan(index, ids, owners, vectors, np.arange(len(ids)), options))) == planted


def test_a_scan_resumed_after_a_cursor_yields_what_the_whole_scan_would_have() -> None:
    ids, owners, vectors, planted = gallery(500, 20)
    options = ScanOptions(neighbours=5, batch_size=64, min_score=0.9)
    index = build_index(vectors, options)
    rows = np.arange(len(ids))
    whole = found(scan(index, ids, owners, vectors, rows, options))
    head = list(scan(index, ids, owners, vectors, rows, options))[:3]
    cursor = head[-1].cursor
    rest = scan(index, ids, owners, vectors, rows[ids[rows] > cursor], options, reported=found(head))
    assert sorted(found(head) + found(rest)) == sorted(whole)
    assert set(whole) == planted
