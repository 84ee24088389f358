"""``ui_locales`` (OIDC Core §3.1.2.1): the citizen's preferred languages as BCP 47 tags, in order; civid
speaks English and Spanish and falls back to the browser's language. Not an error when unsupported."""

from __future__ import annotations

import re

from idp.authorization.context import AuthorizationContext

TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


def check(ctx: AuthorizationContext) -> None:
    """Set ``params["ui_locales"]`` to the well-formed tags (at most 10)."""
    ctx.params["ui_locales"] = [tag for tag in ctx.words("ui_locales") if TAG.fullmatch(tag)][:10]
