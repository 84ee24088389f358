"""Signing keys for ID tokens, access tokens and attestations: stored in the database (private halves
sealed by the key ring), published as a JWKS, rotated without breaking anything in flight.

Rotation (``civid keys rotate``): the new key is published at once but signs only after
``signing_key_publish_lead_s``, so relying parties that cache the JWKS learn it before they meet it; the
old key stops signing when the new one starts, and stays in the JWKS until every token it signed has
expired (``expires_at``).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from civid import audit
from civid.audit import SYSTEM, Actor, as_utc
from civid.errors import ConfigurationError
from civid.keyring import KeyRing, Sealed
from civid.pkcs11_token import IN_TOKEN
from civid.settings import Settings
from models import SigningKey, utcnow

if TYPE_CHECKING:
    from civid.pkcs11_token import Token

ALGORITHMS: tuple[Literal["ES256", "RS256"], ...] = ("ES256", "RS256")
CREDENTIAL_ALGORITHMS: tuple[Literal["ES256"], ...] = ("ES256",)
KEYS_CACHE_S = 5.0


@dataclass(frozen=True)
class KeyStatus:
    kid: str
    alg: str
    state: str  # pending (published, not yet signing) | active | retired (verifying only) | expired
    published_at: datetime
    activates_at: datetime
    retired_at: datetime | None
    expires_at: datetime | None


def _associated_data(kid: str) -> bytes:
    return f"signing-key:{kid}".encode()


def _generate(alg: str) -> Any:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ConfigurationError(f"unsupported signing algorithm {alg!r}")


def _public_jwk(public_key: Any, alg: str, kid: str) -> dict[str, Any]:
    algorithm = ECAlgorithm if alg == "ES256" else RSAAlgorithm
    jwk = algorithm.to_jwk(public_key, as_dict=True)
    return _without_key_ops({**jwk, "kid": kid, "alg": alg, "use": "sig"})


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact token, only to pick the key: ``jwt.decode`` then checks all of it. PyJWT's own
    ``get_unverified_header`` decodes and validates every segment character by character, which for an access
    token costs as much as the verification itself, and it would be done twice."""
    segment = token.split(".", 1)[0] if isinstance(token, str) else ""
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError) as exc:
        raise jwt.DecodeError("the token's header cannot be read") from exc
    if not isinstance(header, dict):
        raise jwt.DecodeError("the token's header is not a JSON object")
    return header


def _published_at(row: SigningKey, now: datetime) -> bool:
    """Whether relying parties may meet the key at ``now``: published, not yet expired."""
    return as_utc(row.published_at) <= now and _state(row, now) != "expired"


def _without_key_ops(jwk: dict[str, Any]) -> dict[str, Any]:
    """RFC 7517 §4.3: ``use`` and ``key_ops`` SHOULD NOT both be present; PyJWT adds ``key_ops`` to RSA keys
    (and keys stored before this rule carry it), so it is dropped and ``use: sig`` says the same."""
    return {name: value for name, value in jwk.items() if name != "key_ops"}


