"""Extensions of the claims the OpenID provider answers: the interface a package above idp implements to add
a member of the ``claims`` request parameter (OIDC Core §5.5) with its own rules, and the registry idp consults.

An extension plugs into idp as Authlib's OpenID extensions plug into its OAuth grants: idp never imports
it. It owns one member name inside ``claims.userinfo``/``claims.id_token`` (kyc: OIDC4IDA's
``verified_claims``) and says, at each place idp reaches it, what that member adds: its shape check and
request parameters at /authorize, the consent names it needs and the purposes it states, the consent page's
box, the discovery metadata, the value released in the ID token and at UserInfo with the record of that
release, and a section of the citizen's account page.

The registry is held per application (``app.state``, set by ``idp.app.install``), never in a module global:
two apps built in one process (tests) each answer with their own extensions. With none registered idp is a
plain OpenID provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session

from civid.settings import Settings
from models import Client, Identity

if TYPE_CHECKING:
    from idp.runtime import IdpServices

RELEASE_CHANNELS = ("id_token", "userinfo")


@dataclass(frozen=True)
class MemberRequest:
    """What one extension's member of the ``claims`` parameter asks for in one request."""

    userinfo: Any = None  # the member's value inside claims.userinfo (None: not asked there)
    id_token: Any = None  # the member's value inside claims.id_token (None: not asked there)
    consent_names: frozenset[str] = frozenset()  # what the citizen must consent to for it


@dataclass(frozen=True)
class ConsentSection:
    """A box an extension adds to the consent page: i18n keys for its title, its introduction (formatted
    with ``client``) and one line per item; ``name`` makes the box's HTML id (``consent-<name>``)."""

    name: str
    title: str
    intro: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class AccountSection:
    """A section an extension adds to the citizen's account page: a template and the values it shows."""

    template: str
    context: Mapping[str, object]


class ReleaseConsent(Protocol):
    """The consent a release rests on (``idp.consent.ClientConsent``; named by its shape so that this module
    needs nothing of idp's consent, grant and token code)."""

    def covering(self, claim_names: Iterable[str]) -> list[str]:
        """The uids of the consent rows holding at least one of ``claim_names``."""


@dataclass(frozen=True)
class Release:
    """Personal data that has just left through the ID token or UserInfo, for the extensions' record of it."""

    identity_id: int
    client_id: str
    channel: str  # one of RELEASE_CHANNELS
    claim_names: tuple[str, ...]  # every released name, the extensions' own included (never values)
    values: Mapping[str, Any]  # member name -> the value released for it, only for members released
    consent: ReleaseConsent | None  # the grant's own live consent the claims were released under


class ClaimsExtension(Protocol):
    """A member of the ``claims`` parameter added by a package above idp, and everything idp asks it."""

    member: str  # its name inside claims.userinfo / claims.id_token, and the claim it answers with

    def metadata(self, settings: Settings) -> dict[str, Any]:
        """What it adds to the discovery document (OIDC Discovery §3)."""

    def validate_member(self, spec: Any, where: str) -> None:
        """Check the shape of its member (``where`` names it in the error); raise ``idp.errors.InvalidRequest``."""

    def authorization_parameters(self, raw: Mapping[str, str]) -> dict[str, Any]:
        """Its own authorization request parameters, validated (raise ``InvalidRequest``), for the stored params."""

    def requested(self, client: Client, userinfo: Any, id_token: Any) -> MemberRequest | None:
        """What ``client`` asked for with the member (None: this client never gets it; dropped silently)."""

    def purposes(self, params: Mapping[str, Any], asked: MemberRequest | None) -> list[str]:
        """The purposes the request states for the data it asks (shown on the consent page, stored with it)."""

    def owns_consent_name(self, name: str) -> bool:
        """Whether ``name`` is one of its consent names (not a person claim of idp's)."""

    def consent_section(self, names: frozenset[str]) -> ConsentSection | None:
        """Its consent-page box for the consent names asked for (None: nothing of its own asked)."""

    def release(
        self, db: Session, services: IdpServices, identity: Identity, client: Client, spec: Any, *, consented: set[str]
    ) -> Any | None:
        """The value answering ``spec`` (its member, as asked) within ``consented``; None to omit the claim."""

    def released_claim_names(self, value: Any) -> list[str]:
        """The names of the person data inside a released value (for the release record)."""

    def record_release(self, db: Session, release: Release) -> None:
        """Note a release through the ID token or UserInfo, in the same transaction."""

    def account_section(self, db: Session, identity_id: int, lang: str) -> AccountSection | None:
        """Its section of the citizen's account page (None: nothing to show)."""


