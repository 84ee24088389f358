"""What a login method is, and the ordered set of them an application offers.

A login method (a passkey, a face check, later an SMS code) is one module that declares a ``LoginMethod``:
its name (recorded with every attempt, session and audit event), the ``acr`` it proves and how strong that
is, its RFC 8176 ``amr`` values, the router with its endpoints, the template fragment it adds to the login
page, and the housekeeping it needs. Lockout needs nothing per method: each method calls ``idp.lockout``
with its name before it checks anything, and the attempts it records are pruned with everyone's.

The registry (``LoginMethods``) is an immutable value built when the application is assembled
(``register``), kept on ``app.state``; the login page lists the methods in registration order, discovery
states their ``acr`` values, and every level question about a request is answered from it (``of(request)``:
the authorization chain's ``acr_values``, the interaction policy, face gating, kyc re-verification, console
sign-in), so a method registered on the app binds as firmly as a built-in one. Adding a method is its module,
its fragment and one line in ``idp.acr.BUILT_IN``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete

from civid.settings import Settings

# The login page's context for one method's fragment: (db, settings, interaction uid or None) → variables.
PageContext = Callable[[Session, Settings, "str | None"], Mapping[str, Any]]
# Rows the method stores that may go once expired: (settings, now) → {table name: DELETE statement}.
Prune = Callable[[Settings, datetime], Mapping[str, Delete]]


@dataclass(frozen=True)
class LoginMethod:
    """One way for a citizen to sign in, and everything the rest of the provider needs to know about it."""

    name: str  # LoginAttempt.method, the audit events' ``method``, the session's method
    acr: str  # the authentication context class a login with this method proves
    level: int  # how strong ``acr`` is: a session at a higher level satisfies a request for a lower one
    amr: tuple[str, ...]  # RFC 8176 authentication method references
    router: APIRouter
    fragment: str  # template included on the login page, in registry order
    scripts: tuple[str, ...] = ()  # script URLs the page loads when the method is offered
    page_context: PageContext | None = None
    prune: Prune | None = None


@dataclass(frozen=True)
class LoginMethods:
    """The methods an application offers, in login-page order, with the level questions answered from them."""

    methods: tuple[LoginMethod, ...]

    def __post_init__(self) -> None:
        names = [method.name for method in self.methods]
        if len(set(names)) != len(names):
            raise ValueError(f"login method names must be unique: {names}")
        levels: dict[str, int] = {}
        for method in self.methods:
            if levels.setdefault(method.acr, method.level) != method.level:
                raise ValueError(f"acr {method.acr} is declared with two levels")

    def __iter__(self) -> Iterator[LoginMethod]:
        return iter(self.methods)

    def __len__(self) -> int:
        return len(self.methods)

    def with_method(self, method: LoginMethod) -> LoginMethods:
        """A registry with ``method`` added last."""
        return LoginMethods((*self.methods, method))

    def get(self, name: str) -> LoginMethod:
        """The method called ``name`` (KeyError if none)."""
        for method in self.methods:
            if method.name == name:
                return method
        raise KeyError(name)

    @property
    def levels(self) -> Mapping[str, int]:
        """Each known ``acr`` value with its level."""
        return MappingProxyType({method.acr: method.level for method in self.methods})

    @property
    def acr_values_supported(self) -> list[str]:
        """The ``acr`` values, strongest first (discovery's ``acr_values_supported``)."""
        ordered = sorted(self.methods, key=lambda method: -method.level)  # stable: registry order within a level
        return list(dict.fromkeys(method.acr for method in ordered))

    def required_level(self, requested: Sequence[str]) -> int:
        """The lowest level that satisfies a client's request (acr values are alternatives); 0 if none known."""
        levels = self.levels
        known = [levels[value] for value in requested if value in levels]
        return min(known) if known else 0

    def satisfies(self, acr: str, requested: Sequence[str]) -> bool:
        """Whether a session authenticated at ``acr`` meets ``requested`` (a higher level meets a lower one)."""
        return self.levels.get(acr, 0) >= self.required_level(requested)

    def allowed(self, requested: Sequence[str]) -> tuple[LoginMethod, ...]:
        """The methods a citizen may use for this request, in registry order."""
        level = self.required_level(requested)
        return tuple(method for method in self.methods if method.level >= level)

    def prune_statements(self, settings: Settings, now: datetime) -> dict[str, Delete]:
        """Every method's housekeeping, by table."""
        statements: dict[str, Delete] = {}
        for method in self.methods:
            if method.prune is not None:
                statements.update(method.prune(settings, now))
        return statements


def install(app: FastAPI, methods: LoginMethods) -> None:
    """Offer ``methods`` on ``app``: their routes, and the registry the login page and discovery read."""
    app.state.login_methods = LoginMethods(())
    for method in methods:
        register(app, method)


def register(app: FastAPI, method: LoginMethod) -> None:
    """Add ``method`` to ``app`` (after those already there): its router and its place in the registry."""
    app.include_router(method.router)
    app.state.login_methods = of_app(app).with_method(method)


def of_app(app: FastAPI) -> LoginMethods:
    """The methods ``app`` offers (none before ``install``)."""
    methods: LoginMethods = getattr(app.state, "login_methods", LoginMethods(()))
    return methods


def of(request: Request) -> LoginMethods:
    """The methods offered by the application serving ``request``."""
    return of_app(request.app)
