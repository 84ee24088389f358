"""Keys in an HSM (SoftHSM2 through PKCS#11): enrol, rotate, re-encrypt, re-wrap, sign and verify with every key
in the token; the key ceremonies from the command line; and a copied data folder without the token opens nothing."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import jwt
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from civid.envelope import WrappedKeyRing
from civid.errors import ConfigurationError
from civid.keyring import KeyRing, Sealed
from civid.settings import Settings, get_settings
from civid.signed_note import parse_note
from enrollment.templates import open_descriptor, reencrypt_all
from models import AuditEvent, Enrolment, FaceTemplate, SigningKey
from server.app import create_app
from server.cli import app as cli_app
from server.services import Services, build_services
from tests.civid import hsm_token
from tests.conftest import add_keys, enrol
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture


@pytest.fixture(scope="session")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> hsm_token.SoftHsm:
    return hsm_token.start(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture
def hsm_settings(tmp_path: Path, hsm: hsm_token.SoftHsm) -> Settings:
    return Settings(data_dir=tmp_path / "var", **hsm.settings())  # type: ignore[arg-type]


@pytest.fixture
def hsm_services(hsm_settings: Settings) -> Iterator[Services]:
    built = build_services(hsm_settings)
    yield built
    built.close()


def _enrol_obama(services: Services) -> str:
    with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
        response = enrol(client, add_keys(services).officer, ["obama_2012_portrait.jpg"])
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _template(services: Services) -> tuple[FaceTemplate, str]:
    with services.sessions() as session:
        row = session.scalars(select(FaceTemplate)).one()
        public_id = session.scalars(select(Enrolment.public_id).where(Enrolment.id == row.enrolment_id)).one()
        session.expunge(row)
    return row, public_id


def _actions(services: Services) -> list[str]:
    with services.sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_enrol_rotate_reencrypt_and_rewrap_with_the_master_key_in_the_token(hsm_settings):
    services = build_services(hsm_settings)
    ring = services.keyring
    assert isinstance(ring, WrappedKeyRing)
    _enrol_obama(services)
    row, public_id = _template(services)
    before = open_descriptor(ring, row, public_id)

    # On disk only wrapped blobs: no data key of the ring is in the file.
    stored = json.loads(hsm_settings.resolved_template_keys_file.read_text())
    assert stored["master"] == ring.master
    blobs = [base64.b64decode(blob) for blob in stored["keys"].values()]
    assert all(len(blob) == 40 for blob in blobs)  # RFC 3394: 32-byte key + 8-byte integrity block
    assert not any(ring._keys[kid] in blob for kid in ring.key_ids for blob in blobs)

    # Rotate the data key and re-encrypt: the template and its photo move (the signing keys are in the token).
    old_kid = ring.active
    new_kid = ring.rotate()
    with services.sessions.begin() as session:
        assert reencrypt_all(ring, session) == 2
    ring.retire(old_kid)

    # Re-wrap under a new master key: the template rows are not touched.
    row, _ = _template(services)
    old_master, new_master = ring.rewrap()
    assert new_master != old_master
    after_rewrap, _ = _template(services)
    assert (after_rewrap.key_id, after_rewrap.nonce, after_rewrap.ciphertext) == (new_kid, row.nonce, row.ciphertext)
    assert ring.token.destroy(old_master) == 1
    services.close()

    # A fresh process unwraps under the new master alone and opens the template.
    restarted = build_services(hsm_settings)
    try:
        assert isinstance(restarted.keyring, WrappedKeyRing) and restarted.keyring.master == new_master
        assert restarted.keyring.key_ids == [new_kid]
        reopened, _ = _template(restarted)
        assert np.allclose(open_descriptor(restarted.keyring, reopened, public_id), before)
    finally:
        restarted.close()


def test_tokens_signed_in_the_token_verify_against_the_published_jwks(hsm_services):
    services = hsm_services
    with services.sessions() as session:
        rows = session.scalars(select(SigningKey)).all()
        assert {row.alg for row in rows} == {"ES256", "RS256"}
        # Nothing of a private key is stored: it was generated in the token and stays there.
        assert all(row.private_key_id == "pkcs11" and row.private_ciphertext == b"" for row in rows)
    issuer = services.settings.resolved_issuer
    with TestClient(create_app(services=services)) as client:
        for alg in ("ES256", "RS256"):
            token = services.signing_keys.sign({"iss": issuer, "sub": "citizen", "iat": 1}, alg=alg)
            published = client.get("/jwks.json").json()["keys"]
            header = jwt.get_unverified_header(token)
            jwk = next(key for key in published if key["kid"] == header["kid"])
            claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=[alg], issuer=issuer)
            assert claims["sub"] == "citizen" and header["alg"] == alg
            assert services.signing_keys.verify(token)["sub"] == "citizen"

        # A rotation makes the next keys in the token too; they sign at once with no lead time.
        created = {row.kid for row in services.signing_keys.rotate(lead_s=0)}
        token = services.signing_keys.sign({"iss": issuer, "sub": "after"})
        assert jwt.get_unverified_header(token)["kid"] in created
        published = client.get("/jwks.json").json()["keys"]
        jwk = next(key for key in published if key["kid"] == jwt.get_unverified_header(token)["kid"])
        assert jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"], issuer=issuer)["sub"] == "after"
        assert services.signing_keys.verify(token)["sub"] == "after"


def test_audit_checkpoints_are_signed_by_an_ed25519_key_in_the_token(hsm_services, hsm_settings):
    services = hsm_services
    keys = services.audit_log.keys
    stored = json.loads(hsm_settings.resolved_audit_key_file.read_text())
    assert stored["in_token"] is True
    assert all(len(base64.b64decode(value)) == 32 for value in stored["keys"].values())  # public halves only
    checkpoint = services.audit_log.checkpoint()
    note = parse_note(checkpoint.note)
    assert keys.verifier.verifies(note.text.encode(), note.signatures[0].signature)
    first = keys.verifier
    keys.rotate()
    signed = keys.sign("civid.test/audit\n1\nAAAA\n")
    assert keys.verifier != first and keys.verifier.verifies(signed.text.encode(), signed.signatures[0].signature)
    assert first in keys.verifiers


def test_a_copied_data_folder_without_the_token_decrypts_nothing(hsm_settings, hsm, tmp_path):
    services = build_services(hsm_settings)
    _enrol_obama(services)
    row, public_id = _template(services)
    services.close()
    stolen = tmp_path / "stolen"
    shutil.copytree(hsm_settings.data_dir, stolen)

    # Another token (the thief's own SoftHSM): the master key is not there.
    with pytest.raises(ConfigurationError, match="not in PKCS#11 token 'civid-other'"):
        build_services(Settings(data_dir=stolen, **hsm.settings(hsm_token.OTHER_TOKEN)))
    # No token at all: the process refuses in words, rather than making fresh keys beside the stolen data.
    with pytest.raises(ConfigurationError, match="live in a PKCS#11 token|wrapped by an HSM master key"):
        build_services(Settings(data_dir=stolen))
    # And the wrapped blobs, taken as keys, open no template.
    stored = json.loads((stolen / "keys" / "template-keys.json").read_text())
    for kid, blob in stored["keys"].items():
        raw = base64.b64decode(blob)
        for guess in (raw[:32], raw[8:]):
            with pytest.raises(ConfigurationError, match="failed authentication"):
                KeyRing({kid: guess}, kid).open(
                    Sealed(row.key_id, row.nonce, row.ciphertext), f"{public_id}/{row.photo_index}".encode()
                )


@pytest.fixture
def cli(tmp_path: Path, hsm: hsm_token.SoftHsm) -> Iterator:
    runner = CliRunner()

    def run(*args: str, in_token: bool = True):
        env = {"CIVID_DATA_DIR": str(tmp_path / "var")}
        if in_token:
            env |= hsm.env()
        get_settings.cache_clear()
        return runner.invoke(cli_app, list(args), env=env)

    yield run
    get_settings.cache_clear()


def test_key_ceremonies_wrap_an_existing_file_key_ring_and_rewrap_it_audited(cli, tmp_path, hsm):
    # A deployment that began with the file key ring (the default) and has a citizen enrolled.
    file_settings = Settings(data_dir=tmp_path / "var")
    services = build_services(file_settings)
    _enrol_obama(services)
    row, public_id = _template(services)
    before = open_descriptor(services.keyring, row, public_id)
    file_kid = services.keyring.active
    services.close()

    plain_refused = cli("keys", "status")
    assert plain_refused.exit_code != 0 and "hsm-create" in " ".join(plain_refused.output.split())
    created = cli("keys", "hsm-create")
    assert created.exit_code == 0, created.output
    ring_file = json.loads((tmp_path / "var" / "keys" / "template-keys.json").read_text())
    first_master = ring_file["master"]
    assert list(ring_file["keys"]) == [file_kid]  # the same data key, now wrapped
    assert cli("keys", "hsm-create").exit_code != 0  # once only

    rotated = cli("keys", "rotate-master")
    assert rotated.exit_code == 0, rotated.output
    second_master = json.loads((tmp_path / "var" / "keys" / "template-keys.json").read_text())["master"]
    assert second_master != first_master
    refused = cli("keys", "retire-master", second_master)
    assert refused.exit_code != 0 and "rotate-master" in " ".join(refused.output.split())
    retired = cli("keys", "retire-master", first_master)
    assert retired.exit_code == 0, retired.output

    services = build_services(Settings(data_dir=tmp_path / "var", **hsm.settings()))
    try:
        reopened, _ = _template(services)
        assert (reopened.nonce, reopened.ciphertext) == (row.nonce, row.ciphertext)  # never re-encrypted
        assert np.allclose(open_descriptor(services.keyring, reopened, public_id), before)
        actions = _actions(services)
    finally:
        services.close()
    for action in ("keys.master_key_created", "keys.master_key_rotated", "keys.master_key_retired"):
        assert actions.count(action) == 1, actions


def test_production_accepts_the_default_key_files_when_the_keys_are_in_a_token(hsm):
    from civid.settings_checks import production_problems

    plain = production_problems(Settings(environment="development"))
    in_token = production_problems(Settings(environment="development", **hsm.settings()))
    assert any("CIVID_TEMPLATE_KEYS_FILE" in p for p in plain) and any("CIVID_AUDIT_KEY_FILE" in p for p in plain)
    assert not any("CIVID_TEMPLATE_KEYS_FILE" in p or "CIVID_AUDIT_KEY_FILE" in p for p in in_token)
    assert any("CIVID_IDP_SECRETS_FILE" in p for p in in_token)


def test_threads_signing_at_once_share_the_token_session_and_every_token_verifies(hsm_services):
    from concurrent.futures import ThreadPoolExecutor

    issuer = hsm_services.settings.resolved_issuer

    def sign(n: int) -> str:
        return hsm_services.signing_keys.sign({"iss": issuer, "sub": f"citizen-{n}"}, alg="ES256" if n % 2 else "RS256")

    with ThreadPoolExecutor(8) as pool:
        signed = list(pool.map(sign, range(64)))
    assert [hsm_services.signing_keys.verify(token)["sub"] for token in signed] == [f"citizen-{n}" for n in range(64)]


def test_the_pkcs11_backend_without_its_module_label_or_pin_is_refused_in_words():
    from pydantic import ValidationError

    with pytest.raises(
        ValidationError, match="CIVID_KEYS_BACKEND=pkcs11 needs CIVID_PKCS11_MODULE, CIVID_PKCS11_TOKEN"
    ):
        Settings(keys_backend="pkcs11")
    with pytest.raises(ValidationError, match="needs CIVID_PKCS11_PIN_FILE or CIVID_PKCS11_PIN"):
        Settings(keys_backend="pkcs11", pkcs11_module=hsm_token.MODULE, pkcs11_token_label=hsm_token.TOKEN)


def test_a_wrong_pin_is_refused_in_words(hsm, tmp_path):
    wrong = tmp_path / "pin"
    wrong.write_text("000000\n")
    settings = Settings(data_dir=tmp_path / "var", **{**hsm.settings(), "pkcs11_pin_file": wrong})
    with pytest.raises(ConfigurationError, match="PIN of PKCS#11 token 'civid-test' is wrong"):
        build_services(settings)


def test_the_token_endpoint_issues_tokens_signed_in_the_token_that_a_relying_party_verifies(hsm_services):
    from tests.idp.conftest import enrol_citizen, issue_code, redeem, register_client

    services = hsm_services
    with TestClient(create_app(services=services)) as client:
        citizen = enrol_citizen(client, add_keys(services), given_name="Barack", family_name="Obama")
        client_id, secret = register_client(services)
        response = redeem(client, client_id, secret, issue_code(services, client_id, citizen, nonce="n-1"))
        assert response.status_code == 200, response.text
        body = response.json()
        published = {key["kid"]: key for key in client.get("/jwks.json").json()["keys"]}
        issuer = services.settings.resolved_issuer
        # What a relying party does: the key by kid from the published JWKS, nothing of civid's.
        header = jwt.get_unverified_header(body["id_token"])
        id_token = jwt.decode(
            body["id_token"], jwt.PyJWK(published[header["kid"]]).key, algorithms=["ES256"], audience=client_id
        )
        assert id_token["iss"] == issuer and id_token["nonce"] == "n-1"
        userinfo = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert userinfo.status_code == 200, userinfo.text
        assert userinfo.json()["sub"] == id_token["sub"]


def test_on_postgresql_enrolment_and_signing_work_with_every_key_in_the_token(tmp_path, hsm, postgres_schema_url):
    settings = Settings(data_dir=tmp_path / "var", database_url=postgres_schema_url, **hsm.settings())
    services = build_services(settings)
    try:
        _enrol_obama(services)
        row, public_id = _template(services)
        before = open_descriptor(services.keyring, row, public_id)
        assert isinstance(services.keyring, WrappedKeyRing)
        services.keyring.rewrap()
        token = services.signing_keys.sign({"iss": settings.resolved_issuer, "sub": "pg"})
        assert services.signing_keys.verify(token)["sub"] == "pg"
        with services.sessions() as session:
            stored = session.scalars(select(SigningKey.private_ciphertext)).all()
        assert stored and all(value == b"" for value in stored)
    finally:
        services.close()
    restarted = build_services(settings)
    try:
        reopened, _ = _template(restarted)
        assert np.allclose(open_descriptor(restarted.keyring, reopened, public_id), before)
    finally:
        restarted.close()


def test_processes_starting_together_on_a_fresh_folder_agree_on_one_wrapped_ring(tmp_path, hsm):
    import threading

    from civid.envelope import load_keyring
    from civid.pkcs11_token import Token

    token = Token.from_settings(Settings(data_dir=tmp_path, **hsm.settings()))
    path = tmp_path / "keys" / "template-keys.json"
    path.parent.mkdir()
    start = threading.Barrier(6)
    rings: list = []

    def first_start() -> None:
        start.wait()
        rings.append(load_keyring(path, token))

    threads = [threading.Thread(target=first_start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    on_disk = WrappedKeyRing.load(path, token)
    assert len(rings) == 6 and {(ring.master, ring.active) for ring in rings} == {(on_disk.master, on_disk.active)}
    sealed = rings[0].seal(b"template", b"aad")
    assert all(ring.open(sealed, b"aad") == b"template" for ring in rings[1:])
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_audit_keys_in_one_token_are_refused_with_another(hsm, tmp_path):
    from civid.audit_key import AuditKeys
    from civid.pkcs11_token import Token

    path = tmp_path / "audit-keys.json"
    ours = Token.from_settings(Settings(data_dir=tmp_path, **hsm.settings()))
    theirs = Token.from_settings(Settings(data_dir=tmp_path, **hsm.settings(hsm_token.OTHER_TOKEN)))
    made = AuditKeys.load_or_create(path, "civid.test/audit", ours)
    assert AuditKeys.load_or_create(path, "civid.test/audit", ours).verifier == made.verifier
    with pytest.raises(ConfigurationError, match="active audit key .* is not in PKCS#11 token 'civid-other'"):
        AuditKeys.load_or_create(path, "civid.test/audit", theirs)
    with pytest.raises(ConfigurationError, match="live in a PKCS#11 token"):
        AuditKeys.load_or_create(path, "civid.test/audit")
