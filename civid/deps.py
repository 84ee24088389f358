"""FastAPI dependencies: the process's services and a database session per request."""

from __future__ import annotations

from typing import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from civid.services import Services


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.services.sessions() as session:
        yield session
