"""``prompt`` (OIDC Core §3.1.2.1): ``none`` (no page may be shown: answer at once or fail with
login_required / consent_required / interaction_required), ``login`` (authenticate again), ``consent``
(ask again), ``select_account`` (civid keeps one person per browser, so it means: log in, possibly as
someone else). ``none`` with any other value is an error."""

from __future__ import annotations

from idp.authorization.context import AuthorizationContext
from idp.errors import InvalidRequest

PROMPTS = ("none", "login", "consent", "select_account")


def check(ctx: AuthorizationContext) -> None:
    """Set ``params["prompt"]`` (a list) after checking the values."""
    prompt = ctx.words("prompt")
    unknown = [p for p in prompt if p not in PROMPTS]
    if unknown:
        raise InvalidRequest(f"unsupported prompt value: {' '.join(unknown)}")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")  # OIDC Core §3.1.2.1
    ctx.params["prompt"] = prompt
