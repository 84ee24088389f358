"""The console's start page: what this staff member can do, by role."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from civid.web import pages
from console.signin.session import require_staff
from console.staff.accounts import Staff

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("")
def home(request: Request, staff: Staff = Depends(require_staff())) -> Response:
    """The dashboard: one tile per task the staff member's roles allow."""
    return pages.render(request, "console_home.html", staff=staff)
