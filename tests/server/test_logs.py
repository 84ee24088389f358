"""Structured logs: JSON lines from a real ``civid serve``, each request's id answered to the caller and written
into its log lines and audit events, and no secret of any kind in the log — fed through the running service
(API keys, bearer tokens, codes and tokens in query strings, client secrets, document numbers, photos), then
grepped for; and the redaction filter itself on every shape of secret."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import httpx

from civid.log_format import REDACTED, JsonFormatter, RedactingFilter, redact
from tests.conftest import document, fixture_bytes, person
from tests.server import ServerProcess

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


def test_the_filter_blanks_every_shape_of_secret_and_keeps_what_it_was():
    photo = base64.b64encode(fixture_bytes("obama_2012_portrait.jpg")[:3000]).decode()
    cases = {
        "Authorization: Bearer civid_abcdefghijklmnopqrstuvwxyz0123": "Bearer " + REDACTED,
        "an API key civid_abcdefghijklmnopqrstuvwxyz0123 was used": REDACTED,
        f"id_token_hint {JWT}": REDACTED,
        f"DPoP {JWT}": "DPoP " + REDACTED,
        "GET /cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz HTTP/1.1": "code=" + REDACTED + "&state=xyz",
        "refresh_token=8xLOxBtZp8&client_secret=hunter2hunter2": "refresh_token=" + REDACTED,
        "password=correct-horse pin=1234": "password=" + REDACTED,
        f"photo {photo}": REDACTED,
    }
    for line, kept in cases.items():
        cleaned = redact(line)
        assert kept in cleaned, (line, cleaned)
    assert "hunter2" not in redact("refresh_token=8xLOxBtZp8&client_secret=hunter2hunter2")
    # Arguments are merged before redaction: a secret passed as a %s argument does not slip through.
    record = logging.LogRecord("civid", logging.INFO, __file__, 1, "token %s", (f"Bearer {JWT}",), None)
    assert RedactingFilter().filter(record) and JWT not in record.getMessage()
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "INFO" and line["logger"] == "civid" and REDACTED in line["message"]


def test_a_served_instance_logs_json_lines_with_request_ids_and_no_secrets(tmp_path: Path):
    data = tmp_path / "var"
    server = ServerProcess(
        {"CIVID_DATA_DIR": str(data), "CIVID_LOG_FORMAT": "json", "CIVID_TRUST_REQUEST_ID": "false"},
        tmp_path / "server.log",
    ).start(timeout=120)
    secrets_fed: list[str] = []
    try:
        admin_key = (data / "admin-api-key").read_text().strip()
        secrets_fed.append(admin_key)
        admin = {"Authorization": f"Bearer {admin_key}"}
        made = httpx.post(
            server.url + "/v1/api-keys", headers=admin, json={"name": "desk", "role": "officer"}, timeout=30
        )
        assert made.status_code == 201, made.text
        officer_key = made.json()["key"]
        secrets_fed.append(officer_key)
        officer = {"Authorization": f"Bearer {officer_key}"}
        passport = "P7391046BZ"
        secrets_fed.append(passport)
        photo = fixture_bytes("obama_2012_portrait.jpg")
        enrolled = httpx.post(
            server.url + "/v1/enrolments",
            headers={**officer, "X-Request-ID": "forged-id-from-a-caller"},
            data={
                "demographics": json.dumps(person()),
                "documents": json.dumps([document(number=passport)]),
            },
            files=[("photos", ("face.jpg", photo, "image/jpeg"))],
            timeout=120,
        )
        assert enrolled.status_code == 201, enrolled.text
        request_id = enrolled.headers["x-request-id"]
        assert request_id != "forged-id-from-a-caller" and len(request_id) == 32  # not trusted without a proxy
        # Codes and tokens in a query string (what uvicorn's access log prints), a client secret and a DPoP-shaped
        # JWT in headers, a refresh token in a form, a bad request that echoes its input.
        code, refresh = "Q3xbdH7auth-code-9941", "rt-8f2a9c1e77d04b6a"
        secrets_fed += [code, refresh, "s3cr3t-client-pass", JWT]
        httpx.get(server.url + f"/callback?code={code}&refresh_token={refresh}", timeout=30)
        httpx.post(
            server.url + "/token",
            auth=("portal", "s3cr3t-client-pass"),
            headers={"DPoP": JWT},
            data={"grant_type": "refresh_token", "refresh_token": refresh},
            timeout=30,
        )
        echoed = httpx.post(
            server.url + "/v1/api-keys", headers=admin, json={"name": refresh, "role": "no"}, timeout=30
        )
        assert echoed.status_code == 422
        auditor = httpx.post(
            server.url + "/v1/api-keys", headers=admin, json={"name": "a", "role": "auditor"}, timeout=30
        )
        events = httpx.get(
            server.url + "/v1/audit/events",
            headers={"Authorization": f"Bearer {auditor.json()['key']}"},
            params={"action": "enrolment.issued"},
            timeout=30,
        ).json()
    finally:
        server.stop()
    log = server.log_path.read_text()
    # The request's id is in its audit event and in its log line (uvicorn's access log), as the caller got it.
    assert [event["detail"]["request_id"] for event in events] == [request_id]
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert lines and len(lines) >= len([line for line in log.splitlines() if line.strip()]) - 2, log[-3000:]
    assert any(line.get("request_id") == request_id and "/v1/enrolments" in line["message"] for line in lines)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    photo_b64 = base64.b64encode(photo).decode()
    for secret in [*secrets_fed, photo_b64[100:160]]:
        assert secret not in log, f"{secret[:12]}… is in the log"
    assert "/callback?code=" + REDACTED in log  # the access log line is there, its code blanked