class ClaimsExtensions:
    """The extensions registered with one application, in registration order; idp asks each in turn."""

    def __init__(self, extensions: tuple[ClaimsExtension, ...] = ()) -> None:
        self._extensions: list[ClaimsExtension] = []
        for extension in extensions:
            self.register(extension)

    def register(self, extension: ClaimsExtension) -> None:
        """Add ``extension``; two extensions cannot answer the same member."""
        if self.find(extension.member) is not None:
            raise ValueError(f"a claims extension for {extension.member!r} is already registered")
        self._extensions.append(extension)

    def __iter__(self) -> Iterator[ClaimsExtension]:
        return iter(tuple(self._extensions))

    def find(self, member: str) -> ClaimsExtension | None:
        """The extension answering ``member`` of the claims parameter, if any."""
        return next((e for e in self._extensions if e.member == member), None)

    def metadata(self, settings: Settings) -> dict[str, Any]:
        """Every extension's discovery metadata, merged."""
        merged: dict[str, Any] = {}
        for extension in self._extensions:
            merged.update(extension.metadata(settings))
        return merged

    def authorization_parameters(self, raw: Mapping[str, str]) -> dict[str, Any]:
        """Every extension's validated authorization request parameters, merged."""
        merged: dict[str, Any] = {}
        for extension in self._extensions:
            merged.update(extension.authorization_parameters(raw))
        return merged

    def requested(self, client: Client, claims_parameter: Mapping[str, Any] | None) -> dict[str, MemberRequest]:
        """What the parsed ``claims`` parameter asks of each extension, for the members ``client`` may get."""
        parameter = claims_parameter or {}
        asked: dict[str, MemberRequest] = {}
        for extension in self._extensions:
            found = extension.requested(
                client,
                parameter.get("userinfo", {}).get(extension.member),
                parameter.get("id_token", {}).get(extension.member),
            )
            if found is not None:
                asked[extension.member] = found
        return asked

    def purposes(self, params: Mapping[str, Any], asked: Mapping[str, MemberRequest]) -> list[str]:
        """Every distinct purpose the extensions find in the request, in order."""
        found: list[str] = []
        for extension in self._extensions:
            for purpose in extension.purposes(params, asked.get(extension.member)):
                if purpose not in found:
                    found.append(purpose)
        return found

    def owns_consent_name(self, name: str) -> bool:
        """Whether some extension owns the consent name ``name``."""
        return any(extension.owns_consent_name(name) for extension in self._extensions)

    def consent_sections(self, names: frozenset[str]) -> list[ConsentSection]:
        """The consent page's extension boxes for the consent names asked for."""
        return [s for s in (e.consent_section(names) for e in self._extensions) if s is not None]

    def release(
        self,
        db: Session,
        services: IdpServices,
        identity: Identity,
        client: Client,
        asked: Mapping[str, MemberRequest],
        channel: str,
        *,
        consented: set[str],
    ) -> dict[str, Any]:
        """The extension claims released through ``channel`` (member -> value), leaving out omitted ones."""
        values: dict[str, Any] = {}
        for extension in self._extensions:
            request = asked.get(extension.member)
            spec = None if request is None else request.id_token if channel == "id_token" else request.userinfo
            if spec is not None:
                value = extension.release(db, services, identity, client, spec, consented=consented)
                if value is not None:
                    values[extension.member] = value
        return values

    def released_claim_names(self, values: Mapping[str, Any]) -> list[str]:
        """The person-data names inside the released extension values."""
        return [
            name
            for extension in self._extensions
            if extension.member in values
            for name in extension.released_claim_names(values[extension.member])
        ]

    def record_release(self, db: Session, release: Release) -> None:
        """Let every extension note the release."""
        if release.channel not in RELEASE_CHANNELS:
            raise ValueError(f"unknown release channel {release.channel!r}")
        for extension in self._extensions:
            extension.record_release(db, release)

    def account_sections(self, db: Session, identity_id: int, lang: str) -> list[AccountSection]:
        """The extensions' sections of the citizen's account page."""
        return [s for s in (e.account_section(db, identity_id, lang) for e in self._extensions) if s is not None]


def install(app: FastAPI) -> ClaimsExtensions:
    """Give ``app`` its (empty) registry; packages installed after idp register with ``of(app)``."""
    registry = ClaimsExtensions()
    app.state.claims_extensions = registry
    return registry


def of(app: FastAPI) -> ClaimsExtensions:
    """The application's registry (``idp.app.install`` must have run first)."""
    registry: ClaimsExtensions | None = getattr(app.state, "claims_extensions", None)
    if registry is None:
        raise RuntimeError("install idp (idp.app.install) before registering claims extensions")
    return registry


def from_request(request: Request) -> ClaimsExtensions:
    """The registry of the application serving ``request`` (also a FastAPI dependency)."""
    return of(request.app)
