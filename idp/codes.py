"""Issuing authorization codes (RFC 6749 §4.1.2): one per interaction, stored only as a hash.

A code starts a *grant*: what this citizen authorised this client to get at this login, and for which stated
purpose (``Grant.purpose``: its tokens release only what was consented for it, ``idp.consent``). The token
endpoint (``idp.grants.authorization_code``) redeems the code once and hangs every token on the grant.
The interaction is consumed atomically first, so a replayed resume URL or a second tab never yields a
second code for one authorization request.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from civid import audit
from idp import interaction_policy, interactions
from idp.claims_extensions import ClaimsExtensions
from idp.server_secrets import sha256_hex
from idp.sessions import citizen
from models import AuthorizationCode, AuthorizationRequest, Client, Grant, Identity, LoginSession, utcnow

if TYPE_CHECKING:
    from idp.runtime import IdpServices


def issue(
    db: Session,
    services: IdpServices,
    extensions: ClaimsExtensions,
    interaction: AuthorizationRequest,
    client: Client,
    session: LoginSession,
) -> str:
    """Consume ``interaction`` and return a fresh code for it (``InteractionGone`` if already consumed)."""
    if not interactions.consume(db, interaction):
        raise interactions.InteractionGone("this sign-in request was already completed")
    params = interaction.params
    identity = db.get(Identity, session.identity_id)
    assert identity is not None
    now = utcnow()
    settings = services.settings
    grant = Grant(
        uid=secrets.token_urlsafe(16),
        client_id=client.client_id,
        identity_id=identity.id,
        login_session_id=session.id,
        scope=" ".join(params["scope"]),
        claims=params.get("claims"),
        purpose=interaction_policy.purpose_text(client, params, extensions),
        auth_time=session.auth_time,
        acr=session.acr,
        amr=list(session.amr),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.refresh_token_ttl_s),
    )
    db.add(grant)
    db.flush()
    code = secrets.token_urlsafe(32)  # 256 bits: stored as a plain SHA-256 (idp.server_secrets)
    db.add(
        AuthorizationCode(
            code_hash=sha256_hex(code),
            grant_id=grant.id,
            client_id=client.client_id,
            redirect_uri=params["redirect_uri"],
            code_challenge=params["code_challenge"],
            nonce=params.get("nonce"),
            dpop_jkt=params.get("dpop_jkt"),  # RFC 9449 §10 (absent in requests stored before DPoP)
            created_at=now,
            expires_at=now + timedelta(seconds=settings.code_ttl_s),
        )
    )
    audit.record(
        db,
        citizen(identity),
        "oidc.code_issued",
        "identity",
        identity.uin,
        client_id=client.client_id,
        grant=grant.uid,
        scope=grant.scope,
        purpose=grant.purpose,
        acr=grant.acr,
        amr=grant.amr,
        sid=session.sid,
        interaction=interaction.uid,
    )
    db.flush()
    return code
