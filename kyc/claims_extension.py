"""kyc's extension of the OpenID provider's claims (``idp.claims_extensions``): OpenID Connect for Identity
Assurance's ``verified_claims`` member of the ``claims`` parameter and its ``purpose`` parameter.

Registered by ``kyc.app.install`` with the application's registry; idp never imports kyc. What it answers:
- at /authorize: the request element's shape (``kyc.verified_claims_request``) and ``purpose``
  (``kyc.purpose_parameter``); an element is kept only for clients holding the ``kyc`` entitlement;
- consent: ``verified_claims:<claim>`` and ``verified_claims:evidence`` names, the purposes stated, and the
  consent page's box of verified identity data;
- discovery: the OP metadata of OIDC4IDA -13 §9;
- release: the ``verified_claims`` value (``kyc.verified_claims``) in the ID token and at UserInfo, and the
  record of every release (``kyc.releases``);
- the citizen's account page: who received their data (``kyc.citizen_view``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from civid.settings import Settings
from enrollment.documents import CHECK_METHODS, DOCUMENT_TYPES
from idp.claims import entitled
from idp.claims_extensions import AccountSection, ConsentSection, MemberRequest, Release
from kyc import citizen_view, purpose_parameter
from kyc.releases import record_release
from kyc.verified_claims import (
    DEDUP_RECORD_TYPE,
    DOCUMENT_METHOD,
    EVIDENCE_SUPPORTED,
    released_claim_names,
    verified_claims_for,
)
from kyc.verified_claims_request import (
    CLAIMS_IN_VERIFIED_CLAIMS,
    CONSENT_PREFIX,
    EVIDENCE_CONSENT_NAME,
    KYC_ENTITLEMENT,
    consent_names,
    purposes,
    validate_request_element,
)
from models import Client, Identity

if TYPE_CHECKING:
    from idp.runtime import IdpServices

MEMBER = "verified_claims"
TEMPLATES = Path(__file__).parent / "templates"
# Verified claims in the order shown; then how they were verified (documents, with their numbers).
VERIFIED_ITEMS = (*(f"consent.verified.{name}" for name in CLAIMS_IN_VERIFIED_CLAIMS), "consent.verified.evidence")


def verified_items(names: frozenset[str]) -> list[str]:
    """The i18n keys of the verified-claims consent names asked for, in display order."""
    wanted = {name.removeprefix(CONSENT_PREFIX) for name in names if name.startswith(CONSENT_PREFIX)}
    if EVIDENCE_CONSENT_NAME in names:
        wanted.add("evidence")
    return [key for key in VERIFIED_ITEMS if key.rsplit(".", 1)[1] in wanted]


class VerifiedClaims:
    """OIDC4IDA ``verified_claims`` as an ``idp.claims_extensions.ClaimsExtension``."""

    member = MEMBER

    def metadata(self, settings: Settings) -> dict[str, Any]:
        """OIDC4IDA -13 §9 (OP metadata): what verified_claims civid can answer (only to kyc-entitled clients)."""
        return {
            "verified_claims_supported": True,
            "trust_frameworks_supported": [settings.kyc_trust_framework],
            "evidence_supported": list(EVIDENCE_SUPPORTED),
            "documents_supported": list(DOCUMENT_TYPES),
            "documents_methods_supported": [DOCUMENT_METHOD],
            "documents_check_methods_supported": list(CHECK_METHODS),
            "electronic_records_supported": [DEDUP_RECORD_TYPE],
            "claims_in_verified_claims_supported": list(CLAIMS_IN_VERIFIED_CLAIMS),
            # civid's own KYC attestation endpoint (no standard metadata names it; the "civid_" prefix says so).
            # Each attestation names its status list itself (status.status_list.uri).
            "civid_kyc_attestation_endpoint": settings.resolved_issuer + "/v1/kyc/attestations",
        }

    def validate_member(self, spec: Any, where: str) -> None:
        """OIDC4IDA -13 §5: an object or an array of request objects, of the known shape."""
        validate_request_element(spec, where)

    def authorization_parameters(self, raw: Mapping[str, str]) -> dict[str, Any]:
        """The ``purpose`` parameter (OIDC4IDA -13 §8)."""
        return purpose_parameter.check(raw)

    def requested(self, client: Client, userinfo: Any, id_token: Any) -> MemberRequest | None:
        """The elements, only for a client holding the ``kyc`` entitlement (anyone else's are dropped silently),
        with their consent names restricted to the claims the client is entitled to."""
        if KYC_ENTITLEMENT not in client.entitlements:
            return None
        available = {c for c in CLAIMS_IN_VERIFIED_CLAIMS if entitled(client, c)}
        return MemberRequest(
            userinfo, id_token, frozenset(consent_names(userinfo, available) | consent_names(id_token, available))
        )

    def purposes(self, params: Mapping[str, Any], asked: MemberRequest | None) -> list[str]:
        """The ``purpose`` parameter, then the purposes inside the verified_claims the client may receive."""
        found = [params["purpose"]] if params.get("purpose") else []
        if asked is not None:
            found += purposes(asked.userinfo) + purposes(asked.id_token)
        return found

    def owns_consent_name(self, name: str) -> bool:
        """``verified_claims:<claim>`` and ``verified_claims:evidence``."""
        return name.startswith(CONSENT_PREFIX)

    def consent_section(self, names: frozenset[str]) -> ConsentSection | None:
        """The box of verified identity data (and how it was verified) asked for."""
        items = verified_items(names)
        return (
            ConsentSection("verified", "consent.verified.title", "consent.verified.intro", tuple(items))
            if items
            else None
        )

    def release(
        self, db: Session, services: IdpServices, identity: Identity, client: Client, spec: Any, *, consented: set[str]
    ) -> Any | None:
        """The ``verified_claims`` answering ``spec`` (``kyc.verified_claims``), None to omit it."""
        return verified_claims_for(db, services, identity, client, spec, consented=consented)

    def released_claim_names(self, value: Any) -> list[str]:
        """``verified_claims:<claim>`` names (and ``verified_claims:evidence``) of what left."""
        return released_claim_names(value)

    def record_release(self, db: Session, release: Release) -> None:
        """Every release of person data, verified or not, is recorded (``kyc.releases``)."""
        record_release(
            db,
            release.identity_id,
            release.client_id,
            release.channel,
            release.claim_names,
            verified=MEMBER in release.values,
            consent=release.consent,
        )

    def account_section(self, db: Session, identity_id: int, lang: str) -> AccountSection | None:
        """Who received the citizen's data: releases and KYC attestations."""
        return AccountSection(
            "citizen_data.html",
            {
                "releases": citizen_view.release_rows(db, identity_id, lang),
                "attestations": citizen_view.attestation_rows(db, identity_id, lang),
            },
        )
