"""C2SP signed notes and tlog checkpoints: byte-for-byte the specification's Ed25519 example, and a note that
is altered, signed by another key or malformed is refused."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from civid import signed_note
from civid.errors import InvalidInput

# c2sp.org/signed-note's example key and note (Go's golang.org/x/mod/sumdb/note test vector).
EXAMPLE_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
EXAMPLE_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
EXAMPLE_NOTE = (
    EXAMPLE_TEXT
    + "\n\u2014 PeterNeumann "
    + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def example_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(EXAMPLE_SKEY.split("+", 4)[4])[1:])


def test_signing_the_specifications_example_gives_its_note_and_key_id():
    note = signed_note.sign(EXAMPLE_TEXT, "PeterNeumann", example_key())
    assert note.serialise() == EXAMPLE_NOTE
    verifier = signed_note.verifier_of("PeterNeumann", example_key())
    assert verifier.key_id.hex() == "c74f20a3"
    assert signed_note.parse_vkey(verifier.vkey) == verifier


def test_a_parsed_note_verifies_only_with_its_key_and_unaltered():
    verifier = signed_note.verifier_of("PeterNeumann", example_key())
    assert signed_note.parse_note(EXAMPLE_NOTE).signed_by([verifier]) == verifier
    other = signed_note.verifier_of("PeterNeumann", Ed25519PrivateKey.generate())
    assert signed_note.parse_note(EXAMPLE_NOTE).signed_by([other]) is None
    altered = EXAMPLE_NOTE.replace("problem is", "problem was")
    assert signed_note.parse_note(altered).signed_by([verifier]) is None


def test_a_checkpoint_is_three_lines_and_round_trips():
    checkpoint = signed_note.Checkpoint("civid.example/audit", 42, bytes(range(32)))
    assert checkpoint.text.split("\n") == ["civid.example/audit", "42", base64.b64encode(bytes(range(32))).decode(), ""]
    assert signed_note.parse_checkpoint(checkpoint.text) == checkpoint
    for broken in ("civid\n-1\nAAAA\n", "civid\n042\n" + checkpoint.text.split("\n")[2] + "\n", "civid\n1\n"):
        with pytest.raises(InvalidInput):
            signed_note.parse_checkpoint(broken)


@pytest.mark.parametrize(
    "raw",
    [
        "no blank line\n\u2014 k AAAA\n",
        "text\n\nnot a signature\n",
        "text\n\n\u2014 k !!!\n",
        "bell\x07\n\n\u2014 k AAAAAAAA\n",
    ],
)
def test_malformed_notes_are_refused(raw):
    with pytest.raises(InvalidInput):
        signed_note.parse_note(raw)


def test_a_file_of_notes_one_after_another_splits_into_them():
    key = Ed25519PrivateKey.generate()
    notes = [signed_note.sign(f"log\n{n}\nAAAA\n", "log", key).serialise() for n in range(3)]
    assert signed_note.split_notes("".join(notes)) == notes


def test_a_verifier_key_whose_id_does_not_match_is_refused():
    vkey = signed_note.verifier_of("PeterNeumann", example_key()).vkey
    with pytest.raises(InvalidInput):
        signed_note.parse_vkey(vkey.replace("c74f20a3", "00000000"))
