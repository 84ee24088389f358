"""The template key ring: file permissions, AES-GCM seal/open, rotation, and binding to the row."""

from __future__ import annotations

import json
import stat
from dataclasses import replace

import pytest
from sqlalchemy import select, update

from civid.errors import ConfigurationError
from civid.keyring import KeyRing
from enrollment.templates import open_descriptor
from models import Enrolment, FaceTemplate
from tests.conftest import enrol, fixture_bytes


@pytest.fixture
def ring_path(tmp_path):
    return tmp_path / "keys" / "template-keys.json"


def mode_of(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_ring_file_is_created_owner_only(ring_path):
    ring = KeyRing.load_or_create(ring_path)
    assert ring_path.is_file() and mode_of(ring_path) == 0o600
    assert ring.key_ids == [ring.active]


def test_seal_then_open_round_trips_and_hides_the_plaintext(ring_path):
    ring = KeyRing.load_or_create(ring_path)
    plain = b"\x01\x02 not really a face template " * 8
    sealed = ring.seal(plain, b"enrolment-1/0")
    assert sealed.key_id == ring.active and len(sealed.nonce) == 12
    assert plain not in sealed.ciphertext and len(sealed.ciphertext) == len(plain) + 16
    assert ring.open(sealed, b"enrolment-1/0") == plain
    assert ring.seal(plain, b"enrolment-1/0").nonce != sealed.nonce  # a fresh nonce every time


def test_key_ring_reloaded_from_disk_opens_what_it_sealed(ring_path):
    sealed = KeyRing.load_or_create(ring_path).seal(b"secret", b"aad")
    assert KeyRing.load_or_create(ring_path).open(sealed, b"aad") == b"secret"


def test_wrong_associated_data_fails_to_open(ring_path):
    ring = KeyRing.load_or_create(ring_path)
    sealed = ring.seal(b"secret", b"enrolment-1/0")
    with pytest.raises(ConfigurationError, match="failed authentication"):
        ring.open(sealed, b"enrolment-2/0")


def test_a_flipped_ciphertext_bit_fails_to_open(ring_path):
    ring = KeyRing.load_or_create(ring_path)
    sealed = ring.seal(b"secret template", b"aad")
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(ConfigurationError):
        ring.open(replace(sealed, ciphertext=flipped), b"aad")


def test_a_ciphertext_from_another_key_ring_fails_to_open(tmp_path):
    ours = KeyRing.load_or_create(tmp_path / "a.json")
    theirs = KeyRing.load_or_create(tmp_path / "b.json")
    sealed = theirs.seal(b"secret", b"aad")
    with pytest.raises(ConfigurationError):
        ours.open(sealed, b"aad")


def test_after_rotation_new_seals_use_the_new_key_and_old_ones_still_open(ring_path):
    ring = KeyRing.load_or_create(ring_path)
    old_kid = ring.active
    old = ring.seal(b"sealed before rotation", b"aad")
    new_kid = ring.rotate()
    assert new_kid != old_kid and ring.active == new_kid
    new = ring.seal(b"sealed after rotation", b"aad")
    assert new.key_id == new_kid and old.key_id == old_kid
    assert ring.open(old, b"aad") == b"sealed before rotation"
    assert ring.open(new, b"aad") == b"sealed after rotation"
    # The rotation is on disk, still owner-only, and keeps both keys.
    reloaded = KeyRing.load_or_create(ring_path)
    assert reloaded.active == new_kid and reloaded.key_ids == sorted([old_kid, new_kid])
    assert reloaded.open(old, b"aad") == b"sealed before rotation"
    assert mode_of(ring_path) == 0o600


def test_unreadable_or_malformed_key_ring_is_a_configuration_error(ring_path):
    ring_path.parent.mkdir(parents=True)
    ring_path.write_text("{not json")
    with pytest.raises(ConfigurationError, match="cannot read"):
        KeyRing.load_or_create(ring_path)
    ring_path.write_text(json.dumps({"active": "k1", "keys": {"k1": "c2hvcnQ="}}))  # a 5-byte key
    with pytest.raises(ConfigurationError, match="256 bits"):
        KeyRing.load_or_create(ring_path)


def test_active_key_missing_from_the_ring_is_refused():
    with pytest.raises(ConfigurationError):
        KeyRing({"k1": b"\0" * 32}, active="k2")


def test_service_creates_its_key_ring_owner_only(services):
    assert mode_of(services.settings.resolved_template_keys_file) == 0o600


def test_template_row_copied_to_another_enrolment_fails_to_open(client, keys, services):
    obama = enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).json()
    biden = enrol(client, keys.officer, ["biden_2010_blue_room.jpg"]).json()
    with services.sessions() as session:
        source = session.scalars(select(FaceTemplate).join(Enrolment).where(Enrolment.public_id == obama["id"])).one()
        target_enrolment = session.scalars(select(Enrolment).where(Enrolment.public_id == biden["id"])).one()
        original = open_descriptor(services.keyring, source, obama["id"])
    # An insider swaps Obama's template into Biden's row (same photo index, same key).
    with services.sessions.begin() as session:
        session.execute(
            update(FaceTemplate)
            .where(FaceTemplate.enrolment_id == target_enrolment.id)
            .values(key_id=source.key_id, nonce=source.nonce, ciphertext=source.ciphertext)
        )
    with services.sessions() as session:
        swapped = session.scalars(select(FaceTemplate).where(FaceTemplate.enrolment_id == target_enrolment.id)).one()
        assert swapped.ciphertext == source.ciphertext and swapped.photo_index == source.photo_index
        with pytest.raises(ConfigurationError, match="failed authentication"):
            open_descriptor(services.keyring, swapped, biden["id"])
        assert (open_descriptor(services.keyring, source, obama["id"]) == original).all()
    # Rebuilding the gallery reads every row, so the swap cannot slip into 1:N search unnoticed.
    with pytest.raises(ConfigurationError):
        services.gallery.rebuild()


