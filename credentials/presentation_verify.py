"""Verifying a wallet's ``vp_token`` (OpenID4VP 1.0 §8.1, §8.6; SD-JWT VC) against the transaction it answers.

The ``vp_token`` is a JSON object keyed by the DCQL credential query ids, each an array of one presentation
(``multiple`` is never true in civid's queries). Every presentation must be one of civid's own credentials
(``credentials.sd_jwt_verify``: issuer signature by a credential key, Disclosures, Key Binding JWT with this
transaction's ``nonce`` and civid's client identifier as ``aud``), of a ``vct`` the query asked for, whose status
slot (``credentials.status``, looked up locally: civid keeps the list) is neither revoked nor expired, and whose
disclosed claims answer the query's claims (``credentials.dcql``). The first failure rejects the whole response;
whether it also ends the transaction, ``Rejected.bound`` says (``credentials.wallet_endpoints``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from credentials import dcql, sd_jwt_verify
from credentials.runtime import CredentialServices
from credentials.sd_jwt_verify import Rejected
from credentials.status import list_uri, state
from kyc.holder_binding import thumbprint
from models import CredentialStatus, PresentationTransaction, utcnow

# The credential's envelope: reported apart (issuer, vct, validity, status) or never shown (the holder key).
ENVELOPE = ("iss", "iat", "exp", "nbf", "vct", "vct#integrity", "cnf", "status", "sub")
MAX_VP_TOKEN_BYTES = 48 * 1024


@dataclass(frozen=True)
class Verified:
    """A verified response: per credential query id, what the relying party reads; and the credentials' slots."""

    credentials: dict[str, dict[str, Any]]
    status_ids: list[int]


def _presentations(vp_token: str, query: dict[str, Any]) -> dict[str, str]:
    if len(vp_token) > MAX_VP_TOKEN_BYTES:
        raise Rejected("malformed", "the vp_token is too large")
    try:
        parsed = json.loads(vp_token)
    except (ValueError, RecursionError) as exc:
        raise Rejected("malformed", "the vp_token is not a JSON object") from exc
    if not isinstance(parsed, dict) or not parsed:
        raise Rejected("malformed", "the vp_token must be a non-empty JSON object keyed by credential query id")
    queries = {credential["id"] for credential in query["credentials"]}
    found: dict[str, str] = {}
    for key, value in parsed.items():
        if key not in queries:
            raise Rejected("malformed", "the vp_token answers a credential query that was not asked")
        if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], str):
            raise Rejected("malformed", "each vp_token entry must be an array of one SD-JWT presentation")
        found[key] = value[0]
    missing = dcql.required_ids(query, set(found))
    if missing:
        raise Rejected("query_not_satisfied", missing)
    return found


def _status_row(db: Session, issuer: str, claim: Any) -> CredentialStatus:
    """The credential's status slot, by its ``status.status_list`` reference to one of civid's lists."""
    reference = claim.get("status_list") if isinstance(claim, dict) else None
    index = reference.get("idx") if isinstance(reference, dict) else None
    uri = reference.get("uri") if isinstance(reference, dict) else None
    prefix = list_uri(issuer, 0)[:-1]
    number = uri.removeprefix(prefix) if isinstance(uri, str) and uri.startswith(prefix) else ""
    if type(index) is not int or not number.isdigit():
        raise Rejected("unknown_status", "the credential has no status list entry of civid's")
    row = db.scalars(
        select(CredentialStatus).where(
            CredentialStatus.list_number == int(number),
            CredentialStatus.list_index == index,
            CredentialStatus.kind == "wallet",
        )
    ).first()
    if row is None:
        raise Rejected("unknown_status", "the credential's status list entry is not one civid allocated")
    return row


def _one(
    db: Session,
    services: CredentialServices,
    txn: PresentationTransaction,
    credential_query: dict[str, Any],
    presentation: str,
    now: int,
) -> tuple[dict[str, Any], int]:
    settings = services.settings
    issuer = settings.resolved_issuer
    parts = sd_jwt_verify.split(presentation)
    payload = sd_jwt_verify.verify_issuer_jwt(parts.issuer_jwt, services.credential_keys, issuer)
    disclosed = sd_jwt_verify.disclose(payload, parts.disclosures)
    sd_jwt_verify.verify_key_binding(
        parts,
        payload.get("cnf"),
        audience=settings.resolved_presentation_client_id,
        nonce=txn.nonce,
        now=now,
        max_age_s=settings.presentation_kb_max_age_s,
    )
    # From here on the answer is the holder's own, made for this transaction: what is wrong with it decides it.
    try:
        return _holders_answer(db, issuer, credential_query, payload, disclosed, now)
    except Rejected as exc:
        raise Rejected(exc.code, exc.detail, bound=True) from exc


def _holders_answer(
    db: Session,
    issuer: str,
    credential_query: dict[str, Any],
    payload: dict[str, Any],
    disclosed: dict[str, Any],
    now: int,
) -> tuple[dict[str, Any], int]:
    """What the relying party reads of a key-bound presentation, once its dates, type, status and claims hold."""
    sd_jwt_verify.check_times(payload, now)
    if payload.get("vct") not in credential_query["meta"]["vct_values"]:
        raise Rejected("wrong_type", "the credential's vct is not one the query asked for")
    row = _status_row(db, issuer, payload.get("status"))
    slot_state = state(row)
    if slot_state != "valid":
        # Only the state: why a credential was revoked (an officer's note, "stolen") stays in civid's audit trail.
        raise Rejected(slot_state, f"the credential is {slot_state}")
    person = {name: value for name, value in disclosed.items() if name not in ENVELOPE}
    try:
        claims = dcql.answered_claims(credential_query, person)
    except LookupError as exc:
        raise Rejected("claims_not_disclosed", str(exc)) from exc
    answer = {
        "issuer": payload["iss"],
        "vct": payload["vct"],
        "claims": claims,
        "issued_at": payload["iat"],
        "expires_at": payload["exp"],
        "status": slot_state,
        "holder_key_thumbprint": _thumbprint(payload["cnf"]["jwk"]),
    }
    return answer, row.id


def _thumbprint(jwk: dict[str, Any]) -> str | None:
    try:
        return thumbprint(jwk)
    except (KeyError, TypeError):  # a key type RFC 7638's members are not listed for here (OKP)
        return None


def verify(db: Session, services: CredentialServices, txn: PresentationTransaction, vp_token: str) -> Verified:
    """The verified answer to ``txn``, or ``Rejected``."""
    now = int(utcnow().timestamp())
    if audit.as_utc(txn.expires_at).timestamp() <= now:
        raise Rejected("expired_request", "the presentation request has expired")
    query = txn.dcql_query
    by_id = {credential["id"]: credential for credential in query["credentials"]}
    credentials: dict[str, dict[str, Any]] = {}
    status_ids: list[int] = []
    for query_id, presentation in _presentations(vp_token, query).items():
        credentials[query_id], status_id = _one(db, services, txn, by_id[query_id], presentation, now)
        status_ids.append(status_id)
    return Verified(credentials, status_ids)
