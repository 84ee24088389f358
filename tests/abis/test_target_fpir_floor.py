"""MOSIP's targetFPIR never lowers identify's threshold to where one finger alone counts as a match: two references
sharing only one finger (two impressions of it, no face, no other finger) are not reported, however low the
targetFPIR and however small the gallery, and the threshold answered sits above the per-finger cap."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from abis.identify import threshold_for
from civid.audit import SYSTEM
from civid.auth import create_api_key
from server.app import create_app
from server.services import build_services
from tests.abis.mosip import cbeff, data_share, finger_bir, message
from tests.conftest import make_settings


@pytest.fixture
def send(tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    with data_share() as share:
        services = build_services(
            make_settings(tmp_path, abis_datashare_urls=[share.prefix], abis_datashare_allow_private=True)
        )
        with services.sessions.begin() as session:
            _, secret = create_api_key(session, "MOSIP queue bridge", "abis", SYSTEM)
        with TestClient(create_app(services=services), raise_server_exceptions=False) as client:

            def post(operation: str, **fields: Any) -> dict[str, Any]:
                if "document" in fields:
                    fields["referenceURL"] = share.publish(fields.pop("document"))
                body = {k: v for k, v in message(operation, **fields).items() if v is not None}
                response = client.post("/v1/abis", json=body, headers={"Authorization": f"Bearer {secret}"})
                assert response.status_code == 200, response.text
                return response.json()

            post.cap = services.fusion.finger_llr_cap  # type: ignore[attr-defined]
            yield post
        services.close()


def test_a_low_target_fpir_never_lets_one_finger_alone_match(send: Any) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    assert send("insert", referenceId=first, document=cbeff(finger_bir(301, 0, 2)))["returnValue"] == "1"
    assert send("insert", referenceId=second, document=cbeff(finger_bir(301, 1, 2)))["returnValue"] == "1"
    for fpir in ("0", "10"):  # bounds of LLR 0 and 1 over the one reference searched
        answer = send(
            "identify",
            referenceId=second,
            gallery={"referenceIds": [{"referenceId": first}]},
            flags={"targetFPIR": fpir},
        )
        assert answer["returnValue"] == "1", answer
        assert answer["candidateList"]["candidates"] == []
        assert float(answer["candidateList"]["analytics"]["threshold"]) > send.cap


def test_the_threshold_for_a_target_fpir_stays_above_the_finger_cap() -> None:
    assert threshold_for(0, 1, 3.5, 2.75) == pytest.approx(2.76)
    assert threshold_for(10, 100, 3.5, 2.75) == pytest.approx(3.0)  # the bound itself, once above the cap
    assert threshold_for(None, 1, 3.5, 2.75) == 3.5
