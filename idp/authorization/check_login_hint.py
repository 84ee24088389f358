"""``login_hint`` (OIDC Core §3.1.2.1): the citizen's UIN or Virtual ID, if the portal knows it. Prefills the
login form, and a session of another person does not satisfy the request. A hint that is not a well-formed UIN
or a live VID is ignored (it is a hint, not a demand).

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
        presented = vid.resolve(ctx.db, ctx.services.settings, hint, spend=False)
    except (InvalidUin, vid.VidNotUsable):
        return
    if presented is None:  # a well-formed UIN of nobody: still prefilled, as before (reveals nothing)
        ctx.params["login_hint"] = normalise_uin(hint)
        return
    ctx.params["login_hint"] = presented.shown
    if presented.via_vid:
        ctx.params["login_hint_uin"] = presented.identity.uin
