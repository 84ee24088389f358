"""The verifier's side of SD-JWT (RFC 9901) for civid's own wallet credentials (SD-JWT VC, ``dc+sd-jwt``); the
issuer's side is ``civid.sd_jwt``. Used by the OpenID4VP verifier (``credentials.presentation_verify``).

A presentation is ``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~<KB-JWT>``. Checked here, each failure
a ``Rejected`` with a stable code (what the relying party reads) and a sentence that never holds a claim value:

- the issuer-signed JWT: ``typ dc+sd-jwt``, ES256, signed by a published credential key (``kid``), ``iss`` civid,
  ``iat`` not in the future, ``exp`` not passed, ``nbf`` reached, ``_sd_alg`` SHA-256;
- the Disclosures ("Verifying the SD-JWT"): each well formed, none twice, each digest found exactly once in an
  ``_sd`` array (or an array's ``{"...": digest}``) of the payload or of another disclosed value, a disclosed name
  never ``_sd``/``...`` nor one the object already has;
- the Key Binding JWT ("Verifying the Key Binding JWT"): ``typ kb+jwt``, signed by the key in ``cnf.jwk``, ``aud``
  and ``nonce`` the ones expected, ``iat`` fresh, ``sd_hash`` the digest of the presentation up to its last ``~``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import jwt

from civid.sd_jwt import SD_ALG, SD_JWT_TYP, digest

KB_JWT_TYP = "kb+jwt"
ISSUER_ALGS = ("ES256",)  # the credential keys are ES256 only (idp.keys, purpose credential)
KB_ALGS = ("ES256", "ES384", "ES512", "EdDSA", "RS256", "PS256")  # never "none" nor a MAC
LEEWAY_S = 30
ELLIPSIS = "..."


class Rejected(Exception):
    """A presentation civid refuses: ``code`` (stable, for the relying party) and a sentence (no claim values).

    ``bound``: raised after the Key Binding JWT proved the answer is the holder's, for this transaction (a revoked
    credential, a claim not disclosed); anything earlier could come from whoever read the request's QR code.
    """

    def __init__(self, code: str, detail: str, *, bound: bool = False) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.bound = bound


@dataclass(frozen=True)
class Parts:
    """A presentation split at its ``~``: the issuer-signed JWT, the Disclosures, and the KB-JWT (None: absent)."""

    issuer_jwt: str
    disclosures: list[str]
    kb_jwt: str | None

    @property
    def without_kb(self) -> str:
        """What ``sd_hash`` is computed over: the SD-JWT up to and including its last ``~``."""
        return "~".join([self.issuer_jwt, *self.disclosures]) + "~"


def split(presentation: str) -> Parts:
    """The presentation's parts (compact serialization only)."""
    if not isinstance(presentation, str) or "~" not in presentation:
        raise Rejected("malformed", "the presentation is not an SD-JWT (compact serialization with ~)")
    pieces = presentation.split("~")
    issuer_jwt, middle, last = pieces[0], pieces[1:-1], pieces[-1]
    if not issuer_jwt or any(not piece for piece in middle):
        raise Rejected("malformed", "the SD-JWT has an empty component")
    return Parts(issuer_jwt, middle, last or None)


def verify_issuer_jwt(token: str, keys: Any, issuer: str) -> dict[str, Any]:
    """The payload of the issuer-signed JWT, checked against ``keys`` (civid's credential keys: a published key's
    ``public_key(kid)``); a token signed by any other key (an OpenID key, a stranger's) is refused. Its validity
    period is ``check_times``'s, once the key binding says whose answer it is."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise Rejected("malformed", "the issuer-signed JWT cannot be parsed") from exc
    if header.get("typ") != SD_JWT_TYP:
        raise Rejected("wrong_type", f"the issuer-signed JWT's typ must be {SD_JWT_TYP}")
    if header.get("alg") not in ISSUER_ALGS:
        raise Rejected("bad_signature", "the issuer-signed JWT's alg is not one civid signs with")
    kid = header.get("kid")
    public_key = keys.public_key(kid) if isinstance(kid, str) else None
    if public_key is None:
        raise Rejected("unknown_issuer_key", "the credential is not signed by a published civid credential key")
    try:
        payload = jwt.decode(
            token,
            public_key,
            algorithms=list(ISSUER_ALGS),
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
        )
    except jwt.InvalidTokenError as exc:
        raise Rejected("bad_signature", "the issuer-signed JWT's signature does not verify") from exc
    if payload.get("iss") != issuer:
        raise Rejected("unknown_issuer", "the credential was not issued by civid")
    if payload.get("_sd_alg", SD_ALG) != SD_ALG:
        raise Rejected("malformed", f"_sd_alg must be {SD_ALG}")
    return payload


def check_times(payload: dict[str, Any], now: int) -> None:
    """The credential's ``iat``, ``exp`` and ``nbf`` at ``now``."""
    iat, exp, nbf = payload.get("iat"), payload.get("exp"), payload.get("nbf")
    if not isinstance(iat, int) or iat > now + LEEWAY_S:
        raise Rejected("malformed", "the credential's iat is missing or in the future")
    if not isinstance(exp, int):
        raise Rejected("malformed", "the credential has no exp")
    if exp <= now - LEEWAY_S:
        raise Rejected("expired", "the credential has expired")
    if nbf is not None and (not isinstance(nbf, int) or nbf > now + LEEWAY_S):
        raise Rejected("malformed", "the credential is not valid yet (nbf)")


