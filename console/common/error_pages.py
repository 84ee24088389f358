"""The console's own error pages: what went wrong in the staff member's language, and the way back into the
console (never the citizen's "return to the service you came from", never a raw JSON 404).

Errors raised on console pages carry a stable ``code`` where staff can meet them (``console.error.<code>``);
for any other the page gives a plain sentence for its HTTP status and shows the English detail as a detail.
Paths outside ``/console`` (and the root page) keep the citizen's page or problem+json (the API under /v1).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from civid.errors import CividError, NotFound
from civid.web import i18n, pages
from console.common.error_text import coded_text

PREFIX = "/console"
Renderer = Callable[[Request, CividError], HTMLResponse]
# Codes after which the way on is a new sign-in rather than the console's home.
SIGN_IN_AGAIN = frozenset(
    {
        "sign_in_expired",
        "sign_in_foreign",
        "sign_in_incomplete",
        "sign_in_refused",
        "no_staff_account",
        "passkey_required",
    }
)


def is_console_page(request: Request) -> bool:
    """Whether the request is for a console page (or the root page), which answers errors with HTML."""
    path = request.url.path
    return path == "/" or path == PREFIX or path.startswith(PREFIX + "/")


def _message(exc: CividError, lang: str) -> tuple[str, str | None]:
    """The sentence for ``exc`` in ``lang``, and the English detail when no coded sentence exists."""
    params = dict(exc.params)
    if "roles" in params:  # role names as staff know them, in their language
        params["roles"] = f" {i18n.translate('console.error.or', lang)} ".join(
            i18n.translate(f"roles.{role}", lang) for role in params["roles"]
        )
    if "yours" in params:
        params["yours"] = ", ".join(i18n.translate(f"role.{role}", lang) for role in params["yours"])
    generic = i18n.translate(f"console.error.status.{exc.status}", lang)
    if generic.startswith("console.error."):
        generic = i18n.translate("console.error.status.other", lang)
    text = coded_text("console.error", exc.code, params, lang, fallback="")
    return (text, None) if text else (generic, exc.detail)


def shown_code(exc: CividError) -> str:
    """The error code the page shows (staff quote it): the one the raise site gave, finer than the problem type,
    else the problem type. A class's own code names its sentence in a citizen page's catalogue, not a failure
    staff could look up: a CSRF refusal shows ``forbidden``, a lockout ``login-locked``."""
    given = exc.code if exc.code != type(exc).code else None
    return given or exc.type_slug


def render(request: Request, exc: CividError) -> HTMLResponse:
    """The console's error page for ``exc`` (its status, headers such as Retry-After kept)."""
    lang = pages.language(request)
    message, detail = _message(exc, lang)
    response = pages.render(
        request,
        "console_error.html",
        status=exc.status,
        staff=getattr(request.state, "staff", None),
        message=message,
        detail=detail,
        code=shown_code(exc),
        sign_in_again=exc.code in SIGN_IN_AGAIN,
    )
    if exc.extra.get("retry_after"):
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


def wrapping(citizens_page: Renderer | None) -> Renderer:
    """The HTML error renderer of the whole app: console pages get the console's, other pages the citizen's."""

    def renderer(request: Request, exc: CividError) -> HTMLResponse:
        if is_console_page(request) or citizens_page is None:
            return render(request, exc)
        return citizens_page(request, exc)

    return renderer


def http_error_page(request: Request, exc: StarletteHTTPException) -> HTMLResponse | None:
    """An unknown console address (404) or method (405) as a console page; None elsewhere (problem+json)."""
    if not is_console_page(request):
        return None
    if exc.status_code == 404:
        error: CividError = NotFound("there is no page at this address", code="page_not_found")
    else:
        error = CividError(str(exc.detail))
        error.status = exc.status_code
    return render(request, error)  # civid.problems adds the exception's headers (Allow on a 405)
