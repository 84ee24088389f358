"""The finger index contract over both backends (FAISS bands in this process, Milvus partitions on a real server):
the mated finger is shortlisted, removal, replacement, rebuild = incremental adds, reload; Milvus's exact BIN_FLAT
gives FAISS's exact shortlist. The FAISS file format's own tests (corrupt and concurrent saves) follow."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from matcher import mcc
from matcher.finger_index import FLAT, IVF, FingerIndex
from tests.matcher.gallery_backends import (  # noqa: F401 - fixtures
    backend,
    finger_factory,
    gallery_factory,
    milvus_options,
)
from tests.matcher.test_mcc import finger, impression

FINGERS = 300


@pytest.fixture(scope="module")
def gallery() -> tuple[np.ndarray, list[mcc.Cylinders]]:
    ids = np.arange(5000, 5000 + FINGERS, dtype=np.int64)
    return ids, [mcc.cylinders(finger(int(seed)), mcc.INDEXING) for seed in ids]


def probe_of(finger_id: int, seed: int = 1) -> mcc.Cylinders:
    return mcc.cylinders(impression(finger(finger_id), seed=seed), mcc.INDEXING)


def batches(ids: np.ndarray, sets: list[mcc.Cylinders], size: int = 70):
    for start in range(0, len(ids), size):
        yield ids[start : start + size], sets[start : start + size]


def shortlisted(index, finger_id: int, shortlist: int = 5) -> list[int]:
    return [fid for fid, _ in index.search(probe_of(finger_id), shortlist)]


def test_mated_finger_heads_the_shortlist(gallery, finger_factory) -> None:
    index = finger_factory()
    index.add(*gallery)
    assert len(index) == FINGERS and index.kind in (FLAT, "milvus BIN_FLAT")
    hits = [shortlisted(index, fid)[0] == fid for fid in gallery[0][::30]]
    assert np.mean(hits) >= 0.9
    scores = [score for _, score in index.search(probe_of(5007), 10)]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1


def test_removed_finger_disappears_and_others_remain(gallery, finger_factory) -> None:
    index = finger_factory()
    index.add(*gallery)
    index.remove([5010, 123456789])  # an unknown id is ignored
    assert 5010 not in shortlisted(index, 5010, FINGERS)
    assert 5010 not in index.ids() and len(index) == FINGERS - 1
    assert shortlisted(index, 5011)[0] == 5011


def test_adding_an_existing_id_replaces_its_cylinders(gallery, finger_factory) -> None:
    ids, sets = gallery
    index = finger_factory()
    index.add(ids, sets)
    before = index.cylinder_count
    index.add(np.array([5020]), [sets[ids.tolist().index(5021)]])  # 5020 now holds 5021's finger
    assert len(index) == FINGERS
    assert index.cylinder_count == before - len(sets[20]) + len(sets[21])
    assert set(shortlisted(index, 5021, 2)) == {5020, 5021}


def test_empty_probe_and_empty_index_give_no_candidates(gallery, finger_factory) -> None:
    empty = mcc.cylinders(np.zeros((0, 3), np.float32), mcc.INDEXING)
    index = finger_factory()
    assert index.search(probe_of(5001), 5) == []
    index.add(*gallery)
    assert index.search(empty, 5) == []
    index.add(np.array([1]), [empty])  # a finger without valid minutiae is simply not searchable
    assert index.penetration(3) == pytest.approx(3 / FINGERS)


def test_matching_cylinders_are_refused(gallery, finger_factory) -> None:
    index = finger_factory()
    with pytest.raises(ValueError):
        index.add(np.array([1]), [mcc.cylinders(finger(1))])
    index.add(*gallery)
    with pytest.raises(ValueError):
        index.search(mcc.cylinders(finger(1)), 5)


@pytest.mark.parametrize("exact_max", [10**9, 0])
def test_save_and_load_give_identical_results(gallery, tmp_path, exact_max: int) -> None:
    ids, sets = gallery
    index = FingerIndex(exact_max=exact_max, nprobe=16)
    index.rebuild(batches(ids, sets), total=len(ids))
    index.remove([5003])
    index.watermark = 5299
    path = tmp_path / "fingers.faissb"
    index.save(path)
    assert json.loads(path.with_suffix(".json").read_text())["fingers"] == FINGERS - 1
    restored = FingerIndex(exact_max=exact_max, nprobe=16)
    assert restored.load(path)
    assert restored.kind == index.kind and restored.watermark == 5299 and len(restored) == len(index)
    assert sorted(restored.ids().tolist()) == sorted(index.ids().tolist())
    for fid in (5001, 5003, 5100, 5250):
        assert restored.search(probe_of(fid), 10) == index.search(probe_of(fid), 10)


def test_two_saves_at_once_to_one_path_both_finish_and_leave_one_loadable_pair(gallery, tmp_path, monkeypatch) -> None:
    # Workers of `civid serve --workers N` save at the same shutdown: both write their temp file, then both rename.
    ids, sets = gallery
    first, second = FingerIndex(), FingerIndex()
    first.add(ids[:200], sets[:200])
    second.add(ids[200:], sets[200:])
    first.watermark, second.watermark = 1, 2
    both_written = threading.Barrier(2, timeout=10)
    savez = np.savez

    def savez_then_wait(file, *args, **arrays) -> None:
        savez(file, *args, **arrays)
        both_written.wait()

    monkeypatch.setattr(np, "savez", savez_then_wait)
    path = tmp_path / "fingers.faissb"
    failures: list[BaseException] = []

    def save(index: FingerIndex) -> None:
        try:
            index.save(path)
        except BaseException as error:
            failures.append(error)

    savers = [threading.Thread(target=save, args=(i,)) for i in (first, second)]
    for saver in savers:
        saver.start()
    for saver in savers:
        saver.join()
    assert failures == []
    restored = FingerIndex()
    assert restored.load(path)
    saved = first if restored.watermark == 1 else second
    assert sorted(restored.ids().tolist()) == sorted(saved.ids().tolist())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_load_of_missing_or_inconsistent_files_is_refused(gallery, tmp_path) -> None:
    index = FingerIndex()
    assert not index.load(tmp_path / "absent.faissb")
    index.add(*gallery)
    path = tmp_path / "fingers.faissb"
    index.save(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**meta, "cylinders": meta["cylinders"] + 1}))
    fresh = FingerIndex()
    assert not fresh.load(path) and len(fresh) == 0


def test_rebuild_equals_incremental_adds(gallery, finger_factory) -> None:
    ids, sets = gallery
    incremental = FingerIndex()
    for batch_ids, batch_sets in batches(ids, sets, 37):
        incremental.add(batch_ids, batch_sets)
    rebuilt = finger_factory()
    seen = []
    rebuilt.rebuild(batches(ids, sets), total=len(ids), progress=seen.append)
    assert sum(seen) == FINGERS
    assert len(rebuilt) == FINGERS and sorted(rebuilt.ids().tolist()) == ids.tolist()
    for fid in (5000, 5042, 5299):
        # The incremental FAISS index's shortlist, whichever backend rebuilt (Milvus's BIN_FLAT is exact too): the
        # same mate first at the same score. Where several gallery cylinders tie at the neighbours' cut-off, the
        # engines may keep different ones, so the weaker votes (lower ranks) can differ by a few percent.
        ours, theirs = rebuilt.search(probe_of(fid), 10), incremental.search(probe_of(fid), 10)
        assert ours[0][0] == theirs[0][0] == fid and ours[0][1] == pytest.approx(theirs[0][1], rel=0.01)
        assert len({f for f, _ in ours[:5]} & {f for f, _ in theirs[:5]}) >= 4


def test_what_was_added_comes_back_on_load(gallery, finger_factory, tmp_path) -> None:
    ids, sets = gallery
    index = finger_factory()
    index.rebuild(batches(ids, sets), total=len(ids))
    index.remove([5003])
    index.watermark = 5299
    path = tmp_path / "finger.index"
    index.save(path)
    restored = finger_factory()
    assert restored.load(path)
    assert restored.watermark == 5299 and len(restored) == FINGERS - 1 and 5003 not in restored.ids().tolist()
    for fid in (5001, 5003, 5250):
        ours, theirs = restored.search(probe_of(fid), 10), index.search(probe_of(fid), 10)
        if not str(index.kind).startswith("milvus"):
            assert ours == theirs  # the same file: the same index, bit for bit
            continue
        # The same collection on the server, searched by two clients: between the two searches Milvus may seal a
        # growing segment (brute force) into an indexed one, which reorders ties among the candidate cylinders a
        # probe pulls in (seen once in CI under load: 0.0301 against 0.0307 for the same top finger).
        if fid == 5003:  # removed: absent from both, and what ranks first among strangers is a tie-break
            assert 5003 not in {f for f, _ in ours} | {f for f, _ in theirs}
            continue
        assert ours[0][0] == theirs[0][0] == fid and ours[0][1] == pytest.approx(theirs[0][1], rel=0.05)
        assert len({f for f, _ in ours[:5]} & {f for f, _ in theirs[:5]}) >= 4


def test_ivf_index_still_finds_mates(gallery, finger_factory) -> None:
    ids, sets = gallery
    index = finger_factory(exact_max=0, nprobe=32, finger_index="BIN_IVF_FLAT")
    index.rebuild(batches(ids, sets), total=len(ids))
    assert index.kind in (IVF, "milvus BIN_IVF_FLAT")
    hits = [shortlisted(index, fid)[0] == fid for fid in ids[::30]]
    assert np.mean(hits) >= 0.8
    index.remove([5015])
    assert 5015 not in shortlisted(index, 5015, FINGERS)


def test_finger_index_is_a_complete_finger_gallery():
    from matcher.finger_index import FingerGallery

    index: FingerGallery = FingerIndex()  # mypy checks the protocol
    assert len(index) == 0 and index.watermark == 0