def _decode(encoded: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Rejected("malformed_disclosure", "a Disclosure is not base64url JSON") from exc
    if not isinstance(value, list) or len(value) not in (2, 3) or not isinstance(value[0], str):
        raise Rejected("malformed_disclosure", "a Disclosure is not [salt, name, value] or [salt, value]")
    if len(value) == 3 and not isinstance(value[1], str):
        raise Rejected("malformed_disclosure", "a Disclosure's claim name is not a string")
    return value


def disclose(payload: dict[str, Any], disclosures: list[str]) -> dict[str, Any]:
    """The payload with the Disclosures put in place of their digests (and ``_sd``, ``_sd_alg`` and the digests
    of what stays hidden removed): the claims the holder chose to show."""
    by_digest: dict[str, list[Any]] = {}
    for encoded in disclosures:
        found = digest(encoded)
        if found in by_digest:
            raise Rejected("duplicate_disclosure", "a Disclosure is presented twice")
        by_digest[found] = _decode(encoded)
    used: set[str] = set()
    processed = _process(payload, by_digest, used)
    if used != set(by_digest):
        raise Rejected("unreferenced_disclosure", "a Disclosure's digest is not in the credential (tampered?)")
    processed.pop("_sd_alg", None)
    return processed


def _take(found: str, by_digest: dict[str, list[Any]], used: set[str]) -> list[Any] | None:
    if found not in by_digest:
        return None  # a hidden claim or a decoy
    if found in used:
        raise Rejected("duplicate_disclosure", "a digest appears more than once in the credential")
    used.add(found)
    return by_digest[found]


def _process(value: Any, by_digest: dict[str, list[Any]], used: set[str]) -> Any:
    if isinstance(value, list):
        return _process_array(value, by_digest, used)
    if not isinstance(value, dict):
        return value
    result = {name: _process(member, by_digest, used) for name, member in value.items() if name != "_sd"}
    digests = value.get("_sd", [])
    if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
        raise Rejected("malformed", "_sd must be an array of digests")
    for found in digests:
        disclosure = _take(found, by_digest, used)
        if disclosure is None:
            continue
        if len(disclosure) != 3:
            raise Rejected("malformed_disclosure", "an array-element Disclosure is referenced from _sd")
        _, name, member = disclosure
        if name in ("_sd", ELLIPSIS) or name in result:
            raise Rejected("malformed_disclosure", "a Disclosure's claim name is reserved or already present")
        result[name] = _process(member, by_digest, used)
    return result


def _process_array(items: list[Any], by_digest: dict[str, list[Any]], used: set[str]) -> list[Any]:
    result = []
    for item in items:
        if isinstance(item, dict) and set(item) == {ELLIPSIS}:
            disclosure = _take(str(item[ELLIPSIS]), by_digest, used)
            if disclosure is None:
                continue  # an element left hidden
            if len(disclosure) != 2:
                raise Rejected("malformed_disclosure", "an object-property Disclosure is referenced from an array")
            result.append(_process(disclosure[1], by_digest, used))
        else:
            result.append(_process(item, by_digest, used))
    return result


def sd_hash(without_kb: str) -> str:
    """base64url(SHA-256(the ASCII presentation without its KB-JWT))."""
    return base64.urlsafe_b64encode(hashlib.sha256(without_kb.encode("ascii")).digest()).rstrip(b"=").decode()


def verify_key_binding(parts: Parts, cnf: Any, *, audience: str, nonce: str, now: int, max_age_s: int) -> None:
    """Check the KB-JWT against the credential's ``cnf.jwk`` and this transaction's ``aud`` and ``nonce``."""
    if parts.kb_jwt is None:
        raise Rejected("missing_key_binding", "the presentation has no Key Binding JWT")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise Rejected("malformed", "the credential names no holder key (cnf.jwk)")
    try:
        header = jwt.get_unverified_header(parts.kb_jwt)
        holder_key = jwt.PyJWK({k: v for k, v in jwk.items() if k not in ("alg", "use", "key_ops")}).key
    except (jwt.InvalidTokenError, jwt.PyJWKError, ValueError, TypeError) as exc:
        raise Rejected("bad_key_binding", "the Key Binding JWT or the holder key cannot be parsed") from exc
    if header.get("typ") != KB_JWT_TYP:
        raise Rejected("bad_key_binding", f"the Key Binding JWT's typ must be {KB_JWT_TYP}")
    if header.get("alg") not in KB_ALGS:
        raise Rejected("bad_key_binding", "the Key Binding JWT's alg is not accepted")
    try:
        claims = jwt.decode(
            parts.kb_jwt,
            holder_key,
            algorithms=[header["alg"]],
            options={"verify_aud": False, "verify_iat": False, "verify_exp": False, "verify_nbf": False},
        )
    # An alg that does not fit the holder's key type (EdDSA over a P-256 key) raises InvalidKeyError or TypeError.
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise Rejected("bad_key_binding", "the Key Binding JWT is not signed by the credential's holder key") from exc
    if claims.get("aud") != audience:
        raise Rejected("wrong_audience", "the Key Binding JWT's aud is not civid's client identifier")
    if claims.get("nonce") != nonce:
        raise Rejected("wrong_nonce", "the Key Binding JWT's nonce is not this request's nonce")
    iat = claims.get("iat")
    if not isinstance(iat, int) or iat < now - max_age_s or iat > now + max_age_s:
        raise Rejected("stale_key_binding", "the Key Binding JWT's iat is missing or not recent")
    if claims.get("sd_hash") != sd_hash(parts.without_kb):
        raise Rejected("bad_key_binding", "the Key Binding JWT's sd_hash does not match the presented SD-JWT")