def test_templates_enrolled_before_a_rotation_still_verify_after_it(client, keys, services):
    obama = enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).json()
    old_kid = services.keyring.active
    new_kid = services.keyring.rotate()
    biden = enrol(client, keys.officer, ["biden_2010_blue_room.jpg"]).json()
    with services.sessions() as session:
        kids = dict(session.execute(select(Enrolment.public_id, FaceTemplate.key_id).join(FaceTemplate)).all())
    assert kids == {obama["id"]: old_kid, biden["id"]: new_kid}
    assert services.gallery.rebuild() == 2
    response = client.post(
        "/v1/verify",
        headers=keys.officer,
        data={"uin": obama["uin"]},
        files={"photo": ("p.jpg", fixture_bytes("obama_2010_blue_room.jpg"), "image/jpeg")},
    )
    assert response.status_code == 200 and response.json()["match"] is True


def test_reencryption_moves_every_template_to_the_active_key_so_the_old_one_can_go(client, keys, services):
    from enrollment.templates import reencrypt_all

    obama = enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).json()
    old_kid = services.keyring.active
    with services.sessions() as session:
        before = open_descriptor(services.keyring, session.scalars(select(FaceTemplate)).one(), obama["id"])
    new_kid = services.keyring.rotate()
    with services.sessions.begin() as session:
        # The face template, the kept photo, the identity provider's two private signing keys and the credential key.
        assert reencrypt_all(services.keyring, session) == 5
    with services.sessions.begin() as session:
        assert reencrypt_all(services.keyring, session) == 0  # nothing left under an old key
    # A ring without the old key still opens everything.
    retired = KeyRing({new_kid: services.keyring._keys[new_kid]}, new_kid)
    assert old_kid not in retired.key_ids
    with services.sessions() as session:
        row = session.scalars(select(FaceTemplate)).one()
        assert row.key_id == new_kid
        assert (open_descriptor(retired, row, obama["id"]) == before).all()
    # The provider still signs after the old ring key is gone (its private keys were re-sealed too).
    from idp.keys import SigningKeys

    signer = SigningKeys(services.settings, retired, services.sessions)
    assert signer.verify(signer.sign({"iss": services.settings.resolved_issuer, "sub": "x"}))["sub"] == "x"
