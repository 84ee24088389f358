"""/metrics and /readyz: the scrape token, counters that move with real requests and logins, the gauges read
from the database at scrape time, route templates (never a UIN) as labels, and readiness apart from liveness."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.services import build_services
from tests.conftest import assert_problem, enrol, seeded_fixtures
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO, enrol_people, fresh_photo, login_with_face

seed, settings, keys, people = seeded_fixtures(enrol_people, "people")


def scrape(client: TestClient, services) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    token = services.settings.resolved_metrics_token_file.read_text().strip()  # made at start
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_the_scrape_token(client: TestClient, services):  # type: ignore[no-untyped-def]
    token_file = services.settings.resolved_metrics_token_file
    assert token_file.is_file() and token_file.stat().st_mode & 0o777 == 0o600  # made at the first start
    assert_problem(client.get("/metrics"), 401)
    assert_problem(client.get("/metrics", headers={"Authorization": "Bearer not-the-token"}), 401)
    assert_problem(client.get("/metrics", headers={"Authorization": f"Basic {token_file.read_text().strip()}"}), 401)
    assert (
        client.get("/metrics", headers={"Authorization": f"Bearer {token_file.read_text().strip()}"}).status_code == 200
    )


def test_counters_and_gauges_follow_requests_logins_and_enrolments(client: TestClient, services, keys, people):  # type: ignore[no-untyped-def]
    before = scrape(client, services)
    route = "/v1/identities/{uin}"
    assert client.get(f"/v1/identities/{people.obama.uin}", headers=keys.officer).status_code == 200
    assert client.get("/v1/identities/000000000000", headers=keys.officer).status_code in (404, 422)
    assert login_with_face(client, "/login", people.obama.uin, fresh_photo(BIDEN_PHOTO)).status_code == 403
    assert login_with_face(client, "/login", people.biden.uin, fresh_photo(BIDEN_PHOTO)).status_code == 303
    issued = enrol(client, keys.officer, ["collins_nasa_portrait.png"], given_name="Michael", family_name="Collins")
    assert issued.status_code == 201 and issued.json()["status"] == "issued"
    after = scrape(client, services)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("civid_http_requests_total", method="GET", route=route, status="200") == 1
    assert moved("civid_http_request_duration_seconds_count", method="GET", route=route) == 2
    assert not any(people.obama.uin in str(labels) for _, labels in after)  # templates, never raw paths
    assert moved("civid_logins_total", method="face", outcome="failed") == 1
    assert moved("civid_logins_total", method="face", outcome="succeeded") == 1
    assert moved("civid_audit_events_total", action="enrolment.issued") == 1
    assert moved("civid_enrolments", status="issued") == 1
    assert value(after, "civid_identities", status="active") == value(before, "civid_identities", status="active") + 1
    pid = next(dict(labels)["pid"] for name, labels in after if name == "civid_gallery_templates")
    assert moved("civid_gallery_templates", gallery="face", pid=pid) == 1
    assert value(after, "civid_gallery_lag_ids", gallery="face", pid=pid) == 0
    assert value(after, "civid_key_age_seconds", key="oidc_signing") > 0
    assert value(after, "civid_key_age_seconds", key="template_key_ring") >= 0
    assert ("civid_audit_unsequenced_events", ()) in after and ("civid_backchannel_logout_backlog", ()) in after
    assert value(after, "civid_dedup_oldest_queued_seconds") == 0


def test_lockouts_are_counted(client: TestClient, services, people):  # type: ignore[no-untyped-def]
    before = scrape(client, services)
    for _ in range(services.settings.login_max_failures_per_identity):
        login_with_face(client, "/login", people.obama.uin, fresh_photo(BIDEN_PHOTO))
    assert login_with_face(client, "/login", people.obama.uin, fresh_photo(OBAMA_PHOTO)).status_code == 429
    after = scrape(client, services)
    assert (
        value(after, "civid_login_lockouts_total", method="face")
        - value(before, "civid_login_lockouts_total", method="face")
        == 1
    )


def test_readiness_is_apart_from_liveness(client: TestClient, services, settings):  # type: ignore[no-untyped-def]
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
    assert set(ready.json()["checks"]) >= {"database", "signing_keys", "template_keys", "face_gallery"}
    # A process whose galleries are not loaded is alive but must not get enrolments yet.
    unloaded = build_services(settings, open_gallery=False)
    try:
        with TestClient(create_app(services=unloaded), raise_server_exceptions=False) as cold:
            assert cold.get("/healthz").status_code == 200
            problem = assert_problem(cold.get("/readyz"), 503)
            assert problem["checks"]["face_gallery"] == "not loaded" and "face_gallery" in problem["detail"]
            unloaded.engine.dispose()  # and a database that no longer answers
            unloaded.settings.data_dir.joinpath("civid.db").unlink()
            unloaded.settings.data_dir.joinpath("civid.db").mkdir()
            gone = assert_problem(cold.get("/readyz"), 503)
            assert gone["checks"]["database"].startswith("unreachable")
    finally:
        unloaded.audit_log.stop()
        unloaded.engine.dispose()
