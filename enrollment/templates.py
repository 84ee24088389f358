"""Face templates at rest: serialise a descriptor, seal it bound to its row, and open it again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.keyring import KeyRing, Sealed
from enrollment.documents import reencrypt_document_numbers
from enrollment.fingerprint import features_aad, record_aad
from models import Enrolment, FaceTemplate, FingerTemplate, Photo

# Versioned serialisation: "civid/face-template/v1" = dlib ResNet 128 x float32 little-endian.
FORMAT = b"civid/face-template/v1"
# The rows sealed per photo of an enrolment (same columns, each with its own associated data).
_PhotoRow = TypeVar("_PhotoRow", FaceTemplate, Photo)


def template_aad(enrolment_public_id: str, photo_index: int) -> bytes:
    """Associated data binding a ciphertext to one enrolment's photo: swapped rows fail to open."""
    return FORMAT + b"/" + enrolment_public_id.encode() + b"/" + str(photo_index).encode()


def photo_aad(enrolment_public_id: str, photo_index: int) -> bytes:
    """Associated data of a kept photo (only with ``keep_photos``)."""
    return b"civid/photo/v1/" + enrolment_public_id.encode() + b"/" + str(photo_index).encode()


def seal_descriptor(
    keyring: KeyRing, vector: NDArray[np.float32], enrolment_public_id: str, photo_index: int
) -> Sealed:
    """Encrypt one (128,) descriptor."""
    plain = np.asarray(vector, dtype="<f4").tobytes()
    return keyring.seal(plain, template_aad(enrolment_public_id, photo_index))


def open_descriptor(keyring: KeyRing, row: FaceTemplate, enrolment_public_id: str) -> NDArray[np.float32]:
    """Decrypt one stored template back to its (128,) float32 descriptor."""
    plain = keyring.open(
        Sealed(row.key_id, row.nonce, row.ciphertext), template_aad(enrolment_public_id, row.photo_index)
    )
    return np.frombuffer(plain, dtype="<f4").astype(np.float32)


def reencrypt_all(keyring: KeyRing, session: Session, batch: int = 1000) -> int:
    """Re-seal every face and finger template, kept photo and document number not under the active key (after a
    rotation). Returns the count.

    Runs in the caller's transaction; once it commits, retired keys can be removed from the ring."""
    moved = _reencrypt_photo_rows(keyring, session, FaceTemplate, template_aad, batch)
    moved += _reencrypt_photo_rows(keyring, session, Photo, photo_aad, batch)
    # A finger row holds two ciphertexts under one key id: the ISO record and the index cylinders.
    query = (
        select(FingerTemplate, Enrolment.public_id)
        .join(Enrolment, FingerTemplate.enrolment_id == Enrolment.id)
        .where(FingerTemplate.key_id != keyring.active)
        .execution_options(yield_per=batch)
    )
    for row, public_id in session.execute(query):
        record_ad, features_ad = record_aad(public_id, row.position), features_aad(public_id, row.position)
        record = keyring.seal(keyring.open(Sealed(row.key_id, row.nonce, row.ciphertext), record_ad), record_ad)
        features = keyring.seal(
            keyring.open(Sealed(row.key_id, row.features_nonce, row.features_ciphertext), features_ad), features_ad
        )
        row.key_id, row.nonce, row.ciphertext = record.key_id, record.nonce, record.ciphertext
        row.features_nonce, row.features_ciphertext = features.nonce, features.ciphertext
        moved += 1
    return moved + reencrypt_document_numbers(keyring, session, batch) + _reencrypt_signing_keys(keyring, session)


def _reencrypt_photo_rows(
    keyring: KeyRing, session: Session, model: type[_PhotoRow], aad: Callable[[str, int], bytes], batch: int
) -> int:
    """Re-seal the rows of ``model`` not under the active key, each bound to its enrolment's photo by ``aad``."""
    query = (
        select(model, Enrolment.public_id)
        .join(Enrolment, model.enrolment_id == Enrolment.id)
        .where(model.key_id != keyring.active)
        .execution_options(yield_per=batch)
    )
    moved = 0
    for row, public_id in session.execute(query):
        associated = aad(public_id, row.photo_index)
        plain = keyring.open(Sealed(row.key_id, row.nonce, row.ciphertext), associated)
        sealed = keyring.seal(plain, associated)
        row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
        moved += 1
    return moved


def _reencrypt_signing_keys(keyring: KeyRing, session: Session) -> int:
    """The OpenID provider's private signing keys are sealed by the same ring (associated data
    ``signing-key:<kid>``): move them too, or retiring an old ring key would lose them."""
    from civid.pkcs11_token import IN_TOKEN
    from models import SigningKey

    moved = 0
    stale = SigningKey.private_key_id.not_in((keyring.active, IN_TOKEN))  # a key in an HSM is not sealed here
    for row in session.scalars(select(SigningKey).where(stale)):
        associated = f"signing-key:{row.kid}".encode()
        plain = keyring.open(Sealed(row.private_key_id, row.private_nonce, row.private_ciphertext), associated)
        sealed = keyring.seal(plain, associated)
        row.private_key_id, row.private_nonce, row.private_ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
        moved += 1
    return moved
