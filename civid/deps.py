"""FastAPI dependencies: the process's services and a database session per request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from fastapi import Request
from sqlalchemy.orm import Session

if TYPE_CHECKING:  # services import auth, which imports this module
    from civid.services import Services


def get_services(request: Request) -> "Services":
    services: Services = request.app.state.services  # set by the app factory before the first request
    return services


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.services.sessions() as session:
        yield session
