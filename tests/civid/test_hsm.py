"""Keys in a PKCS#11 token (SoftHSM2): the template key ring as an envelope under a master key in the token, the
OpenID and audit signing keys made there, enrolment, rotation, re-encryption and re-wrapping under a new master
key with every template still opening, and a stolen data folder that opens nothing without the token."""

from __future__ import annotations

import base64
import json
import secrets
import shutil
from pathlib import Path

import jwt
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from civid.errors import ConfigurationError
from civid.keyring import KeyRing
from civid.pkcs11_token import open_token
from civid.settings import Settings, get_settings
from enrollment.templates import reencrypt_all
from models import AuditEvent, SigningKey
from server.app import create_app
from server.cli import app
from server.services import build_services
from tests.conftest import add_keys, enrol
from tests.softhsm import SoftHsm, softhsm  # noqa: F401 - fixture


def hsm_settings(data_dir: Path, hsm: SoftHsm, token: str | None = None, **overrides: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        pkcs11_module=hsm.module,
        pkcs11_token_label=token or hsm.token,
        pkcs11_pin_file=hsm.pin_file,
        **overrides,
    )


@pytest.fixture
def enrolled(tmp_path: Path, softhsm: SoftHsm):  # type: ignore[no-untyped-def]
    """An instance whose keys are all in the token, with Obama enrolled; (settings, keys, his UIN)."""
    settings = hsm_settings(tmp_path / "var", softhsm, pkcs11_master_key_label="master-" + secrets.token_hex(4))
    services = build_services(settings)
    keys = add_keys(services)
    with TestClient(create_app(services=services)) as client:
        response = enrol(client, keys.officer, ["obama_2012_portrait.jpg"])
        assert response.status_code == 201 and response.json()["status"] == "issued", response.text
    services.close()
    return settings, keys, response.json()["uin"]


def test_every_key_is_in_the_token_and_signs_there(enrolled):
    settings, _keys, _uin = enrolled
    ring = json.loads(settings.resolved_template_keys_file.read_text())
    assert ring["wrapped_by"] == settings.pkcs11_master_key_label
    assert all(len(base64.b64decode(blob)) == 12 + 32 + 16 for blob in ring["keys"].values())  # wrapped, not keys
    audit_keys = json.loads(settings.resolved_audit_key_file.read_text())
    assert all(value.startswith("pkcs11:") for value in audit_keys["keys"].values())
    services = build_services(settings, open_gallery=False)
    try:
        with services.sessions() as session:
            rows = list(session.scalars(select(SigningKey)))
        assert rows and all((row.private_key_id, row.private_ciphertext) == ("pkcs11", b"") for row in rows)
        published = {key["kid"]: key for key in services.signing_keys.jwks()["keys"]}
        for alg in ("ES256", "RS256"):
            token = services.signing_keys.sign({"sub": "x", "iss": settings.resolved_issuer, "exp": 9_999_999_999}, alg)
            kid = jwt.get_unverified_header(token)["kid"]
            public = jwt.PyJWK(published[kid]).key  # an independent check against the published JWKS
            assert jwt.decode(token, public, algorithms=[alg])["sub"] == "x"
        with pytest.raises(ConfigurationError, match="never exported"):
            services.signing_keys._private_key(rows[0]).private_bytes(None, None, None)
        checkpoint = services.audit_log.checkpoint()
        assert services.audit_log.check_note(checkpoint.note).size == checkpoint.tree_size
    finally:
        services.close()


def test_rotate_reencrypt_and_rewrap_under_a_new_master_key_keep_every_template(enrolled, softhsm):
    settings, keys, uin = enrolled
    services = build_services(settings, open_gallery=False)
    try:
        old_key = services.keyring.active
        services.keyring.rotate()
        with services.sessions.begin() as session:
            assert reencrypt_all(services.keyring, session) >= 1
        services.keyring.retire(old_key)
    finally:
        services.close()
    old_master, new_master = settings.pkcs11_master_key_label, "master-" + secrets.token_hex(4)
    env = {
        "CIVID_DATA_DIR": str(settings.data_dir),
        "CIVID_PKCS11_MODULE": str(softhsm.module),
        "CIVID_PKCS11_TOKEN_LABEL": softhsm.token,
        "CIVID_PKCS11_PIN_FILE": str(softhsm.pin_file),
        "CIVID_PKCS11_MASTER_KEY_LABEL": old_master,
    }
    get_settings.cache_clear()
    result = CliRunner().invoke(
        app, ["keys", "rewrap", "--to", new_master, "--retire-old"], env=env, terminal_width=200
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "1 data keys re-wrapped" in said and "no template was decrypted" in said
    assert json.loads(settings.resolved_template_keys_file.read_text())["wrapped_by"] == new_master

    shutil.rmtree(settings.gallery_dir)  # the next start rebuilds the gallery: every template is decrypted
    again = build_services(settings)
    try:
        token = open_token(softhsm.module, softhsm.token, softhsm.pin_file, None)
        assert token is not None and not token.has_master_key(old_master) and token.has_master_key(new_master)
        with TestClient(create_app(services=again)) as client:
            second = enrol(client, keys.officer, ["obama_2010_blue_room.jpg"])
            assert second.json()["status"] == "pending_adjudication", second.text
            assert uin in {candidate["uin"] for candidate in second.json()["candidates"]}
        with again.sessions() as session:
            actions = set(session.scalars(select(AuditEvent.action)))
        assert "keys.ring_rewrapped" in actions
    finally:
        again.close()


def test_a_stolen_data_folder_without_the_token_opens_nothing(enrolled, tmp_path: Path, softhsm):
    settings, _keys, _uin = enrolled
    stolen = tmp_path / "stolen"
    shutil.copytree(settings.data_dir, stolen)
    with pytest.raises(ConfigurationError, match="lives in a PKCS#11 token"):
        build_services(Settings(data_dir=stolen))
    with pytest.raises(ConfigurationError, match="wrapped by the HSM master key"):
        KeyRing.load_or_create(stolen / "keys" / "template-keys.json")
    with pytest.raises(ConfigurationError, match="holds no (signing|master) key"):
        build_services(hsm_settings(stolen, softhsm, token=softhsm.other))
    other = open_token(softhsm.module, softhsm.other, softhsm.pin_file, None)
    with pytest.raises(ConfigurationError, match="holds no master key"):
        KeyRing.load_or_create(stolen / "keys" / "template-keys.json", other, "any")
    # The file's blobs are not the keys: none of them opens a stored template.
    import sqlite3

    ring = json.loads((stolen / "keys" / "template-keys.json").read_text())
    with sqlite3.connect(stolen / "civid.db") as db:
        nonce, ciphertext = db.execute("SELECT nonce, ciphertext FROM face_templates LIMIT 1").fetchone()
    for blob in ring["keys"].values():
        for candidate in (base64.b64decode(blob)[12:44], base64.b64decode(blob)[-32:]):
            with pytest.raises(InvalidTag):
                AESGCM(candidate).decrypt(nonce, ciphertext, None)
