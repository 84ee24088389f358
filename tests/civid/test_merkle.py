"""RFC 9162 Merkle hashing and proofs: the Certificate Transparency test tree's root, and every inclusion and
consistency proof of every tree up to 33 leaves verifies, while a wrong leaf, root, size or path does not."""

from __future__ import annotations

import pytest

from civid import merkle

# The eight leaves of certificate-transparency's reference test tree, and its root (their merkle_tree_test).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
CT_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
LEAVES = [merkle.leaf_hash(f"event {i}".encode()) for i in range(33)]


def test_the_reference_test_tree_has_the_reference_root():
    leaves = [merkle.leaf_hash(data) for data in CT_LEAVES]
    assert merkle.root_of(leaves).hex() == CT_ROOT_8
    assert merkle.root_of([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_a_leaf_and_a_node_never_hash_alike():
    left, right = LEAVES[0], LEAVES[1]
    assert merkle.leaf_hash(left + right) != merkle.node_hash(left, right)


def test_the_compact_range_and_one_pass_roots_agree_with_the_definition():
    sizes = range(len(LEAVES) + 1)
    assert merkle.roots_at(LEAVES, sizes) == {n: merkle.root_of(LEAVES[:n]) for n in sizes}
    assert merkle.root_of_stream(iter(LEAVES)) == merkle.root_of(LEAVES)


@pytest.mark.parametrize("size", range(1, len(LEAVES) + 1))
def test_every_inclusion_proof_verifies_and_a_wrong_leaf_or_position_does_not(size):
    subtree = merkle.list_subtree(LEAVES[:size])
    root = merkle.root_of(LEAVES[:size])
    for index in range(size):
        path = merkle.inclusion_proof(index, size, subtree)
        assert len(path) <= size.bit_length()
        assert merkle.verify_inclusion(index, size, LEAVES[index], path, root)
        assert not merkle.verify_inclusion(index, size, merkle.leaf_hash(b"forged"), path, root)
        if size > 1:
            assert not merkle.verify_inclusion((index + 1) % size, size, LEAVES[index], path, root)


@pytest.mark.parametrize("new_size", range(1, len(LEAVES) + 1))
def test_every_consistency_proof_verifies_and_a_rewritten_old_tree_does_not(new_size):
    subtree = merkle.list_subtree(LEAVES[:new_size])
    new_root = merkle.root_of(LEAVES[:new_size])
    for old_size in range(new_size + 1):
        path = merkle.consistency_proof(old_size, new_size, subtree)
        old_root = merkle.root_of(LEAVES[:old_size])
        assert merkle.verify_consistency(old_size, new_size, old_root, new_root, path)
        if 0 < old_size < new_size:
            rewritten = merkle.root_of([merkle.leaf_hash(b"forged")] + LEAVES[1:old_size])
            assert not merkle.verify_consistency(old_size, new_size, rewritten, new_root, path)
            assert not merkle.verify_consistency(old_size, new_size, old_root, new_root, path[:-1])


def test_proofs_outside_the_tree_are_refused():
    subtree = merkle.list_subtree(LEAVES)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(5, 5, subtree)
    with pytest.raises(ValueError):
        merkle.consistency_proof(6, 5, subtree)
    assert merkle.root_from_inclusion(3, 2, LEAVES[3], []) is None
