"""FastAPI dependencies: the process's services and a database session per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from civid.settings import Settings


class MacKey(Protocol):
    """The server's keyed MAC, as the core's CSRF tokens use it (``civid.web.csrf``); the OpenID provider's
    secrets (``idp.server_secrets.ServerSecrets``) are the one the server assembles."""

    def mac(self, purpose: str, value: str) -> str:
        """A URL-safe MAC of ``value`` for one ``purpose``, under a key only the server holds."""
        ...


class CoreServices(Protocol):
    """What every route may rely on in the process's services (``app.state.services``).

    The object itself is assembled by the server package; each feature package states in its own protocol
    (``enrollment.runtime``, ``idp.runtime``) the further fields it uses, so no feature imports the server.
    """

    settings: Settings
    sessions: sessionmaker[Session]

    # Read-only, so that any object with a fitting ``mac`` satisfies it (a plain attribute would have to be
    # exactly MacKey: protocol attributes are invariant).
    @property
    def idp_secrets(self) -> MacKey:
        """The key of CSRF tokens (``civid.web.csrf``)."""
        ...


def get_services(request: Request) -> CoreServices:
    """The process's services, as installed on the app at start-up."""
    services: CoreServices = request.app.state.services
    return services


def get_session(request: Request) -> Iterator[Session]:
    """A database session for one request, closed when the response has been sent."""
    with request.app.state.services.sessions() as session:
        yield session
