"""WebAuthn ceremonies with fido2's ``Fido2Server``: the relying party derived from the issuer, and the
server-side record of each challenge (single use, short-lived, bound to the browser that asked for it).

Nothing the browser sends back is trusted about what was asked: the verify step finds the ceremony by the
challenge inside the signed client data, and takes who, how and which binding code from the stored row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestedCredentialData,
    AuthenticationResponse,
    AuthenticatorData,
    CollectedClientData,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.errors import CividError
from civid.settings import Settings
from idp.server_secrets import ServerSecrets, sha256_hex
from models import Passkey, WebAuthnChallenge, utcnow

REGISTER, LOGIN = "register", "login"


class PasskeyRejected(CividError):
    """A WebAuthn ceremony failed: expired or spent challenge, wrong origin, bad signature, unknown key..."""

    status = 400
    type_slug = "passkey-rejected"
    title = "Passkey not accepted"
    message_catalogue = "passkey.error"  # every code it is raised with has its sentence there


def issuer_origin(issuer: str) -> str:
    """The web origin (scheme://host[:port]) of the issuer: the only origin a ceremony may come from."""
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}"


def relying_party(settings: Settings) -> Fido2Server:
    """civid as a WebAuthn relying party: RP id = the issuer's host, origin = the issuer's origin exactly."""
    issuer = settings.resolved_issuer
    origin = issuer_origin(issuer)
    rp = PublicKeyCredentialRpEntity(id=urlsplit(issuer).hostname or "localhost", name="civid")
    # Attestation "none": citizens bind their own phones and laptops, of any make; civid keeps no trust store
    # of authenticator vendors (FIDO MDS) to judge attestation statements against, so asking for them would
    # only collect device fingerprints. Identity is proven by the officer or the face check, not the device.
    server = Fido2Server(
        rp,
        attestation=AttestationConveyancePreference.NONE,
        # The exact origin, not fido2's default "any subdomain of the RP id": a page on another
        # host under the same domain must not run civid's ceremonies.
        verify_origin=lambda presented: presented == origin,
    )
    # fido2 (2.2) sets ``self.timeout = None`` unannotated, so mypy types the attribute as None; the options it
    # feeds take ``int | None`` milliseconds.
    server.timeout = settings.passkey_ceremony_ttl_s * 1000  # type: ignore[assignment]
    return server


def user_handle(secrets_: ServerSecrets, uin: str) -> bytes:
    """The WebAuthn user id of a citizen: an HMAC of the UIN (stable, opaque; never the UIN itself, which the
    authenticator would store and return to any page of this RP id)."""
    return websafe_decode(secrets_.mac("webauthn-user", uin))


@dataclass(frozen=True)
class Ceremony:
    """A stored ceremony taken for verification (its row is already marked used)."""

    row_id: int
    ceremony: str
    identity_id: int | None
    binding_id: int | None
    bound_via: str | None
    label: str | None
    interaction_uid: str | None
    state: dict[str, Any]


def _browser_hash(csrf_token: str) -> str:
    return sha256_hex("webauthn-browser|" + csrf_token)


def begin_registration(
    db: Session,
    settings: Settings,
    secrets_: ServerSecrets,
    csrf_token: str,
    *,
    identity_id: int,
    uin: str,
    display_name: str,
    existing: list[Passkey],
    bound_via: str,
    label: str,
    binding_id: int | None = None,
) -> dict[str, Any]:
    """Start binding a passkey to ``identity_id``: store the challenge, return the creation options (JSON)."""
    server = relying_party(settings)
    user = PublicKeyCredentialUserEntity(id=user_handle(secrets_, uin), name=display_name, display_name=display_name)
    options, state = server.register_begin(
        user,
        credentials=[AttestedCredentialData(row.credential_data) for row in existing],
        # Discoverable: the login asks for no username (nothing to type, nothing to enumerate).
        resident_key_requirement=ResidentKeyRequirement.REQUIRED,
        # The device's PIN or biometric, so a stolen phone alone is not a login (amr "user").
        user_verification=UserVerificationRequirement.REQUIRED,
        extensions={"credProps": True},
    )
    _store(
        db,
        settings,
        state,
        REGISTER,
        csrf_token,
        identity_id=identity_id,
        binding_id=binding_id,
        bound_via=bound_via,
        label=label,
    )
    return dict(options)


def begin_login(db: Session, settings: Settings, csrf_token: str, interaction_uid: str | None) -> dict[str, Any]:
    """Start a username-less login: an empty allow-list, so the authenticator offers its discoverable keys."""
    options, state = relying_party(settings).authenticate_begin(user_verification=UserVerificationRequirement.REQUIRED)
    _store(db, settings, state, LOGIN, csrf_token, interaction_uid=interaction_uid)
    return dict(options)


