"""``civid card verify`` and the check behind it: a photo of the QR read by OpenCV, the signature checked against
this civid's keys or a verifier's copy of the key set, and the card's bit read from the signed status list."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

import cbor2
import segno
from typer.testing import CliRunner

from civid.actor import Actor
from credentials import base45, status
from credentials.card_check import check, keys_from_jwks
from credentials.claim169 import CardHolder, encode
from models import Identity, utcnow
from server.cli import app

ADMIN = Actor(None, "registrar", "admin")
PHOTO = b"\xff\xd8\xff\xe0" + b"small face" * 40


def _card(services, revoked: bool = False) -> str:  # type: ignore[no-untyped-def]
    now = utcnow()
    with services.sessions.begin() as db:
        identity = Identity(uin="4058075267", status="active")
        db.add(identity)
        db.flush()
        row = status.allocate(
            db,
            services.settings.status_list_size,
            identity_id=identity.id,
            kind="card",
            claims=["family_name"],
            expires_at=now + timedelta(days=3650),
        )
        text = encode(
            CardHolder(id="4058075267", full_name="Barack Obama", sex="M", photo=PHOTO),
            issuer=services.settings.resolved_issuer,
            card_number="BZ0000001",
            issued_at=now,
            expires_at=now + timedelta(days=3650),
            status=status.reference(services.settings.resolved_issuer, row),
            keys=services.credential_keys,
        )
        if revoked:
            status.revoke(db, row, "lost", ADMIN)
    return text


def _env(services) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "CIVID_DATA_DIR": str(services.settings.data_dir),
        "CIVID_DATABASE_URL": services.settings.resolved_database_url,
        "COLUMNS": "200",
    }


def _fetch_from(client, services):  # type: ignore[no-untyped-def]
    issuer = services.settings.resolved_issuer
    return lambda uri: client.get(uri.removeprefix(issuer)).text


def test_a_photo_of_the_qr_verifies_offline_with_this_civids_keys_and_gives_the_photo(services, tmp_path):
    text = _card(services)
    picture = tmp_path / "card-back.png"
    segno.make(text, error="m", mode="alphanumeric").save(picture, scale=4, border=4)
    photo = tmp_path / "face.jpg"
    result = CliRunner().invoke(
        app, ["card", "verify", str(picture), "--offline", "--photo-out", str(photo), "--json"], env=_env(services)
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert (
        shown["signature"] == "valid" and shown["full_name"] == "Barack Obama" and shown["card_number"] == "BZ0000001"
    )
    assert shown["key_id"] == services.credential_keys.active_kid()
    assert shown["revocation"] == "unknown" and "offline" in shown["revocation_detail"]
    assert photo.read_bytes() == PHOTO


def test_a_verifier_key_set_verifies_and_a_changed_qr_is_refused(client, services, tmp_path):
    text = _card(services)
    key_set = tmp_path / "credential-keys.json"
    key_set.write_text(client.get("/v1/credentials/jwks.json").text)
    good = tmp_path / "qr.txt"
    good.write_text(text)
    runner = CliRunner()
    ok = runner.invoke(app, ["card", "verify", str(good), "--jwks", str(key_set), "--offline"], env=_env(services))
    assert ok.exit_code == 0 and "Barack Obama" in ok.output
    cose = cbor2.loads(zlib.decompress(base45.decode(text)))
    protected, _, payload, signature = cose.value
    forged = payload.replace(b"Barack Obama", b"Barack Obamo")
    bad = tmp_path / "forged.txt"
    bad.write_text(base45.encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, forged, signature])))))
    refused = runner.invoke(app, ["card", "verify", str(bad), "--jwks", str(key_set), "--offline"], env=_env(services))
    assert refused.exit_code == 1 and "INVALID" in refused.output and "forged" in refused.output
    unusable = runner.invoke(app, ["card", "verify", str(tmp_path / "missing.png")], env=_env(services))
    assert unusable.exit_code == 2 and "not a file" in unusable.output


def test_online_the_signed_status_list_says_the_card_is_valid(client, services):
    find_key = keys_from_jwks(client.get("/v1/credentials/jwks.json").json())
    valid = check(_card(services), find_key, _fetch_from(client, services))
    assert valid.accepted and valid.revocation.state == "valid"


def test_online_a_card_reported_lost_is_refused_and_offline_it_cannot_be_known(client, services):
    find_key = keys_from_jwks(client.get("/v1/credentials/jwks.json").json())
    text = _card(services, revoked=True)
    online = check(text, find_key, _fetch_from(client, services))
    assert online.verification.valid and online.revocation.state == "revoked" and not online.accepted
    # Offline a verifier can check the signature only: the card's loss shows at the next sync (docs/card-verifier.md).
    offline = check(text, find_key, None)
    assert offline.accepted and offline.revocation.state == "unknown"
    unreachable = check(text, find_key, lambda uri: (_ for _ in ()).throw(OSError("no route to host")))
    assert unreachable.revocation.state == "unknown" and "unreachable" in unreachable.revocation.detail
