"""The account page's "Your children": a guardian acting online for each child linked to them at the desk
(``enrollment.guardianship``), until the child comes of age — the child's authentication history and the
download of the child's data, the same pages a resident has for themselves (``idp.account_history``,
``idp.my_data``).

Needs the guardian's login session, like /account (a download a recent one, like the resident's own). Every use
is audited with the guardian as the actor and the child as the subject. A child not linked to the signed-in
guardian is answered as if it did not exist (404); a child who has reached the age of majority, or whose
identity is no longer active, is refused with the reason (403): from then on they act for themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from civid import audit
from civid.deps import get_services
from civid.errors import Forbidden, NotFound
from civid.input_types import RowId
from civid.settings_groups import AgePolicy
from civid.web import pages
from enrollment.guardianship import children_of, is_minor, majority_on
from enrollment.record import issuing_enrolment
from idp import sessions
from idp.account_history import LOGIN_PAGE, SourcesDep, render_history
from idp.my_data import download
from idp.runtime import IdpServices
from idp.sessions import signed_in
from models import Identity

router = APIRouter(dependencies=[Depends(pages.html_page)])
ServicesDep = Annotated[IdpServices, Depends(get_services)]


class ChildOfAge(Forbidden):
    """The child has reached the age of majority: their guardian no longer acts for them."""

    code = "child_of_age"
    type_slug = "child-of-age"
    title = "Of age"
    message_catalogue = "error"


class ChildNotActive(Forbidden):
    """The child's identity is suspended, deactivated or withdrawn: nobody acts for it online."""

    code = "child_not_active"
    type_slug = "child-not-active"
    title = "Identity not active"
    message_catalogue = "error"


def _name(db: Session, child: Identity) -> str:
    record = issuing_enrolment(db, child.id)
    return f"{record.given_name} {record.family_name}" if record else ""


def masked_uin(uin: str) -> str:
    """A UIN as a list shows it: its last four digits only."""
    return "•••• " + uin[-4:]


def rows(db: Session, guardian: Identity, ages: AgePolicy) -> list[dict[str, object]]:
    """The guardian's children still under the age of majority, with active identities, for the account page."""
    shown = []
    for _, child in children_of(db, guardian.id):
        record = issuing_enrolment(db, child.id)
        if record is None or child.status != "active" or not is_minor(record.date_of_birth, ages):
            continue
        shown.append(
            {
                "id": child.id,
                "name": f"{record.given_name} {record.family_name}",
                "uin": masked_uin(child.uin),
                "until": majority_on(record.date_of_birth, ages).isoformat(),
            }
        )
    return shown


def child_of(db: Session, guardian: Identity, child_id: int, ages: AgePolicy) -> Identity:
    """The guardian's child ``child_id`` while the guardian may act for them; otherwise refused with why."""
    child = next((child for _, child in children_of(db, guardian.id) if child.id == child_id), None)
    if child is None:
        raise NotFound("no such child on your account")
    record = issuing_enrolment(db, child.id)
    if record is None or not is_minor(record.date_of_birth, ages):
        raise ChildOfAge(
            f"this child has reached the age of majority ({ages.majority}): they act for themselves now",
            params={"age": ages.majority},
        )
    if child.status != "active":
        raise ChildNotActive(f"this child's identity is {child.status}")
    return child


@router.get("/account/children/{child_id}/history")
def child_history(request: Request, child_id: RowId, services: ServicesDep, sources: SourcesDep) -> Response:
    """The child's authentication history, for their guardian (audited)."""
    with services.sessions.begin() as db:
        found = signed_in(request, db)
        if found is None:
            return RedirectResponse(LOGIN_PAGE, status_code=303)
        _, guardian = found
        child = child_of(db, guardian, child_id, services.settings.ages)
        audit.record(db, sessions.citizen(guardian), "guardian.child_history_viewed", "identity", child.uin)
        return render_history(request, db, sources, child, child_name=_name(db, child))


def _download(request: Request, child_id: int, services: IdpServices, sources: SourcesDep, kind: str) -> Response:
    ages = services.settings.ages
    return download(
        request,
        services,
        sources,
        kind,
        "guardian.child_data_downloaded",
        lambda db, guardian: child_of(db, guardian, child_id, ages),
    )


@router.get("/account/children/{child_id}/my-data.json")
def child_data_json(request: Request, child_id: RowId, services: ServicesDep, sources: SourcesDep) -> Response:
    """Everything civid holds about the child, as JSON, for their guardian (audited)."""
    return _download(request, child_id, services, sources, "json")


@router.get("/account/children/{child_id}/my-data.pdf")
def child_data_pdf(request: Request, child_id: RowId, services: ServicesDep, sources: SourcesDep) -> Response:
    """The same, as a readable PDF in the guardian's language."""
    return _download(request, child_id, services, sources, "pdf")
