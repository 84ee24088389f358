"""``purpose`` (OIDC4IDA -13 §8, transaction-specific purpose): why the portal asks for the citizen's data,
shown on the consent page (escaped, never trimmed) and stored with the consent. 3 to 300 characters, else
``invalid_request``."""

from __future__ import annotations

from idp.authorization.context import AuthorizationContext
from idp.errors import InvalidRequest
from kyc.verified_claims_request import PURPOSE_MAX, PURPOSE_MIN


def check(ctx: AuthorizationContext) -> None:
    """Set ``params["purpose"]`` when the request states one."""
    purpose = ctx.raw.get("purpose")
    if purpose is None:
        return
    if not PURPOSE_MIN <= len(purpose) <= PURPOSE_MAX:
        raise InvalidRequest(f"purpose must be {PURPOSE_MIN} to {PURPOSE_MAX} characters")  # OIDC4IDA -13 §8
    ctx.params["purpose"] = purpose
