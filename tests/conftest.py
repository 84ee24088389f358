"""Shared fixtures: a real service (SQLite in a temp folder, real dlib models, real FAISS, real AES)
behind FastAPI's TestClient, with one API key per role."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from civid.audit import SYSTEM
from civid.auth import create_api_key
from civid.settings import Settings
from server.app import create_app
from server.services import Services, build_services

# One definition for the whole session (a session fixture imported into several modules would start one server each).
from tests.milvus import milvus_prefix, milvus_uri  # noqa: F401 - fixtures

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def person(**overrides: object) -> dict:
    """Demographics an officer would type (overridable per test)."""
    data = {
        "given_name": "María José",
        "family_name": "Ñúñez",
        "date_of_birth": "1988-03-14",
        "sex": "F",
        "place_of_birth": "Orange Walk Town, Belize",
        "nationality": "BLZ",
        "address": {"line1": "12 Albert Street", "locality": "Belize City", "district": "Belize", "country": "BLZ"},
        "phone": "+501 610 1234",
        "email": "maria@example.bz",
    }
    data.update(overrides)
    return data


def document(**overrides: object) -> dict:
    """An identity document an officer examined (the ``documents`` field of an enrolment), overridable."""
    from datetime import date, timedelta

    today = date.today()  # relative dates: the default document never expires under the tests
    data = {
        "type": "passport",
        "number": "P0123 4567",
        "issuer": {"name": "Immigration Department", "country": "BLZ"},
        "date_of_issuance": (today - timedelta(days=400)).isoformat(),
        "date_of_expiry": (today + timedelta(days=3000)).isoformat(),
        "check_methods": ["vpip", "pvp"],
    }
    data.update(overrides)
    return data


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def load_rgb(name: str) -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / name).convert("RGB"))


@dataclass
class Keys:
    officer: dict[str, str]
    officer2: dict[str, str]
    adjudicator: dict[str, str]
    auditor: dict[str, str]
    admin: dict[str, str]


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path / "var", **overrides)


def add_keys(services: Services) -> Keys:
    secrets = {}
    with services.sessions.begin() as session:
        for name, role in (
            ("officer", "officer"),
            ("officer2", "officer"),
            ("adjudicator", "adjudicator"),
            ("auditor", "auditor"),
            ("admin", "admin"),
        ):
            _, secret = create_api_key(session, f"test {name}", role, SYSTEM)
            secrets[name] = {"Authorization": f"Bearer {secret}"}
    return Keys(**secrets)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    yield built
    built.close()


@pytest.fixture
def keys(services: Services) -> Keys:
    return add_keys(services)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services), raise_server_exceptions=False) as test_client:
        yield test_client


def enrol(
    client: TestClient,
    headers: dict,
    photos: list[str | tuple[str, bytes, str]],
    *,
    fingers: dict[int, bytes] | None = None,
    finger_exceptions: list[dict] | None = None,
    finger_record: bytes | None = None,
    documents: list[dict] | None = None,
    **demographics: object,
):
    """POST an enrolment; photos are fixture names or (filename, bytes, content type); fingers are PNG bytes
    by finger position; finger_exceptions as the API takes them; finger_record an ISO 19794-2 record;
    documents the identity documents checked (``document()`` makes one)."""
    data = {"demographics": json.dumps(person(**demographics))}
    if documents is not None:
        data["documents"] = json.dumps(documents)
    files = [("fingers", (f"finger-{position}.png", image, "image/png")) for position, image in (fingers or {}).items()]
    if fingers:
        data["finger_positions"] = json.dumps(list(fingers))
    if finger_exceptions:
        data["finger_exceptions"] = json.dumps(finger_exceptions)
    if finger_record is not None:
        files.append(("finger_record", ("legacy.iso", finger_record, "application/octet-stream")))
    for photo in photos:
        if isinstance(photo, str):
            kind = "image/png" if photo.endswith(".png") else "image/jpeg"
            files.append(("photos", (photo, fixture_bytes(photo), kind)))
        else:
            files.append(("photos", photo))
    return client.post("/v1/enrolments", headers=headers, data=data, files=files)


def without_request_id(detail: dict) -> dict:
    """An audit event's detail less the id of the HTTP request that wrote it (civid/request_id.py)."""
    return {key: value for key, value in detail.items() if key != "request_id"}


PROBLEM_JSON = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    """Assert an RFC 9457 problem response with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers["content-type"]
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status
    return body


def stored_counts(services: Services) -> dict[str, int]:
    """What an enrolment can leave behind: rows, templates, UINs, cases, enrolment audit events, gallery size."""
    from sqlalchemy import func, select

    from models import AuditEvent, DedupCase, Enrolment, FaceTemplate, FingerTemplate, Identity

    with services.sessions() as session:

        def count(model, *where):  # type: ignore[no-untyped-def]
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

        return {
            "enrolments": count(Enrolment),
            "templates": count(FaceTemplate),
            "identities": count(Identity),
            "cases": count(DedupCase),
            "enrolment_events": count(AuditEvent, AuditEvent.action.like("enrolment.%")),
            "gallery": len(services.gallery),
            "finger_templates": count(FingerTemplate),
            "finger_index": len(services.fingers),
        }


def build_seed(root: Path, populate):  # type: ignore[no-untyped-def]
    """Build a data folder in ``root`` once: keys, then whatever ``populate(client, keys)`` does through the
    API, then a clean shutdown. Returns (keys, populate's result); tests start from copies (``copy_seed``)
    instead of repeating the same enrolments, which are the slow part of the suite."""
    services = build_services(make_settings(root))
    keys = add_keys(services)
    try:
        with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
            result = populate(client, keys)
    finally:
        services.close()
    return keys, result


def copy_seed(seed_root: Path, tmp_path: Path) -> Settings:
    """Settings for a private copy of a seeded data folder (database, key ring, saved gallery)."""
    import shutil

    shutil.copytree(seed_root / "var", tmp_path / "var")
    return make_settings(tmp_path)


def seeded_fixtures(populate, result_name: str, **setting_overrides: object):  # type: ignore[no-untyped-def]
    """The fixtures of a module whose tests start from one seeded database: a module-scoped ``seed``, and
    per test ``settings`` (a private copy, with ``setting_overrides``), ``keys`` and ``<result_name>`` (what
    ``populate`` returned). Use: ``seed, settings, keys, history = seeded_fixtures(enrol_history, "history")``."""

    @pytest.fixture(scope="module", name="seed")
    def seed_fixture(tmp_path_factory):  # type: ignore[no-untyped-def]
        root = tmp_path_factory.mktemp(f"{populate.__name__}-seed")
        return root, *build_seed(root, populate)

    @pytest.fixture(name="settings")
    def settings_fixture(seed, tmp_path):  # type: ignore[no-untyped-def]
        return copy_seed(seed[0], tmp_path).model_copy(update=setting_overrides)

    @pytest.fixture(name="keys")
    def keys_fixture(seed):  # type: ignore[no-untyped-def]
        return seed[1]

    @pytest.fixture(name=result_name)
    def result_fixture(seed):  # type: ignore[no-untyped-def]
        return seed[2]

    return seed_fixture, settings_fixture, keys_fixture, result_fixture
