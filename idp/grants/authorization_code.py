"""The ``authorization_code`` grant (RFC 6749 §4.1.3, OIDC Core §3.1.3): redeem a code for tokens.

A code is single-use and short-lived; a second redemption means it leaked, so the grant and every token
already issued from it are revoked (RFC 6749 §4.1.2, §10.5). PKCE S256 is checked for every client
(RFC 7636 §4.6) whose authorization request carried a challenge; a client an admin allowed nonce instead
of PKCE may redeem a code issued without one, but then never with a verifier (RFC 9700 §2.1.1: PKCE downgrade).
The redirect URI must be the one the code was issued for, character for character.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civid import audit
from idp import clients, dpop, grant_lifecycle, tokens
from idp.claims_extensions import ClaimsExtensions
from idp.errors import InvalidGrant, InvalidRequest
from idp.grants import refresh_token as refresh_token_grant
from models import AuthorizationCode, Client, Grant, utcnow
from models.db import affected_rows

if TYPE_CHECKING:
    from idp.runtime import IdpServices

GRANT_TYPE = "authorization_code"
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 §4.1


@dataclass(frozen=True)
class CodeRequest:
    """The validated parameters of a code redemption."""

    code: str
    redirect_uri: str
    code_verifier: str | None


def validate_request(form: Mapping[str, str]) -> CodeRequest:
    """Check the presence and shape of ``code``, ``redirect_uri`` and (when given) ``code_verifier``."""
    for name in ("code", "redirect_uri"):
        # redirect_uri: RFC 6749 §4.1.3 (it was in the authorization request: OIDC requires it there).
        if not form.get(name):
            raise InvalidRequest(f"{name} is required")
    verifier = form.get("code_verifier") or None
    if verifier is not None and not VERIFIER.match(verifier):
        raise InvalidRequest("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")  # RFC 7636 §4.1
    return CodeRequest(form["code"], form["redirect_uri"], verifier)


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))) without padding (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def validate_code(db: Session, client: Client, request: CodeRequest) -> AuthorizationCode:
    """Find the code and check it against the client, redirect URI and verifier.

    A code already used revokes its grant (committed before ``invalid_grant`` is raised)."""
    row = db.scalars(
        select(AuthorizationCode).where(AuthorizationCode.code_hash == tokens.token_hash(request.code))
    ).first()
    if row is None:
        raise InvalidGrant("unknown authorization code")
    if row.client_id != client.client_id:
        raise InvalidGrant("the code was issued to another client")  # RFC 6749 §4.1.3
    if row.used_at is not None:
        _revoke_on_reuse(db, client, row.grant)
    if audit.as_utc(row.expires_at) <= utcnow():
        raise InvalidGrant("the authorization code has expired")
    if row.redirect_uri != request.redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request")  # RFC 6749 §4.1.3
    _check_pkce(client, row, request.code_verifier)
    grant = row.grant
    if grant.revoked_at is not None or audit.as_utc(grant.expires_at) <= utcnow():
        raise InvalidGrant("the grant has been revoked")
    if grant.identity.status != "active":
        raise InvalidGrant("the person's identity is not active")
    return row


def _check_pkce(client: Client, row: AuthorizationCode, verifier: str | None) -> None:
    """RFC 7636 §4.6 when the request carried a challenge; RFC 9700 §2.1.1 (no downgrade) when it did not."""
    if row.code_challenge is None:
        if verifier is not None:
            raise InvalidGrant("code_verifier given, but the authorization request had no code_challenge")
        if client.require_pkce:
            raise InvalidGrant("this client must use PKCE")  # the setting changed since the code was issued
        return
    if verifier is None:
        # PKCE was used for this code, so the redemption must prove it (whatever the client's setting).
        raise InvalidRequest("code_verifier is required")
    if not hmac.compare_digest(s256(verifier), row.code_challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")  # RFC 7636 §4.6


def consume(db: Session, client: Client, code: AuthorizationCode) -> None:
    """Mark the code used with a conditional update: of two concurrent redemptions only one changes the
    row; the other is a reuse."""
    consumed = affected_rows(
        db,
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=utcnow()),
    )
    if consumed != 1:
        _revoke_on_reuse(db, client, code.grant)


def _revoke_on_reuse(db: Session, client: Client, grant: Grant) -> None:
    """RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it; keep that, then refuse."""
    db.rollback()  # nothing of this request is kept but the revocation
    again = db.get(Grant, grant.id)
    assert again is not None, "grants are revoked, never deleted"
    grant_lifecycle.revoke_grant(db, again, "code_reuse", tokens.client_actor(client.client_id))
    db.commit()
    raise InvalidGrant("the authorization code has already been used")


def create_token_response(
    db: Session,
    services: IdpServices,
    extensions: ClaimsExtensions,
    client: Client,
    form: Mapping[str, str],
    proof: dpop.Proof | None = None,
) -> dict:
    """Redeem the code in ``form``; return the token response body (tokens issued and audited)."""
    request = validate_request(form)
    code = validate_code(db, client, request)
    dpop.check_key(code.dpop_jkt, proof, "authorization code")  # RFC 9449 §10
    grant = code.grant
    # A client registered without the refresh_token grant gets no refresh token (RFC 7591 §2 grant_types).
    issued = tokens.issue(
        db,
        services,
        extensions,
        client,
        grant,
        grant.scope.split(),
        nonce=code.nonce,
        with_refresh=clients.may_use(client, refresh_token_grant.GRANT_TYPE),
        proof=proof,
    )
    consume(db, client, code)  # in the same transaction as the tokens: both happen or neither
    audit.record(
        db,
        tokens.client_actor(client.client_id),
        "oidc.tokens_issued",
        "grant",
        grant.uid,
        client_id=client.client_id,
        grant_type=GRANT_TYPE,
        scope=issued.scope,
        refresh_token_issued=issued.refresh_token is not None,
        id_token_issued=issued.id_token is not None,
        token_type=issued.token_type,
    )
    return issued.response()
