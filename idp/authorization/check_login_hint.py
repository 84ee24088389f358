"""``login_hint`` (OIDC Core §3.1.2.1): the citizen's UIN or Virtual ID, if the portal knows it. Prefills the
login form, and a session of another person does not satisfy the request. A hint that is not a well-formed UIN
or VID is ignored (it is a hint, not a demand); a well-formed one is prefilled whether or not it names anyone.

A VID hint stays a VID on the login form (the UIN behind it is never shown); the UIN it maps to is kept in
``login_hint_uin``, a server-side parameter the interaction policy compares with the session's person. Naming a
temporary VID here does not spend it: only the login that presents it does."""

from __future__ import annotations

from civid import vid
from civid.errors import InvalidUin
from civid.uin import normalise_uin
from idp.authorization.context import AuthorizationContext


def check(ctx: AuthorizationContext) -> None:
    """Set ``params["login_hint"]`` (normalised, or None) and, for a VID, ``params["login_hint_uin"]``."""
    hint = ctx.raw.get("login_hint")
    ctx.params["login_hint"] = None
    ctx.params.pop("login_hint_uin", None)
    if not hint:
        return
    try:
        shown = vid.normalise_vid(hint) if vid.looks_like_vid(hint) else normalise_uin(hint)
    except InvalidUin:
        return
    # Prefilled whatever it names (a UIN of nobody, a revoked VID): the form must not tell which numbers work.
    ctx.params["login_hint"] = shown
    try:
        presented = vid.resolve(ctx.db, ctx.services.settings, shown, spend=False)
    except vid.VidNotUsable:
        return
    if presented is None:
        return
    ctx.params["login_hint"] = presented.shown
    if presented.via_vid:
        ctx.params["login_hint_uin"] = presented.identity.uin
