"""The root page ``/``: where a person who opens civid's address can go — the officer console, the citizen's
own account, and the API's documentation (for portal and bank engineers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from civid.web import pages

router = APIRouter(include_in_schema=False, dependencies=[Depends(pages.html_page)])


@router.get("/")
def front_page(request: Request) -> Response:
    """Three ways in, each said in words."""
    return pages.render(request, "front_page.html")
