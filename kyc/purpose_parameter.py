"""``purpose`` (OIDC4IDA -13 §8, transaction-specific purpose): why the portal asks for the citizen's data,
shown on the consent page (escaped, never trimmed) and stored with the consent. 3 to 300 characters, else
``invalid_request``. Checked at /authorize and /par as an authorization parameter of kyc's claims extension
(``kyc.claims_extension``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idp.errors import InvalidRequest
from kyc.verified_claims_request import PURPOSE_MAX, PURPOSE_MIN


def check(raw: Mapping[str, str]) -> dict[str, Any]:
    """``{"purpose": ...}`` when the request states one (else nothing)."""
    purpose = raw.get("purpose")
    if purpose is None:
        return {}
    if not PURPOSE_MIN <= len(purpose) <= PURPOSE_MAX:
        raise InvalidRequest(f"purpose must be {PURPOSE_MIN} to {PURPOSE_MAX} characters")  # OIDC4IDA -13 §8
    return {"purpose": purpose}
