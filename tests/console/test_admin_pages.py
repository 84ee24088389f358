"""Admins' console pages: staff accounts and roles, relying-party clients (secret shown once), signing keys —
every action CSRF-checked, audited with the admin as actor, and refused to every other role."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from civid.audit import SYSTEM
from console.staff import accounts as staff_accounts
from idp.server_secrets import sha256_hex
from models import AuditEvent, Client, StaffAccount
from tests.conftest import seeded_fixtures, without_request_id
from tests.console.helpers import CONSOLE_SETTINGS, console_sign_in
from tests.idp.conftest import Citizen, enrol_citizen, register_client
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO, form_value, location

COLLINS_PHOTO = "collins_nasa_portrait.png"


@dataclass(frozen=True)
class Office:
    admin: Citizen  # Collins
    officer: Citizen  # Obama
    newcomer: Citizen  # Biden: enrolled, no staff account yet


def staff_an_office(client, keys) -> Office:  # type: ignore[no-untyped-def]
    obama = enrol_citizen(client, keys, "obama_2012_portrait.jpg", given_name="Barack", family_name="Obama")
    biden = enrol_citizen(client, keys, "biden_2010_blue_room.jpg", given_name="Joseph", family_name="Biden")
    collins = enrol_citizen(client, keys, COLLINS_PHOTO, given_name="Eileen", family_name="Collins")
    with client.app.state.services.sessions.begin() as db:
        staff_accounts.add(db, collins.uin, "Admin Collins", ["admin"], SYSTEM)
        staff_accounts.add(db, obama.uin, "Officer Obama", ["officer"], SYSTEM)
    return Office(collins, obama, biden)


seed, settings, keys, office = seeded_fixtures(staff_an_office, "office", **CONSOLE_SETTINGS)


def as_admin(client, office: Office, path: str = "/console/admin"):  # type: ignore[no-untyped-def]
    console_sign_in(client, office.admin, COLLINS_PHOTO)
    return client.get(path)


def post(
    client,
    path: str,
    page_path: str,
    data: dict | list,  # type: ignore[no-untyped-def]
    headers: dict | None = None,
    **kwargs,
):
    """POST a form of the page at ``page_path`` (its CSRF token added); ``data`` may repeat keys as pairs."""
    token = form_value(client.get(page_path).text, "csrf_token")
    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    return client.post(
        path,
        content=_encode([("csrf_token", token), *pairs]),
        follow_redirects=False,
        headers={"content-type": "application/x-www-form-urlencoded", **(headers or {})},
        **kwargs,
    )


def _encode(pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode

    return urlencode(pairs)


def events(services, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_only_admins_reach_the_admin_pages(client, office):
    console_sign_in(client, office.officer, OBAMA_PHOTO)
    for path in ("/console/admin", "/console/admin/clients", "/console/admin/keys"):
        assert client.get(path).status_code == 403, path
    refused = post(
        client, "/console/admin/staff", "/console", [("uin", office.newcomer.uin), ("name", "x"), ("roles", "admin")]
    )
    assert refused.status_code == 403
    assert post(client, "/console/admin/keys/rotate", "/console", {"confirm": "yes"}).status_code == 403
    with client.app.state.services.sessions() as db:
        assert db.scalars(select(StaffAccount).where(StaffAccount.uin == office.newcomer.uin)).first() is None


def test_an_admin_adds_a_staff_member_who_can_then_sign_in_with_those_roles(client, office, services):
    page = as_admin(client, office)
    assert page.status_code == 200 and "Officer Obama" in page.text and "Admin Collins" in page.text
    added = post(
        client,
        "/console/admin/staff",
        "/console/admin",
        [("uin", office.newcomer.uin), ("name", "Adjudicator Biden"), ("roles", "adjudicator"), ("roles", "auditor")],
    )
    assert added.status_code == 303 and location(added) == "/console/admin?done=staff_added"
    assert "The staff account was added" in client.get(location(added)).text
    [event] = [e for e in events(services, "staff.added") if e.person == office.newcomer.uin]
    assert event.actor_name == "Admin Collins" and event.detail["roles"] == ["adjudicator", "auditor"]
    console_sign_in(client, office.newcomer, BIDEN_PHOTO)
    home = client.get("/console")
    assert "/console/cases" in home.text and "/console/audit" in home.text and "/console/admin" not in home.text


def test_adding_staff_refuses_unknown_people_bad_uins_and_no_roles(client, office):
    as_admin(client, office)
    unknown = post(
        client,
        "/console/admin/staff",
        "/console/admin",
        [("uin", "1234567890"), ("name", "Nobody"), ("roles", "officer")],
    )  # valid, not enrolled
    assert unknown.status_code == 404 and "no identity with UIN" in unknown.text and 'role="alert"' in unknown.text
    assert 'value="Nobody"' in unknown.text  # the form keeps what was typed
    mistyped = post(
        client, "/console/admin/staff", "/console/admin", [("uin", "1234567891"), ("name", "N"), ("roles", "officer")]
    )
    assert mistyped.status_code == 422 and "check digit" in mistyped.text
    no_roles = post(client, "/console/admin/staff", "/console/admin", [("uin", office.newcomer.uin), ("name", "B")])
    assert no_roles.status_code == 422 and "roles must be" in no_roles.text
    twice = post(
        client,
        "/console/admin/staff",
        "/console/admin",
        [("uin", office.officer.uin), ("name", "O"), ("roles", "officer")],
    )
    assert twice.status_code == 409


def test_roles_change_and_accounts_disable_but_never_the_admins_own(client, office, services):
    as_admin(client, office)
    with services.sessions() as db:
        ids = {a.name: a.id for a in staff_accounts.listing(db)}
    changed = post(
        client,
        f"/console/admin/staff/{ids['Officer Obama']}/roles",
        "/console/admin",
        [("roles", "officer"), ("roles", "auditor")],
    )
    assert changed.status_code == 303
    [event] = events(services, "staff.roles_changed")
    assert without_request_id(event.detail) == {
        "uin": office.officer.uin,
        "roles_before": ["officer"],
        "roles": ["officer", "auditor"],
    }
    own_role = post(
        client, f"/console/admin/staff/{ids['Admin Collins']}/roles", "/console/admin", [("roles", "auditor")]
    )
    assert own_role.status_code == 403 and "your own admin role" in own_role.text
    own_account = post(
        client, f"/console/admin/staff/{ids['Admin Collins']}/disable", "/console/admin", {"confirm": "yes"}
    )
    assert own_account.status_code == 403
    unconfirmed = post(client, f"/console/admin/staff/{ids['Officer Obama']}/disable", "/console/admin", {})
    assert unconfirmed.status_code == 422 and "Tick the confirmation box" in unconfirmed.text
    disabled = post(
        client, f"/console/admin/staff/{ids['Officer Obama']}/disable", "/console/admin", {"confirm": "yes"}
    )
    assert disabled.status_code == 303
    with services.sessions() as db:
        assert staff_accounts.active_by_uin(db, office.officer.uin) is None
    assert events(services, "staff.disabled")[0].actor_name == "Admin Collins"
    forged = client.post(
        f"/console/admin/staff/{ids['Officer Obama']}/roles", data={"csrf_token": "x", "roles": "admin"}
    )
    assert forged.status_code == 403


def test_an_admin_registers_a_client_and_sees_its_secret_once(client, office, services):
    as_admin(client, office, "/console/admin/clients")
    created = post(
        client,
        "/console/admin/clients",
        "/console/admin/clients",
        [
            ("name", "Belize Bank"),
            ("redirect_uris", "https://bank.example.bz/cb\nhttps://bank.example.bz/cb2"),
            ("auth", "client_secret_post"),
            ("entitlements", "kyc"),
            ("scopes", "openid"),
            ("scopes", "profile"),
            ("require_par", "1"),
            ("jwks_uri", ""),
            ("jwks", ""),
            ("contacts", "it@bank.example.bz"),
            ("backchannel_logout_uri", "https://bank.example.bz/bcl"),
            ("backchannel_session", "1"),
            ("identity_events_uri", "https://bank.example.bz/events"),
        ],
    )
    assert created.status_code == 201, created.text[-1500:]
    client_id = re.search(r"client_id: <code>([^<]+)</code>", created.text).group(1)
    secret = re.search(r"client_secret: ([A-Za-z0-9_-]+)", created.text).group(1)
    with services.sessions() as db:
        row = db.scalars(select(Client).where(Client.client_id == client_id)).one()
        assert row.secret_hash == sha256_hex(secret) and row.token_endpoint_auth_method == "client_secret_post"
        assert row.entitlements == ["kyc"] and row.require_par and row.allowed_scopes == ["openid", "profile"]
        assert row.redirect_uris == ["https://bank.example.bz/cb", "https://bank.example.bz/cb2"]
        assert row.registered_by == "admin:Admin Collins"
        assert row.backchannel_logout_uri == "https://bank.example.bz/bcl" and row.backchannel_logout_session_required
        assert row.identity_events_uri == "https://bank.example.bz/events"
    listed = client.get("/console/admin/clients")
    assert client_id in listed.text and secret not in listed.text and "identity events" in listed.text
    [event] = [e for e in events(services, "client.registered") if e.client_id == client_id]
    assert event.actor_name == "Admin Collins"


def test_an_admin_chooses_refresh_tokens_and_nonce_instead_of_pkce_for_a_client(client, office, services):
    page = as_admin(client, office, "/console/admin/clients")
    assert re.search(r'name="refresh_token" value="1" checked', page.text)  # today's behaviour by default
    base = {"auth": "client_secret_basic", "jwks_uri": "", "jwks": "", "redirect_uris": "https://p.example.bz/cb"}
    without = post(client, "/console/admin/clients", "/console/admin/clients", {**base, "name": "Kiosk"})
    with_refresh = post(
        client,
        "/console/admin/clients",
        "/console/admin/clients",
        {**base, "name": "Portal", "refresh_token": "1", "nonce_instead_of_pkce": "1"},
    )
    assert without.status_code == 201 and with_refresh.status_code == 201, without.text[-1500:]
    with services.sessions() as db:
        stored = {
            name: (grants, pkce)
            for name, grants, pkce in db.execute(select(Client.name, Client.grant_types, Client.require_pkce)).all()
        }
    assert stored["Kiosk"] == (["authorization_code"], True)
    assert stored["Portal"] == (["authorization_code", "refresh_token"], False)


def test_an_admin_requires_dpop_of_a_client(client, office, services):
    page = as_admin(client, office, "/console/admin/clients")
    assert 'name="require_dpop" value="1"' in page.text and "DPoP" in page.text
    base = {"auth": "client_secret_basic", "jwks_uri": "", "jwks": "", "redirect_uris": "https://p.example.bz/cb"}
    created = post(
        client, "/console/admin/clients", "/console/admin/clients", {**base, "name": "Bank", "require_dpop": "1"}
    )
    assert created.status_code == 201, created.text[-1500:]
    with services.sessions() as db:
        assert db.scalars(select(Client.require_dpop).where(Client.name == "Bank")).one() is True


def test_client_registration_refuses_what_the_cli_refuses(client, office):
    as_admin(client, office, "/console/admin/clients")
    base = {"name": "Portal", "auth": "client_secret_basic", "jwks_uri": "", "jwks": ""}
    plain_http = post(
        client,
        "/console/admin/clients",
        "/console/admin/clients",
        {**base, "redirect_uris": "http://portal.example.bz/cb"},
    )
    assert plain_http.status_code == 400 and "must use https" in plain_http.text
    private = post(
        client,
        "/console/admin/clients",
        "/console/admin/clients",
        {
            **base,
            "redirect_uris": "https://p.example.bz/cb",
            "auth": "private_key_jwt",
            "jwks": '{"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "secret"}]}',
        },
    )
    assert private.status_code == 422 and "private key" in private.text
    neither = post(
        client,
        "/console/admin/clients",
        "/console/admin/clients",
        {**base, "redirect_uris": "https://p.example.bz/cb", "auth": "private_key_jwt"},
    )
    assert neither.status_code == 422 and "exactly one" in neither.text
    plain_http_logout = post(
        client,
        "/console/admin/clients",
        "/console/admin/clients",
        {**base, "redirect_uris": "https://p.example.bz/cb", "backchannel_logout_uri": "http://p.example.bz/bcl"},
    )
    assert plain_http_logout.status_code == 400 and "must use https" in plain_http_logout.text


def test_disabling_a_client_revokes_it_but_never_the_consoles_own(client, office, services):
    client_id, _ = register_client(services, name="Old portal")
    as_admin(client, office, "/console/admin/clients")
    done = post(client, f"/console/admin/clients/{client_id}/disable", "/console/admin/clients", {"confirm": "yes"})
    assert done.status_code == 303
    with services.sessions() as db:
        assert db.scalars(select(Client).where(Client.client_id == client_id)).one().disabled_at is not None
        console_id = db.scalars(select(Client.client_id).where(Client.registered_by == "civid:console")).one()
    assert events(services, "client.disabled")[0].actor_name == "Admin Collins"
    refused = post(client, f"/console/admin/clients/{console_id}/disable", "/console/admin/clients", {"confirm": "yes"})
    assert refused.status_code == 403 and "console" in refused.text
    page = client.get("/console/admin/clients")
    assert f"/console/admin/clients/{console_id}/disable" not in page.text


def test_signing_keys_show_their_state_and_rotate_with_confirmation(client, office, services):
    page = as_admin(client, office, "/console/admin/keys")
    assert page.status_code == 200 and page.text.count(">signing<") == 2  # one ES256, one RS256
    unconfirmed = post(client, "/console/admin/keys/rotate", "/console/admin/keys", [("algs", "ES256")])
    assert unconfirmed.status_code == 422
    rotated = post(client, "/console/admin/keys/rotate", "/console/admin/keys", [("algs", "ES256"), ("confirm", "yes")])
    assert rotated.status_code == 303
    states = [(k.alg, k.state) for k in services.signing_keys.status()]
    assert ("ES256", "pending") in states and ("RS256", "pending") not in states
    created = [e for e in events(services, "signing_key.created") if e.actor_name == "Admin Collins"]
    assert len(created) == 1 and created[0].detail["alg"] == "ES256"
    assert "published, not yet signing" in client.get("/console/admin/keys").text


def test_registry_refusals_are_in_the_admins_language(client, office):
    spanish = {"Accept-Language": "es"}
    as_admin(client, office, "/console/admin/clients")
    base = {
        "name": "Portal",
        "auth": "client_secret_basic",
        "jwks_uri": "",
        "jwks": "",
        "redirect_uris": "http://portal.example.bz/cb",
    }
    refused = post(client, "/console/admin/clients", "/console/admin/clients", base, headers=spanish)
    assert refused.status_code == 400
    assert "La URI http://portal.example.bz/cb debe usar https (http solo en localhost)." in refused.text
    assert "must use https" not in refused.text
    english = post(client, "/console/admin/clients", "/console/admin/clients", base)
    assert "The URI http://portal.example.bz/cb must use https (http only on localhost)." in english.text
    private = post(
        client,
        "/console/admin/clients",
        "/console/admin/clients",
        {**base, "redirect_uris": "https://p.example.bz/cb", "auth": "private_key_jwt"},
        headers=spanish,
    )
    assert private.status_code == 422 and "necesita exactamente uno de los dos" in private.text

    unknown = post(
        client,
        "/console/admin/staff",
        "/console/admin",
        [("uin", "1234567890"), ("name", "Nadie"), ("roles", "officer")],
        headers=spanish,
    )
    assert unknown.status_code == 404 and "No hay ninguna identidad con el UIN 1234567890" in unknown.text
    assert "no identity with UIN" not in unknown.text and 'value="Nadie"' in unknown.text
    mistyped = post(
        client,
        "/console/admin/staff",
        "/console/admin",
        [("uin", "1234567891"), ("name", "N"), ("roles", "officer")],
        headers=spanish,
    )
    assert mistyped.status_code == 422 and "El dígito de control del UIN no es correcto" in mistyped.text
    twice = post(
        client,
        "/console/admin/staff",
        "/console/admin",
        [("uin", office.officer.uin), ("name", "O"), ("roles", "officer")],
        headers=spanish,
    )
    assert twice.status_code == 409 and f"El UIN {office.officer.uin} ya tiene una cuenta del personal" in twice.text
    no_roles = post(client, "/console/admin/staff", "/console/admin", [("uin", office.newcomer.uin), ("name", "B")])
    assert no_roles.status_code == 422 and "Tick at least one role" in no_roles.text  # English where asked