def _store(
    db: Session, settings: Settings, state: Mapping[str, Any], ceremony: str, csrf_token: str, **fields: Any
) -> None:
    now = utcnow()
    db.add(
        WebAuthnChallenge(
            challenge_hash=sha256_hex(state["challenge"]),
            ceremony=ceremony,
            browser_hash=_browser_hash(csrf_token),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.passkey_ceremony_ttl_s),
            **fields,
        )
    )
    db.flush()


def challenge_of(response: Mapping[str, Any]) -> str:
    """The challenge (base64url) inside a credential's client data; PasskeyRejected when unreadable."""
    try:
        client_data = CollectedClientData(websafe_decode(response["response"]["clientDataJSON"]))
        return websafe_encode(client_data.challenge)
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise PasskeyRejected("the passkey response is malformed", code="malformed") from exc


def take(db: Session, response: Mapping[str, Any], ceremony: str, csrf_token: str) -> Ceremony:
    """Find the ceremony a response answers and spend it (commit the caller's transaction even if the
    verification that follows fails: a challenge is good for one try). Unknown, spent, expired, or asked
    for by another browser: PasskeyRejected."""
    challenge = challenge_of(response)
    row = db.scalars(
        select(WebAuthnChallenge).where(WebAuthnChallenge.challenge_hash == sha256_hex(challenge)).with_for_update()
    ).first()
    if row is None or row.ceremony != ceremony or row.browser_hash != _browser_hash(csrf_token):
        raise PasskeyRejected("this passkey response does not answer a request from this browser", code="expired")
    if row.used_at is not None:
        raise PasskeyRejected("this passkey response was already used", code="expired")
    if audit.as_utc(row.expires_at) <= utcnow():
        raise PasskeyRejected("the passkey request has expired", code="expired")
    row.used_at = utcnow()
    return Ceremony(
        row.id,
        row.ceremony,
        row.identity_id,
        row.binding_id,
        row.bound_via,
        row.label,
        row.interaction_uid,
        {"challenge": challenge, "user_verification": UserVerificationRequirement.REQUIRED},
    )


def complete_registration(
    settings: Settings, ceremony: Ceremony, response: Mapping[str, Any]
) -> AttestedCredentialData:
    """Check a registration response (origin, challenge, RP id hash, UP and UV flags); the new credential."""
    try:
        registration = RegistrationResponse.from_dict(response)
        refuse_other_address(settings, registration.response.client_data)
        _refuse_cross_origin(registration.response.client_data)
        auth_data = relying_party(settings).register_complete(ceremony.state, registration)
    except (KeyError, TypeError, ValueError) as exc:
        raise PasskeyRejected(f"the passkey could not be registered: {exc}", code="register") from exc
    props = registration.client_extension_results.cred_props
    if isinstance(props, Mapping) and props.get("rk") is False:
        # A non-discoverable credential cannot be offered at a username-less login: refuse it now.
        raise PasskeyRejected("this authenticator did not store a discoverable passkey", code="not_discoverable")
    if auth_data.credential_data is None:  # no AT flag: nothing was created
        raise PasskeyRejected("the authenticator returned no credential", code="register")
    return auth_data.credential_data


def parse_assertion(response: Mapping[str, Any]) -> AuthenticationResponse:
    """Parse a login response; PasskeyRejected when malformed."""
    try:
        assertion = AuthenticationResponse.from_dict(response)
    except (KeyError, TypeError, ValueError) as exc:
        raise PasskeyRejected("the passkey response is malformed", code="malformed") from exc
    return assertion


def verify_assertion(
    settings: Settings, ceremony: Ceremony, passkey: Passkey, assertion: AuthenticationResponse
) -> AuthenticatorData:
    """Check a login response against the stored public key (origin, challenge, RP id hash, UP and UV flags,
    signature over authenticatorData || SHA-256(clientDataJSON)); the signed authenticator data."""
    _refuse_cross_origin(assertion.response.client_data)
    relying_party(settings).authenticate_complete(
        ceremony.state, [AttestedCredentialData(passkey.credential_data)], assertion
    )
    return assertion.response.authenticator_data


def refuse_other_address(settings: Settings, client_data: CollectedClientData) -> None:
    """Refuse, saying where passkeys work, a ceremony the browser ran on a page at another origin than the issuer's
    (WebAuthn §7.1 step 9): the person opened civid at another address (an IP, another name for the host)."""
    expected = issuer_origin(settings.resolved_issuer)
    if client_data.origin != expected:
        raise PasskeyRejected(
            f"this passkey request came from a page at {client_data.origin}, but passkeys work only at {expected}",
            code="wrong_domain",
        )


def _refuse_cross_origin(client_data: CollectedClientData) -> None:
    # WebAuthn L3 §7.1 step 9/§7.2 step 12: a ceremony run inside a frame of another site is not ours.
    if client_data.cross_origin:
        raise ValueError("cross-origin ceremony")


def counter_regressed(stored: int, presented: int) -> bool:
    """WebAuthn §6.1.1: a counter that does not grow (when either value is non-zero) means two copies of the
    private key exist: a cloned authenticator."""
    return (stored != 0 or presented != 0) and presented <= stored
