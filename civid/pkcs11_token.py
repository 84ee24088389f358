"""Keys that never leave a hardware security module, through PKCS#11 (``python-pkcs11``; tested on SoftHSM2).

Two uses. **Envelope encryption** of the template key ring (civid/keyring.py): the ring's AES data keys are stored
only wrapped — AES-256-GCM under a master key inside the token, which is neither extractable nor readable — and
unwrapped once when a process starts, so the token is not asked per template. **Signing keys** generated in the
token (OpenID ES256 and RS256 keys, the audit log's Ed25519 checkpoint key): the objects below are
``cryptography`` private-key types whose ``sign`` asks the token, so PyJWT and the signed-note code use them as
they use a key in memory, and whose ``private_bytes`` refuses — there is nothing to export.

One PKCS#11 session per process, opened at first use, serialised by a lock (a session is not to be used by two
threads at once: PKCS#11 v2.40 §5.1.5). The PIN comes from a file or ``CIVID_PKCS11_PIN``, never from a flag.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from typing_extensions import Buffer

from civid.errors import ConfigurationError

NONCE = 12
EC_P256_PARAMS = "secp256r1"
ED25519_PARAMS = "1.3.101.112"  # the OID of Ed25519 as CKA_EC_PARAMS (PKCS#11 v3.0 §2.3.10)


@dataclass(frozen=True)
class TokenConfig:
    module: Path
    token_label: str
    pin: str


class Token:
    """A logged-in session on one token, and the key operations civid needs from it."""

    def __init__(self, config: TokenConfig) -> None:
        import pkcs11

        self.config = config
        self._lock = threading.RLock()
        try:
            self._token = pkcs11.lib(str(config.module)).get_token(token_label=config.token_label)
            self._session = self._token.open(user_pin=config.pin, rw=True)
        except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
            raise ConfigurationError(
                f"cannot open the PKCS#11 token {config.token_label!r} through {config.module}: "
                f"{type(exc).__name__} {exc}".strip()
            ) from exc

    def close(self) -> None:
        with self._lock:
            self._session.close()

    # --- the master key and envelope encryption -------------------------------------------
    def _secret_key(self, label: str, create: bool) -> Any:
        import pkcs11
        from pkcs11 import Attribute, KeyType, MechanismFlag

        try:
            return self._session.get_key(label=label, key_type=KeyType.AES, object_class=pkcs11.ObjectClass.SECRET_KEY)
        except pkcs11.NoSuchKey:
            if not create:
                raise ConfigurationError(
                    f"the PKCS#11 token {self.config.token_label!r} holds no master key {label!r}: the key ring "
                    "was wrapped by another token, or the key was destroyed"
                ) from None
        return self._session.generate_key(
            KeyType.AES,
            256,
            label=label,
            store=True,
            capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
            template={Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True},
        )

    def ensure_master_key(self, label: str) -> None:
        with self._lock:
            self._secret_key(label, create=True)

    def has_master_key(self, label: str) -> bool:
        with self._lock:
            try:
                self._secret_key(label, create=False)
                return True
            except ConfigurationError:
                return False

    def wrap(self, label: str, data: bytes, aad: bytes) -> bytes:
        """AES-256-GCM under the master key ``label``: nonce ‖ ciphertext ‖ tag."""
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        nonce = secrets.token_bytes(NONCE)
        with self._lock:
            key = self._secret_key(label, create=False)
            return nonce + bytes(
                key.encrypt(data, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad, 128))
            )

    def unwrap(self, label: str, blob: bytes, aad: bytes) -> bytes:
        import pkcs11
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        with self._lock:
            key = self._secret_key(label, create=False)
            try:
                return bytes(
                    key.decrypt(
                        blob[NONCE:], mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(blob[:NONCE], aad, 128)
                    )
                )
            except pkcs11.PKCS11Error as exc:
                raise ConfigurationError(f"a wrapped key does not open under master key {label!r}") from exc

    def destroy_master_key(self, label: str) -> None:
        with self._lock:
            self._secret_key(label, create=False).destroy()

    # --- signing keys ------------------------------------------------------------------------
    def generate_signing_key(self, alg: str, label: str) -> Any:
        """A key pair made in the token for ``alg`` (ES256, RS256, EdDSA); returns its private-key object."""
        from pkcs11 import Attribute, KeyType
        from pkcs11.util.ec import encode_named_curve_parameters

        private = {Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True}
        with self._lock:
            if alg == "RS256":
                self._session.generate_keypair(
                    KeyType.RSA, 2048, store=True, label=label, id=label.encode(), private_template=private
                )
            else:
                curve = EC_P256_PARAMS if alg == "ES256" else ED25519_PARAMS
                kind = KeyType.EC if alg == "ES256" else KeyType.EC_EDWARDS
                parameters = self._session.create_domain_parameters(
                    kind, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve)}, local=True
                )
                parameters.generate_keypair(store=True, label=label, id=label.encode(), private_template=private)
        return self.signing_key(alg, label)

    def signing_key(self, alg: str, label: str) -> Any:
        public = self._public(alg, label)
        if alg == "ES256":
            return TokenEcKey(self, label, public)
        if alg == "RS256":
            return TokenRsaKey(self, label, public)
        return TokenEd25519Key(self, label, public)

    def _public(self, alg: str, label: str) -> Any:
        import pkcs11
        from pkcs11 import Attribute, ObjectClass

        with self._lock:
            try:
                key = self._session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=label)
            except pkcs11.NoSuchKey:
                raise ConfigurationError(
                    f"the PKCS#11 token {self.config.token_label!r} holds no signing key {label!r}"
                ) from None
            if alg == "RS256":
                n = int.from_bytes(key[Attribute.MODULUS], "big")
                e = int.from_bytes(key[Attribute.PUBLIC_EXPONENT], "big")
                return rsa.RSAPublicNumbers(e, n).public_key()
            point = bytes(key[Attribute.EC_POINT])[2:]  # a DER OCTET STRING: tag, length (short form), point
        if alg == "ES256":
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        return ed25519.Ed25519PublicKey.from_public_bytes(point)

    def sign(self, label: str, mechanism_name: str, data: bytes) -> bytes:
        from pkcs11 import Mechanism, ObjectClass

        with self._lock:
            key = self._session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
            signed: bytes = key.sign(data, mechanism=getattr(Mechanism, mechanism_name))  # type: ignore[attr-defined]
            return bytes(signed)


def _refuse(*_args: object, **_kwargs: object) -> Any:
    raise ConfigurationError("this private key lives in the PKCS#11 token and is never exported")


class TokenEcKey(ec.EllipticCurvePrivateKey):
    """A P-256 key in the token, signing ES256 (PyJWT hands it ``ECDSA(SHA256)`` and wants DER back)."""

    def __init__(self, token: Token, label: str, public: ec.EllipticCurvePublicKey) -> None:
        self._token, self.label, self._public_key = token, label, public

    def sign(self, data: Buffer, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        raw = self._token.sign(self.label, "ECDSA", hashlib.sha256(bytes(data)).digest())  # r ‖ s, 32 bytes each
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public_key

    @property
    def curve(self) -> ec.EllipticCurve:
        return ec.SECP256R1()

    @property
    def key_size(self) -> int:
        return 256

    exchange = private_numbers = private_bytes = _refuse

    def __copy__(self) -> TokenEcKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> TokenEcKey:
        return self


class TokenRsaKey(rsa.RSAPrivateKey):
    """A 2048-bit RSA key in the token, signing RS256 (PKCS#1 v1.5 with SHA-256, CKM_SHA256_RSA_PKCS)."""

    def __init__(self, token: Token, label: str, public: rsa.RSAPublicKey) -> None:
        self._token, self.label, self._public_key = token, label, public

    def sign(self, data: Buffer, padding_: padding.AsymmetricPadding, algorithm: Any) -> bytes:
        if not isinstance(padding_, padding.PKCS1v15) or not isinstance(algorithm, hashes.SHA256):
            raise ConfigurationError("a token RSA key signs RS256 (PKCS#1 v1.5, SHA-256) only")
        return self._token.sign(self.label, "SHA256_RSA_PKCS", bytes(data))

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public_key

    @property
    def key_size(self) -> int:
        return self._public_key.key_size

    decrypt = private_numbers = private_bytes = _refuse

    def __copy__(self) -> TokenRsaKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> TokenRsaKey:
        return self


class TokenEd25519Key(ed25519.Ed25519PrivateKey):
    """An Ed25519 key in the token (CKM_EDDSA), signing the audit log's checkpoints."""

    def __init__(self, token: Token, label: str, public: ed25519.Ed25519PublicKey) -> None:
        self._token, self.label, self._public_key = token, label, public

    def sign(self, data: Buffer) -> bytes:
        return self._token.sign(self.label, "EDDSA", bytes(data))

    def public_key(self) -> ed25519.Ed25519PublicKey:
        return self._public_key

    private_bytes = private_bytes_raw = _refuse

    def __copy__(self) -> TokenEd25519Key:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> TokenEd25519Key:
        return self


def read_pin(pin_file: Path | None, pin: str | None) -> str:
    if pin_file is not None:
        try:
            return pin_file.read_text().splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise ConfigurationError(f"cannot read the PKCS#11 PIN from {pin_file}: {exc}") from exc
    if pin:
        return pin
    raise ConfigurationError("a PKCS#11 module is set but no PIN: set CIVID_PKCS11_PIN_FILE or CIVID_PKCS11_PIN")


_open: dict[TokenConfig, Token] = {}
_opening = threading.Lock()


def open_token(module: Path | None, token_label: str, pin_file: Path | None, pin: str | None) -> Token | None:
    """The process's session on the configured token, or None when no PKCS#11 module is set. One per process and
    token: a PKCS#11 library is initialised once per process, and every service object shares its session."""
    if module is None:
        return None
    config = TokenConfig(module, token_label, read_pin(pin_file, pin))
    with _opening:
        token = _open.get(config)
        if token is None:
            token = _open[config] = Token(config)
        return token
