"""The account page's section where the resident locks, unlocks, or unlocks for a while each authentication
method (``civid.auth_method_locks``): face login, passkey login, an officer's biometric verification.

Same rules as the rest of the page (idp.account): a login session, the CSRF token on every POST, a redirect back
(post/redirect/get), audited with the citizen as the actor.

Decision: the last login method cannot be locked. A resident needs a login to reach this page, so locking face
login while passkey login is locked (or they hold no active passkey) is refused with a message; an officer at a
desk can still verify them (unless they locked that too) and bind a new passkey.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from civid import auth_method_locks
from civid.deps import get_services
from civid.errors import Conflict, InvalidInput
from civid.web import pages
from civid.web.csrf import check_csrf
from idp import passkey_registry, sessions
from idp.runtime import IdpServices

router = APIRouter(dependencies=[Depends(pages.html_page)])
ServicesDep = Annotated[IdpServices, Depends(get_services)]
NOTICES = ("method_locked", "method_unlocked", "method_unlocked_for")


class LastLoginMethod(Conflict):
    """Locking this method would leave the resident no way to sign in."""

    code = "last_login_method"
    message_catalogue = "error"


def rows(db: Session, identity_id: int) -> list[dict[str, object]]:
    """Each method's state for the page."""
    return [
        {
            "method": item.method,
            "locked": item.locked,
            "unlocked_until": pages.when(item.unlocked_until) if item.unlocked_until else None,
        }
        for item in auth_method_locks.states(db, identity_id)
    ]


def _usable_logins(db: Session, identity_id: int) -> set[str]:
    """The login methods that could sign the resident in now (passkey login only with an active passkey)."""
    usable = {
        method for method in auth_method_locks.LOGIN_METHODS if auth_method_locks.is_allowed(db, identity_id, method)
    }
    if not any(row.revoked_at is None for row in passkey_registry.of(db, identity_id)):
        usable.discard(auth_method_locks.PASSKEY)
    return usable


@router.post("/account/methods/{method}")
def change_method(
    request: Request,
    method: str,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    duration_s: Annotated[int | None, Form()] = None,
) -> Response:
    """Lock, unlock, or unlock for ``duration_s`` (one of ``auth_method_unlock_durations_s``) one method."""
    check_csrf(request, csrf_token)
    if method not in auth_method_locks.METHODS:
        raise InvalidInput(f"unknown authentication method {method!r}")
    with services.sessions.begin() as db:
        found = sessions.signed_in(request, db)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        identity = found[1]
        actor = sessions.citizen(identity)
        if action == "lock":
            if method in auth_method_locks.LOGIN_METHODS and _usable_logins(db, identity.id) <= {method}:
                raise LastLoginMethod(f"locking {method} would leave you no way to sign in")
            auth_method_locks.lock(db, identity, method, actor)
            done = "method_locked"
        elif action == "unlock":
            auth_method_locks.unlock(db, identity, method, actor)
            done = "method_unlocked"
        elif action == "unlock_for":
            if duration_s not in services.settings.auth_method_unlock_durations_s:
                raise InvalidInput("choose one of the offered durations")
            auth_method_locks.unlock_for(db, identity, method, actor, timedelta(seconds=duration_s))
            done = "method_unlocked_for"
        else:
            raise InvalidInput("action must be lock, unlock or unlock_for")
    return RedirectResponse(f"/account?done={done}", status_code=303)
