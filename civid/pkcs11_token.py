"""One PKCS#11 token (an HSM, or SoftHSM2 in tests): a logged-in session and the few operations civid asks of it.

Private keys and master keys are generated inside the token, non-extractable, and found again by label; the
host only ever holds public keys and, for envelope encryption (``civid.envelope``), the data keys it unwrapped
at start. PKCS#11 sessions are not safe to share between threads, so every call takes one lock: signing is a
few per token issued, and sealing never reaches the token (the data keys are in memory).
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import TYPE_CHECKING, Any

from civid.errors import ConfigurationError

if TYPE_CHECKING:
    from civid.settings import Settings

IN_TOKEN = "pkcs11"  # the key id stored for a private key that lives in the token (its label is the key's own id)
WRAP = "AES_KEY_WRAP"  # RFC 3394 in the token: a 256-bit data key wraps to 40 bytes


def _pkcs11() -> Any:
    """python-pkcs11, imported on first use so a file-backed deployment never loads it."""
    try:
        import pkcs11
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise ConfigurationError("keys_backend=pkcs11 needs the python-pkcs11 package") from exc
    return pkcs11


def pin_of(settings: Settings) -> str:
    """The user PIN: CIVID_PKCS11_PIN, else the first line of ``pkcs11_pin_file``."""
    if settings.pkcs11_pin is not None:
        return settings.pkcs11_pin.get_secret_value()
    if settings.pkcs11_pin_file is not None:
        try:
            return settings.pkcs11_pin_file.read_text().splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise ConfigurationError(f"cannot read the PKCS#11 PIN file {settings.pkcs11_pin_file}: {exc}") from exc
    raise ConfigurationError("keys_backend=pkcs11 needs CIVID_PKCS11_PIN or CIVID_PKCS11_PIN_FILE")


class Token:
    """A logged-in read-write session on the token labelled ``label`` of the PKCS#11 module at ``module``.

    Use ``Token.open``: PKCS#11 logs in per process and token (a second login is CKR_USER_ALREADY_LOGGED_IN), so
    every part of a process that needs the token shares one session."""

    _opened: dict[tuple[str, str], tuple[str, Token]] = {}
    _opening = threading.Lock()

    def __init__(self, module: str, label: str, pin: str) -> None:
        p11 = _pkcs11()
        self._p11 = p11
        self.label = label
        try:
            token = p11.lib(module).get_token(token_label=label)
            self._session = token.open(user_pin=pin, rw=True)
        except p11.exceptions.NoSuchToken as exc:
            raise ConfigurationError(f"no PKCS#11 token labelled {label!r} in {module}") from exc
        except p11.exceptions.PinIncorrect as exc:
            raise ConfigurationError(f"the PIN of PKCS#11 token {label!r} is wrong") from exc
        except (RuntimeError, OSError, p11.exceptions.PKCS11Error) as exc:
            raise ConfigurationError(f"cannot open PKCS#11 token {label!r} in {module}: {exc!r}") from exc
        self._lock = threading.Lock()
        self._handles: dict[tuple[str, Any], Any] = {}

    @classmethod
    def open(cls, module: str, label: str, pin: str) -> Token:
        """The process's session on that token, opened and logged in on first use."""
        with cls._opening:
            opened = cls._opened.get((module, label))
            if opened is not None:
                if opened[0] != pin:
                    raise ConfigurationError(f"the PIN of PKCS#11 token {label!r} is wrong")
                return opened[1]
            token = cls(module, label, pin)
            cls._opened[(module, label)] = (pin, token)
            return token

    @classmethod
    def from_settings(cls, settings: Settings) -> Token:
        if not settings.pkcs11_module or not settings.pkcs11_token_label:
            raise ConfigurationError("keys_backend=pkcs11 needs CIVID_PKCS11_MODULE and CIVID_PKCS11_TOKEN_LABEL")
        return cls.open(settings.pkcs11_module, settings.pkcs11_token_label, pin_of(settings))

    # --- lookup ------------------------------------------------------------------------------
    def _find(self, label: str, object_class: Any, what: str) -> Any:
        """The key object labelled ``label`` (the caller holds the lock); handles are kept, as a token search
        costs more than the signature itself."""
        p11 = self._p11
        cached = self._handles.get((label, object_class))
        if cached is not None:
            return cached
        try:
            key = self._handles[(label, object_class)] = self._session.get_key(object_class=object_class, label=label)
            return key
        except p11.exceptions.NoSuchKey as exc:
            raise ConfigurationError(
                f"{what} {label!r} is not in PKCS#11 token {self.label!r}: this data cannot be opened without the "
                "token that holds it"
            ) from exc

    def has(self, label: str) -> bool:
        with self._lock:
            return any(True for _ in self._session.get_objects({self._p11.Attribute.LABEL: label}))

    def destroy(self, label: str) -> int:
        """Delete every object labelled ``label`` (a retired key: its data was re-wrapped or its tokens expired)."""
        with self._lock:
            objects = list(self._session.get_objects({self._p11.Attribute.LABEL: label}))
            self._handles = {key: handle for key, handle in self._handles.items() if key[0] != label}
            for obj in objects:
                obj.destroy()
            return len(objects)

    # --- master keys and wrapping --------------------------------------------------------------
    def create_master_key(self, label: str) -> None:
        """An AES-256 key that only wraps and unwraps, stays in the token, and can never be read out."""
        p11 = self._p11
        attr = p11.Attribute
        if self.has(label):
            raise ConfigurationError(f"PKCS#11 token {self.label!r} already holds a key labelled {label!r}")
        with self._lock:
            self._session.generate_key(
                p11.KeyType.AES,
                256,
                label=label,
                store=True,
                template={attr.EXTRACTABLE: False, attr.SENSITIVE: True, attr.WRAP: True, attr.UNWRAP: True},
            )

    def wrap(self, master: str, data_key: bytes) -> bytes:
        """``data_key`` wrapped by the master key (the plaintext key is a session object for the call only)."""
        p11 = self._p11
        attr = p11.Attribute
        with self._lock:
            key = self._find(master, p11.ObjectClass.SECRET_KEY, "master key")
            temporary = self._session.create_object(
                {
                    attr.CLASS: p11.ObjectClass.SECRET_KEY,
                    attr.KEY_TYPE: p11.KeyType.AES,
                    attr.VALUE: data_key,
                    attr.TOKEN: False,
                    attr.EXTRACTABLE: True,
                    attr.SENSITIVE: False,
                }
            )
            try:
                return bytes(key.wrap_key(temporary, mechanism=getattr(p11.Mechanism, WRAP)))
            finally:
                temporary.destroy()

    def unwrap(self, master: str, wrapped: bytes) -> bytes:
        """The data key inside ``wrapped``; a wrong master key or a tampered blob is a ConfigurationError."""
        p11 = self._p11
        attr = p11.Attribute
        with self._lock:
            key = self._find(master, p11.ObjectClass.SECRET_KEY, "master key")
            try:
                data_key = key.unwrap_key(
                    p11.ObjectClass.SECRET_KEY,
                    p11.KeyType.AES,
                    wrapped,
                    mechanism=getattr(p11.Mechanism, WRAP),
                    store=False,
                    template={attr.EXTRACTABLE: True, attr.SENSITIVE: False},
                )
            except p11.exceptions.PKCS11Error as exc:
                raise ConfigurationError(f"a data key does not unwrap under master key {master!r}: {exc!r}") from exc
            try:
                return bytes(data_key[attr.VALUE])
            finally:
                data_key.destroy()

    # --- signing keys ----------------------------------------------------------------------------
    def create_signing_key(self, label: str, alg: str) -> Any:
        """A key pair generated in the token (private half non-extractable); returns the public key as a
        ``cryptography`` object (ES256: P-256, RS256: RSA-2048, EdDSA: Ed25519)."""
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
        from pkcs11.util.ec import encode_named_curve_parameters

        p11 = self._p11
        attr = p11.Attribute
        private_template = {attr.EXTRACTABLE: False, attr.SENSITIVE: True, attr.SIGN: True}
        with self._lock:
            if alg == "RS256":
                public, _ = self._session.generate_keypair(
                    p11.KeyType.RSA, 2048, label=label, store=True, private_template=private_template
                )
                n = int.from_bytes(public[attr.MODULUS], "big")
                e = int.from_bytes(public[attr.PUBLIC_EXPONENT], "big")
                return rsa.RSAPublicNumbers(e, n).public_key()
            curve, key_type, mechanism = {
                "ES256": ("secp256r1", p11.KeyType.EC, p11.Mechanism.EC_KEY_PAIR_GEN),
                "EdDSA": ("1.3.101.112", p11.KeyType.EC_EDWARDS, p11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN),
            }[alg]
            params = self._session.create_domain_parameters(
                key_type, {attr.EC_PARAMS: encode_named_curve_parameters(curve)}, local=True
            )
            public, _ = params.generate_keypair(
                store=True, label=label, mechanism=mechanism, private_template=private_template
            )
            point = _octet_string(bytes(public[attr.EC_POINT]))
        if alg == "EdDSA":
            return ed25519.Ed25519PublicKey.from_public_bytes(point)
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)

    def sign(self, label: str, alg: str, message: bytes) -> bytes:
        """A signature by the private key ``label``: ES256 as raw r||s (what JWS wants), RS256 PKCS#1 v1.5,
        EdDSA as RFC 8032. ECDSA hashes on the host: SoftHSM2 has CKM_ECDSA but not CKM_ECDSA_SHA256."""
        p11 = self._p11
        with self._lock:
            key = self._find(label, p11.ObjectClass.PRIVATE_KEY, "signing key")
            if alg == "ES256":
                return bytes(key.sign(hashlib.sha256(message).digest(), mechanism=p11.Mechanism.ECDSA))
            if alg == "RS256":
                return bytes(key.sign(message, mechanism=p11.Mechanism.SHA256_RSA_PKCS))
            if alg == "EdDSA":
                return bytes(key.sign(message, mechanism=p11.Mechanism.EDDSA))
        raise ConfigurationError(f"unsupported token signing algorithm {alg!r}")


def _octet_string(der: bytes) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 3.0 §2.3.3); short and long length forms."""
    if not der or der[0] != 0x04:
        return der
    length = der[1]
    start = 2
    if length & 0x80:
        start = 2 + (length & 0x7F)
    return der[start:]


def new_label(prefix: str) -> str:
    """A fresh object label (``civid-master-3f9a…``), unique enough never to collide within a token."""
    return f"{prefix}-{os.urandom(6).hex()}"
