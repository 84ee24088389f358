"""The officer's passkey binding code: find the person at the desk by UIN, check it is them (name, date of
birth), issue a one-time code and show it once, for them to type at ``/passkeys/bind`` on their own device.

The same code the desk API issues (``idp.passkey_bindings.issue_code``: HMAC-stored, single use, audited as
``passkey.binding_issued`` with the officer's name). The code appears only in the answer to the POST that
issued it (never in a URL or a later page), and pages are served with ``Cache-Control: no-store``.
Who may issue a code for whom is ``passkey_bindings.authorise``'s rule: the page is open to admins too, since
a staff member's code is theirs to issue; a refusal is said on the page (already at the lookup) and audited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from civid import audit
from civid.errors import CividError
from civid.web import pages
from civid.web.csrf import check_csrf
from console.common.error_text import error_text
from console.signin.session import require_staff
from console.staff.accounts import Staff
from idp import claims, passkey_bindings, passkey_registry
from models import Identity

router = APIRouter(prefix="/console", include_in_schema=False)
CATALOGUE = "console.passkey_code"


def _summary(db: Session, identity: Identity) -> dict[str, Any]:
    values = claims.claim_values(db, identity)
    live = [row for row in passkey_registry.of(db, identity.id) if row.revoked_at is None]
    return {
        "uin": identity.uin,
        "name": values.get("name") or "",
        "birthdate": values.get("birthdate") or "",
        "passkeys": len(live),
    }


def _issuer(staff: Staff) -> passkey_bindings.Issuer:
    acting = "officer" if staff.has("officer") else "admin"
    return passkey_bindings.Issuer(staff.actor(acting), staff.roles, uin=staff.uin)


@router.get("/passkey-code")
def form(request: Request, staff: Staff = Depends(require_staff("officer", "admin"))) -> Response:
    """Step 1: the UIN of the person at the desk."""
    return pages.render(
        request, "console_passkey_code.html", staff=staff, section="passkey_code", step="find", uin="", error=None
    )


@router.post("/passkey-code")
def answer(
    request: Request,
    staff: Staff = Depends(require_staff("officer", "admin")),
    csrf_token: str = Form(""),
    uin: str = Form("", max_length=40),
    action: str = Form("find"),
) -> Response:
    """``find``: show who the UIN belongs to, to compare with the person and their document; ``issue``: the code."""
    check_csrf(request, csrf_token)
    services = request.app.state.services
    issuer = _issuer(staff)
    try:
        with services.sessions.begin() as db:
            identity = passkey_bindings.find_identity(db, uin, issuer)
            person = _summary(db, identity)
            if action != "issue":
                audit.record(db, issuer.actor, "passkey.binding_lookup", "identity", identity.uin)
                return pages.render(
                    request,
                    "console_passkey_code.html",
                    staff=staff,
                    section="passkey_code",
                    step="confirm",
                    uin=identity.uin,
                    person=person,
                    error=None,
                )
            code, row = passkey_bindings.issue_code(
                db, services.idp_secrets, services.settings.passkey_binding_ttl_s, identity, issuer
            )
            minutes = max(1, services.settings.passkey_binding_ttl_s // 60)
            return pages.render(
                request,
                "console_passkey_code.html",
                staff=staff,
                section="passkey_code",
                step="issued",
                uin=identity.uin,
                person=person,
                code=code,
                minutes=minutes,
                expires=pages.when(row.expires_at),
                error=None,
                bind_url=services.settings.resolved_issuer + "/passkeys/bind",
            )
    except CividError as exc:
        return pages.render(
            request,
            "console_passkey_code.html",
            status=exc.status,
            staff=staff,
            section="passkey_code",
            step="find",
            uin=uin,
            error=error_text(exc, CATALOGUE, pages.language(request)),
        )
