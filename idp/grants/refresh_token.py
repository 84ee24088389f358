"""The ``refresh_token`` grant (RFC 6749 §6, OIDC Core §12): new tokens from a refresh token.

Refresh tokens rotate: each use returns a new one and retires the old. Presenting a retired one again
means two parties hold the family, so the whole grant is revoked (OAuth 2.0 Security BCP §4.14.2).
A narrower ``scope`` may be asked for; a wider one is ``invalid_scope`` (RFC 6749 §6). A revoked grant,
an expired family or a consent the citizen has since revoked or let expire is ``invalid_grant`` — the grant's
own consent (its purpose's rows), so a live consent the client holds for another purpose does not keep it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, contains_eager

from civid import audit
from idp import dpop, grant_lifecycle, tokens
from idp.claims_extensions import ClaimsExtensions
from idp.consent import consent_for_grant
from idp.errors import InvalidGrant, InvalidRequest, InvalidScope
from models import Client, Grant, LoginSession, RefreshToken, utcnow

if TYPE_CHECKING:
    from idp.runtime import IdpServices

GRANT_TYPE = "refresh_token"


# The statements of every refresh, built once (building one costs more than SQLite takes to run it).
_RETIRE = (
    update(RefreshToken)
    .where(RefreshToken.token_hash == bindparam("presented_hash"), RefreshToken.rotated_at.is_(None))
    .values(rotated_at=bindparam("retired_at"))
    .returning(RefreshToken.grant_id, RefreshToken.expires_at, RefreshToken.revoked_at, RefreshToken.dpop_jkt)
    .execution_options(synchronize_session=False)
)
# The grant, its person and its login session's sid in one statement.
_GRANT_WITH_SID = (
    select(Grant, LoginSession.sid)
    .join(Grant.identity)
    .options(contains_eager(Grant.identity))
    .outerjoin(LoginSession, LoginSession.id == Grant.login_session_id)
    .where(Grant.id == bindparam("grant_id"))
)


def rotate_refresh_token(
    db: Session, client: Client, form: Mapping[str, str], proof: dpop.Proof | None = None
) -> tuple[Grant, tokens.GrantFacts, str | None]:
    """Retire the presented refresh token and return its grant (with its person) and what issuing needs of it,
    after checking the client, rotation, revocation, expiry, the DPoP key the family is bound to (with it), consent
    and the person; ``invalid_grant`` otherwise.

    The token is retired first, by one conditional ``UPDATE … RETURNING``: of two concurrent uses only one
    changes the row, the other finds it rotated and is a reuse. Any refusal below rolls the retirement back
    with the request's transaction (the session is closed uncommitted)."""
    value = form.get("refresh_token")
    if not value:
        raise InvalidRequest("refresh_token is required")
    now = utcnow()
    retired = db.execute(_RETIRE, {"presented_hash": tokens.token_hash(value), "retired_at": now}).first()
    if retired is None:
        row = tokens.find_refresh_token(db, value)
        if row is None:
            raise InvalidGrant("unknown refresh token")
        if row.grant.client_id != client.client_id:
            raise InvalidGrant("the refresh token was issued to another client")  # RFC 6749 §6
        _revoke_on_reuse(db, client, row.grant)
    found = db.execute(_GRANT_WITH_SID, {"grant_id": retired.grant_id}).one()
    grant, sid = found[0], found[1]
    if grant.client_id != client.client_id:
        raise InvalidGrant("the refresh token was issued to another client")  # RFC 6749 §6
    if retired.revoked_at is not None or grant.revoked_at is not None:
        raise InvalidGrant("the refresh token has been revoked")
    if audit.as_utc(retired.expires_at) <= now or audit.as_utc(grant.expires_at) <= now:
        raise InvalidGrant("the refresh token has expired")
    dpop.check_key(retired.dpop_jkt, proof, "refresh token")  # RFC 9449 §5
    consent = consent_for_grant(db, grant)  # read once: the ID token's claims are released under it too
    if consent is None:
        raise InvalidGrant("the citizen's consent for this client has ended")
    if grant.identity.status != "active":
        raise InvalidGrant("the person's identity is not active")
    return grant, tokens.GrantFacts(sid, consent), retired.dpop_jkt


def validate_scope(grant: Grant, form: Mapping[str, str]) -> list[str]:
    """The scopes of the new tokens: the grant's, or the narrower set asked for (RFC 6749 §6)."""
    granted = grant.scope.split()
    if "scope" not in form:
        return granted
    asked = list(dict.fromkeys(form["scope"].split()))
    wider = set(asked) - set(granted)
    if wider:
        raise InvalidScope(f"scope exceeds what was granted: {' '.join(sorted(wider))}")
    if not asked:
        raise InvalidScope("scope must not be empty")
    return [scope for scope in granted if scope in asked]


def _revoke_on_reuse(db: Session, client: Client, grant: Grant) -> NoReturn:
    """A rotated refresh token presented again: revoke the family, keep that, then refuse."""
    db.rollback()
    again = db.get(Grant, grant.id)
    assert again is not None, "grants are revoked, never deleted"
    grant_lifecycle.revoke_grant(db, again, "refresh_token_reuse", tokens.client_actor(client.client_id))
    db.commit()
    raise InvalidGrant("the refresh token has already been used")


def create_token_response(
    db: Session,
    services: IdpServices,
    extensions: ClaimsExtensions,
    client: Client,
    form: Mapping[str, str],
    proof: dpop.Proof | None = None,
) -> dict:
    """Rotate the refresh token in ``form`` and return new tokens (audited)."""
    grant, facts, bound_to = rotate_refresh_token(db, client, form, proof)
    scopes = validate_scope(grant, form)
    issued = tokens.issue(
        db, services, extensions, client, grant, scopes, facts=facts, proof=proof, refresh_jkt=bound_to
    )
    audit.record(
        db,
        tokens.client_actor(client.client_id),
        "oidc.tokens_issued",
        "grant",
        grant.uid,
        client_id=client.client_id,
        grant_type=GRANT_TYPE,
        scope=issued.scope,
        refresh_token_issued=True,
        id_token_issued=issued.id_token is not None,
    )
    return issued.response()
