"""What the validation steps share: the raw parameters, the client, and the validated parameters so far."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from idp.claims_extensions import ClaimsExtensions
from idp.login_methods import LoginMethods
from models import AuthorizationRequest, Client

if TYPE_CHECKING:
    from idp.runtime import IdpServices

# Limits on free-text parameters the client echoes back or we store (a request is not a storage service).
MAX_STATE = 2000
MAX_NONCE = 500  # AuthorizationCode.nonce


@dataclass
class AuthorizationContext:
    """One authorization request being validated (at ``/authorize`` or at ``/par``)."""

    raw: Mapping[str, str]
    db: Session
    services: IdpServices
    extensions: ClaimsExtensions  # the application's claims extensions (their members and parameters)
    methods: LoginMethods  # the application's login methods: the acr values it knows and their levels
    at_par: bool = False
    # Set by check_client (at /par: the authenticated client, set before the chain runs).
    client: Client | None = None
    # Set by check_redirect_uri once it exactly matches a registered one: from then on errors are redirected.
    redirect_uri: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # The pushed request (RFC 9126) this one was loaded from; its params are complete, so the chain stops.
    pushed: AuthorizationRequest | None = None
    complete: bool = False

    @property
    def state(self) -> str | None:
        """The ``state`` to echo with an error: the validated one, else the raw one (RFC 6749 §4.1.2.1)."""
        if "state" in self.params:
            return self.params["state"]
        value = self.raw.get("state")
        return value if value and len(value) <= MAX_STATE else None

    def words(self, name: str) -> list[str]:
        """A space-delimited parameter as a list without duplicates, order kept (RFC 6749 §3.3)."""
        return list(dict.fromkeys((self.raw.get(name) or "").split()))
