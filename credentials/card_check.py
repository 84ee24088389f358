"""Checking an ID card's QR as a verifier does: read it off a photo or a scan, verify the signature against the
credential keys a verifier holds (cached offline, or this civid's own), and — when online — look up the card's bit
in the signed status list the QR names. The QR's own claims are never trusted before the signature checks.

Used by ``civid card verify``; the verifier page (``/verify``) does the same in the browser with WebCrypto.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt

from civid.token_status_list import INVALID, STATUS_LIST_TYP, decode, status_at
from credentials.claim169 import FindKey, QrError, Verification, verify

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
Fetch = Callable[[str], str]  # a status list URI → the statuslist+jwt it serves (raises OSError when offline)


@dataclass(frozen=True)
class Revocation:
    """What the status list says: valid | revoked | unknown (offline, no status claim, or a list that fails)."""

    state: str
    detail: str | None = None


@dataclass(frozen=True)
class CardCheck:
    verification: Verification
    revocation: Revocation

    @property
    def accepted(self) -> bool:
        """Signature, dates and (when known) status all hold."""
        return self.verification.valid and self.revocation.state != "revoked"


def read_qr_image(path: Path) -> str:
    """The text of the QR code in an image (a phone photo or a scan of the card's back), by OpenCV's detector."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise QrError(f"{path.name} is not an image OpenCV can read")
    detectors: list[Any] = [cv2.QRCodeDetector()]
    if hasattr(cv2, "QRCodeDetectorAruco"):  # the newer detector finds small or tilted codes the classic one misses
        detectors.append(cv2.QRCodeDetectorAruco())
    for scale in (1.0, 2.0, 0.5):  # a photo's QR may be too small or too large for the finder patterns
        scaled = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        for detector in detectors:
            text, _, _ = detector.detectAndDecode(scaled)
            if text:
                return str(text)
    raise QrError(f"no QR code found in {path.name}")


def read_qr(path: Path) -> str:
    """The QR text from an image, or from a text file holding the Base45 text (what a hand scanner types)."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return read_qr_image(path)
    try:
        return path.read_text(encoding="ascii").strip()
    except UnicodeDecodeError as exc:
        raise QrError(f"{path.name} is neither an image nor the QR's text") from exc


def keys_from_jwks(jwks: dict[str, Any]) -> FindKey:
    """A key lookup over a JWK Set (the verifier's cached copy of ``/v1/credentials/jwks.json``)."""
    keys = {}
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256" and isinstance(jwk.get("kid"), str) and "d" not in jwk:
            keys[jwk["kid"]] = jwt.PyJWK(jwk).key
    return keys.get


def load_jwks(source: str, fetch: Fetch) -> dict[str, Any]:
    """A JWK Set from a file or an http(s) URL."""
    text = fetch(source) if source.startswith(("http://", "https://")) else Path(source).read_text()
    try:
        jwks = json.loads(text)
    except ValueError as exc:
        raise QrError(f"{source} is not a JWK Set") from exc
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise QrError(f"{source} is not a JWK Set")
    return jwks


def revocation(verification: Verification, find_key: FindKey, fetch: Fetch | None) -> Revocation:
    """The card's bit in its status list, read from the signed list (``fetch=None``: offline, not checked)."""
    reference = (verification.decoded.status or {}).get("status_list")
    if not isinstance(reference, dict) or not isinstance(reference.get("idx"), int) or "uri" not in reference:
        return Revocation("unknown", "the QR names no status list")
    if fetch is None:
        return Revocation("unknown", "offline: revocation not checked")
    uri, index = str(reference["uri"]), int(reference["idx"])
    try:
        token = fetch(uri)
    except OSError as exc:
        return Revocation("unknown", f"status list unreachable: {exc}")
    try:
        header = jwt.get_unverified_header(token)
        key = find_key(str(header.get("kid", "")))
        if header.get("typ") != STATUS_LIST_TYP or key is None:
            return Revocation("unknown", "the status list is not signed by a credential key")
        claims = jwt.decode(token, key, algorithms=["ES256"], options={"verify_aud": False})
        if claims.get("sub") != uri:
            return Revocation("unknown", "the status list answers for another list")
        bits = decode(claims["status_list"]["lst"])
        if index // 8 >= len(bits):
            return Revocation("unknown", "the card's index is outside its status list")
        state = "revoked" if status_at(bits, index) == INVALID else "valid"
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError) as exc:
        return Revocation("unknown", f"the status list does not verify: {exc}")
    return Revocation(state, f"status list {uri} at {datetime.now(UTC).isoformat(timespec='seconds')}")


def check(text: str, find_key: FindKey, fetch: Fetch | None) -> CardCheck:
    """Verify the QR, then (only when its signature holds) its revocation status."""
    checked = verify(text, find_key)
    if not checked.valid:
        return CardCheck(checked, Revocation("unknown", "not checked: the QR itself does not verify"))
    return CardCheck(checked, revocation(checked, find_key, fetch))
