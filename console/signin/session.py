"""The console's own session: which staff member this browser is, and the role checks on every page.

Server-side (``ConsoleSession``): the browser holds a random token in an HttpOnly, SameSite=Strict cookie;
a session ends at sign-out, after ``console_idle_timeout_s`` without a request (an unattended desk), after
``console_session_max_s``, or when an admin disables the account — checked on every request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote

from fastapi import Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.errors import Forbidden
from civid.web import pages
from console.staff.accounts import Staff, as_staff
from idp.server_secrets import sha256_hex
from models import ConsoleSession, StaffAccount, utcnow


class SignInRequired(Exception):
    """No live console session: the page answers with a redirect to the console's sign-in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def cookie_name(request: Request) -> str:
    secure = request.app.state.services.settings.resolved_cookie_secure
    return ("__Host-" if secure else "") + "civid_console"


def start(request: Request, response: Response, db: Session, account: StaffAccount, acr: str) -> ConsoleSession:
    """Open a console session for ``account`` and set its cookie on ``response``."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = ConsoleSession(token_hash=sha256_hex(token), account_id=account.id, acr=acr, created_at=now, last_seen_at=now)
    db.add(row)
    db.flush()
    settings = request.app.state.services.settings
    response.set_cookie(
        cookie_name(request),
        token,
        max_age=settings.console_session_max_s,
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.resolved_cookie_secure,
    )
    return row


def current(
    request: Request,
    db: Session,
    touch: bool = True,
    commit: bool = True,
) -> tuple[ConsoleSession, StaffAccount] | None:
    """The live session of this browser and its account, or None; ``touch`` counts this request as activity.
    ``commit=False`` leaves the commit to the caller's transaction (``sessions.begin()``)."""
    token = request.cookies.get(cookie_name(request))
    if not token:
        return None
    row = db.scalars(select(ConsoleSession).where(ConsoleSession.token_hash == sha256_hex(token))).first()
    if row is None or row.ended_at is not None:
        return None
    settings = request.app.state.services.settings
    now = utcnow()
    idle = now - audit.as_utc(row.last_seen_at) > timedelta(seconds=settings.console_idle_timeout_s)
    too_old = now - audit.as_utc(row.created_at) > timedelta(seconds=settings.console_session_max_s)
    account = db.get(StaffAccount, row.account_id)
    if idle or too_old or account is None or account.disabled_at is not None:
        row.ended_at = now
        if commit:
            db.commit()
        return None
    if touch:
        row.last_seen_at = now
        if commit:
            db.commit()
    return row, account


def end(request: Request, response: Response, db: Session) -> StaffAccount | None:
    """Sign out: end the session and clear the cookie; return whose session it was."""
    found = current(request, db, touch=False, commit=False)  # in the sign-out's transaction
    settings = request.app.state.services.settings
    response.delete_cookie(
        cookie_name(request), path="/", secure=settings.resolved_cookie_secure, httponly=True, samesite="strict"
    )
    if found is None:
        return None
    row, account = found
    row.ended_at = utcnow()
    return account


def require_staff(*roles: str) -> Callable[..., Staff]:
    """A page dependency: the signed-in staff member holding one of ``roles`` (any role if none given).
    Not signed in → redirect to sign-in; signed in without the role → 403 page."""

    def dependency(request: Request, _: None = Depends(pages.html_page)) -> Staff:
        services = request.app.state.services
        with services.sessions() as db:
            found = current(request, db)
            if found is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise SignInRequired(target)
            staff = as_staff(found[1])
        request.state.staff = staff  # the error page, too, shows the console's navigation
        if roles and not staff.has(*roles):
            raise Forbidden(
                f"this page needs the {' or '.join(roles)} role",
                code="role_needed",
                params={"roles": list(roles), "yours": list(staff.roles)},
            )
        return staff

    return dependency


def sign_in_redirect(request: Request, exc: SignInRequired) -> Response:
    """The handler for ``SignInRequired``: to the console's sign-in, remembering where to come back."""
    from fastapi.responses import RedirectResponse

    return RedirectResponse(f"/console/login?next={quote(exc.next_path, safe='')}", status_code=303)