class SigningKeys:
    """The OP's signing keys: create on first start, sign with the active one, publish, rotate."""

    def __init__(
        self,
        settings: Settings,
        keyring: KeyRing,
        sessions: sessionmaker[Session],
        token: Token | None = None,
        *,
        purpose: Literal["oidc", "credential"] = "oidc",
    ) -> None:
        self.settings = settings
        # oidc: ID tokens, access tokens, attestations (ES256 and RS256). credential: what a citizen carries (the ID
        # card's Claim 169 QR, wallet credentials; ES256 only, what a verifier's WebCrypto and COSE both take),
        # published until the last card it signed has expired.
        self.purpose = purpose
        self.algorithms: tuple[str, ...] = ALGORITHMS if purpose == "oidc" else CREDENTIAL_ALGORITHMS
        self.keyring = keyring
        self.token = token  # set: new keys are made in the token and sign there; older sealed keys still sign
        self.sessions = sessions
        self._private: dict[str, Any] = {}
        self._public: dict[str, Any] = {}  # kid -> public key object: a kid never names another key
        self._lock = threading.Lock()
        self._rows_cache: tuple[float, list[SigningKey]] | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def ensure(self) -> None:
        """Make sure each algorithm has a key that signs now (the first start creates them, active at once)."""
        with self._lock, self.sessions.begin() as session:
            now = utcnow()
            rows = session.scalars(select(SigningKey).where(SigningKey.purpose == self.purpose)).all()
            for alg in self.algorithms:
                if not any(row.alg == alg and _state(row, now) == "active" for row in rows):
                    self._create(session, alg, activates_at=now, actor=SYSTEM)
            self._rows_cache = None

    def rotate(
        self, actor: Actor = SYSTEM, algs: tuple[str, ...] | None = None, lead_s: int | None = None
    ) -> list[SigningKey]:
        """Add a new key per algorithm, published now and signing after the lead time; schedule the
        current keys' retirement for that moment and their removal once their tokens have expired."""
        lead = timedelta(seconds=self.settings.signing_key_publish_lead_s if lead_s is None else lead_s)
        created = []
        with self.sessions.begin() as session:
            now = utcnow()
            for alg in algs or self.algorithms:
                if alg not in self.algorithms:
                    raise ConfigurationError(
                        f"{self.purpose} keys cannot be {alg}: one of {', '.join(self.algorithms)}"
                    )
                activates = now + lead
                for row in session.scalars(
                    select(SigningKey).where(
                        SigningKey.purpose == self.purpose, SigningKey.alg == alg, SigningKey.retired_at.is_(None)
                    )
                ):
                    row.retired_at = max(activates, as_utc(row.activates_at))
                    row.expires_at = row.retired_at + timedelta(seconds=self.longest_token_lifetime_s)
                created.append(self._create(session, alg, activates_at=activates, actor=actor))
        self._rows_cache = None
        return created

    @property
    def longest_token_lifetime_s(self) -> int:
        """A retired key stays published this long after it stops signing (longest-lived token it signed)."""
        s = self.settings
        if self.purpose == "credential":
            return s.credential_validity_days * 86_400
        return max(s.id_token_ttl_s, s.access_token_ttl_s, getattr(s, "attestation_ttl_s", 0))

    def _create(self, session: Session, alg: str, activates_at: datetime, actor: Actor) -> SigningKey:
        prefix = alg.lower() if self.purpose == "oidc" else f"cred-{alg.lower()}"
        kid = f"{prefix}-{utcnow():%Y%m%d}-{secrets.token_hex(4)}"
        if self.token is not None:
            public_key = self.token.create_signing_key(kid, alg)
            sealed = Sealed(IN_TOKEN, b"", b"")  # nothing to store: the private half never leaves the token
        else:
            private_key = _generate(alg)
            public_key = private_key.public_key()
            pem = private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            sealed = self.keyring.seal(pem, _associated_data(kid))
        row = SigningKey(
            kid=kid,
            alg=alg,
            purpose=self.purpose,
            public_jwk=_public_jwk(public_key, alg, kid),
            private_key_id=sealed.key_id,
            private_nonce=sealed.nonce,
            private_ciphertext=sealed.ciphertext,
            published_at=utcnow(),
            activates_at=activates_at,
        )
        session.add(row)
        session.flush()
        audit.record(
            session, actor, "signing_key.created", "signing_key", kid, alg=alg, activates_at=activates_at.isoformat()
        )
        return row

    # --- use ---------------------------------------------------------------------------------
    def _rows(self) -> list[SigningKey]:
        """Every key row, read once for a few seconds (each token issued signs twice and each UserInfo call
        verifies once); never cached across a moment when a key changes state, and another process's
        rotation shows within ``KEYS_CACHE_S``."""
        cached = self._rows_cache
        if cached is not None and time.monotonic() - cached[0] < KEYS_CACHE_S:
            return cached[1]
        with self.sessions() as session:
            rows = list(
                session.scalars(select(SigningKey).where(SigningKey.purpose == self.purpose).order_by(SigningKey.id))
            )
        now = utcnow()
        changes = [
            as_utc(moment)
            for row in rows
            for moment in (row.published_at, row.activates_at, row.retired_at, row.expires_at)
            if moment is not None and as_utc(moment) > now
        ]
        if not changes or min(changes) - now > timedelta(seconds=KEYS_CACHE_S):
            self._rows_cache = (time.monotonic(), rows)
        return rows

    def _private_key(self, row: SigningKey) -> Any:
        with self._lock:
            key = self._private.get(row.kid)
            if key is None:
                pem = self.keyring.open(
                    Sealed(row.private_key_id, row.private_nonce, row.private_ciphertext), _associated_data(row.kid)
                )
                key = self._private[row.kid] = serialization.load_pem_private_key(pem, password=None)
            return key

    def _active(self, alg: str) -> SigningKey:
        now = utcnow()
        active = [row for row in self._rows() if row.alg == alg and _state(row, now) == "active"]
        if not active:
            raise ConfigurationError(f"no active {alg} {self.purpose} signing key; run `civid keys rotate`")
        return max(active, key=lambda r: as_utc(r.activates_at))

    def active_kid(self, alg: str = "ES256") -> str:
        """The id of the key that signs now (a COSE protected header names it before the signature is made)."""
        return self._active(alg).kid

    def sign_bytes(self, data: bytes, alg: str = "ES256", kid: str | None = None) -> tuple[str, bytes]:
        """Sign raw bytes (a COSE Sig_structure) with the algorithm's active key: ``(kid, signature)``, an ES256
        signature as raw r||s (RFC 8152 §8.1 and RFC 7518 §3.4 agree), whether the key is sealed or in a token.
        ``kid``: the key ``data`` names (``active_kid``); refused if a rotation has made another key active since."""
        if alg != "ES256":
            raise ConfigurationError(f"raw signatures are ES256 only, not {alg}")
        row = self._active(alg)
        if kid is not None and row.kid != kid:
            raise ConfigurationError(f"key {kid} no longer signs: {row.kid} is active since a rotation; sign again")
        if row.private_key_id == IN_TOKEN:
            if self.token is None:
                raise ConfigurationError(
                    f"signing key {row.kid} lives in a PKCS#11 token: set CIVID_KEYS_BACKEND=pkcs11"
                )
            return row.kid, self.token.sign(row.kid, alg, data)
        der = self._private_key(row).sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return row.kid, r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def _published(self, kid: str) -> SigningKey | None:
        """The row of ``kid`` if relying parties may meet it (as ``jwks`` lists it), else None."""
        now = utcnow()
        return next((row for row in self._rows() if row.kid == kid and _published_at(row, now)), None)

    def _public_key(self, row: SigningKey) -> Any:
        key = self._public.get(row.kid)
        if key is None:
            key = self._public[row.kid] = jwt.PyJWK(_without_key_ops(row.public_jwk)).key
        return key

    def public_key(self, kid: str) -> Any:
        """The public key object of a published, unexpired key, or None (verifying a COSE or JWS signature)."""
        row = self._published(kid)
        return self._public_key(row) if row is not None else None

    def sign(self, claims: dict[str, Any], alg: str | None = None, typ: str = "JWT") -> str:
        """Sign ``claims`` as a compact JWS with the algorithm's active key (``kid`` in the header)."""
        alg = alg or (self.settings.signing_alg if self.purpose == "oidc" else "ES256")
        row = self._active(alg)
        if row.private_key_id == IN_TOKEN:
            if self.token is None:
                raise ConfigurationError(
                    f"signing key {row.kid} lives in a PKCS#11 token: set CIVID_KEYS_BACKEND=pkcs11"
                )
            token, kid = self.token, row.kid
            return compact_jws(claims, {"alg": alg, "typ": typ, "kid": kid}, lambda data: token.sign(kid, alg, data))
        return jwt.encode(claims, self._private_key(row), algorithm=alg, headers={"kid": row.kid, "typ": typ})

    def forget_cache(self) -> None:
        """Drop the cached keys (after they were changed behind this object's back, e.g. by another process)."""
        self._rows_cache = None

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys relying parties may meet: published, not yet expired."""
        now = utcnow()
        return {"keys": [_without_key_ops(row.public_jwk) for row in self._rows() if _published_at(row, now)]}

    def verify(
        self,
        token: str,
        *,
        audience: str | list[str] | None = None,
        typ: str | None = None,
        verify_exp: bool = True,
        leeway: int = 30,
    ) -> dict[str, Any]:
        """Check a token this OP signed (signature by a published key, issuer, audience, expiry) and
        return its claims; raise ``jwt.InvalidTokenError`` otherwise."""
        header = _unverified_header(token)
        if typ is not None and str(header.get("typ", "")).lower() != typ.lower():
            raise jwt.InvalidTokenError(f"token type must be {typ}")
        kid = header.get("kid")
        row = self._published(kid) if isinstance(kid, str) else None
        if row is None:
            raise jwt.InvalidTokenError("unknown or expired signing key")
        return jwt.decode(  # checks the whole token again, header included, strictly
            token,
            self._public_key(row),
            algorithms=[row.alg],
            audience=audience,
            issuer=self.settings.resolved_issuer,
            leeway=leeway,
            options={"verify_exp": verify_exp, "verify_aud": audience is not None},
        )

    def status(self) -> list[KeyStatus]:
        """Every key with its state now (for `civid keys status` and the admin API)."""
        now = utcnow()
        with self.sessions() as session:
            rows = session.scalars(
                select(SigningKey)
                .where(SigningKey.purpose == self.purpose)
                .order_by(SigningKey.alg, SigningKey.activates_at)
            ).all()
        return [
            KeyStatus(
                row.kid, row.alg, _state(row, now), row.published_at, row.activates_at, row.retired_at, row.expires_at
            )
            for row in rows
        ]


def compact_jws(claims: dict[str, Any], header: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A compact JWS (RFC 7515 §7.1) signed by ``sign`` (a token's key): PyJWT needs the private key itself.
    ``sign`` returns what JWS puts on the wire (ES256: raw r||s, RFC 7518 §3.4)."""
    segments = [
        _b64url(json.dumps(part, separators=(",", ":"), default=_json_default).encode()) for part in (header, claims)
    ]
    signing_input = ".".join(segments).encode("ascii")
    return f"{signing_input.decode()}.{_b64url(sign(signing_input))}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):  # as PyJWT does for exp/iat/nbf
        return int(value.timestamp())
    raise TypeError(f"{type(value).__name__} is not JSON")


def _state(row: SigningKey, now: datetime) -> str:
    """pending (published, not yet signing) | active | retired (verifying only) | expired (unpublished)."""
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        return "expired"
    if row.retired_at is not None and as_utc(row.retired_at) <= now:
        return "retired"
    return "pending" if as_utc(row.activates_at) > now else "active"
