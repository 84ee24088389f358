"""Pages that update themselves: a request made by the page refreshing itself (``?auto=1``) or polling is not the
officer's activity, so a desk left on such a page still signs out after ``console_idle_timeout_s``.

Used by a registration drive's page (a polled progress bar, a refreshing page without JavaScript) and by an
enrolment's outcome page while its deduplication is pending (it reloads itself until the worker decides).
"""

from __future__ import annotations

from fastapi import Depends, Request

from civid.errors import Forbidden, Unauthenticated
from civid.web import pages
from console.signin import session as console_session
from console.signin.session import SignInRequired, require_staff
from console.staff.accounts import Staff, as_staff


def is_automatic(request: Request) -> bool:
    """Whether the page is refreshing itself rather than being asked for by the officer."""
    return request.query_params.get("auto") == "1"


def quiet_officer(request: Request, json_answer: bool) -> Staff:
    """The signed-in officer, without counting this request as activity (automatic refreshes and polling)."""
    with request.app.state.services.sessions() as db:
        found = console_session.current(request, db, touch=False)
    if found is None:
        if json_answer:
            raise Unauthenticated("the console session has ended; sign in again")
        raise SignInRequired(request.url.path)
    staff = as_staff(found[1])
    if not staff.has("officer"):
        raise Forbidden(
            "this page needs the officer role",
            code="role_needed",
            params={"roles": ["officer"], "yours": list(staff.roles)},
        )
    return staff


def page_officer(request: Request, _: None = Depends(pages.html_page)) -> Staff:
    """A page dependency: the officer, counted as active unless the page is refreshing itself."""
    if is_automatic(request):
        return quiet_officer(request, json_answer=False)
    return require_staff("officer")(request)


def polling_officer(request: Request) -> Staff:
    """A polling endpoint's dependency: the officer, never counted as active, errors as problem+json."""
    request.state.html_errors = False
    return quiet_officer(request, json_answer=True)
