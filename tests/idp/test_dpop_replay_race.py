"""One DPoP proof sent at the same moment to two civid instances sharing one database (two processes of one
deployment): exactly one accepts it, on SQLite and on the real PostgreSQL server (RFC 9449 §11.1)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from civid.audit import SYSTEM
from civid.settings import Settings
from idp import clients
from server.app import create_app
from server.services import build_services
from tests.idp.conftest import REDIRECT_URI, basic, pkce_pair
from tests.idp.dpop_keys import DpopKey
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture

RACERS = 6  # requests, alternately to the two instances


def _race(tmp_path: Path, database_url: str) -> None:
    shared = {"database_url": database_url, "template_keys_file": tmp_path / "template-keys.json"}
    first = build_services(Settings(data_dir=tmp_path / "a", **shared))  # type: ignore[arg-type]
    second = build_services(Settings(data_dir=tmp_path / "b", **shared))  # type: ignore[arg-type]
    try:
        with first.sessions.begin() as db:
            row, secret = clients.register(
                db, clients.ClientMetadata(name="Bank", redirect_uris=[REDIRECT_URI]), SYSTEM
            )
            client_id = row.client_id
        assert secret is not None
        _, challenge = pkce_pair()
        form = {
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid",
            "nonce": "n",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        # Both instances are one issuer (they stand behind one name), so one proof names both.
        proof = DpopKey().proof("POST", first.settings.resolved_issuer + "/par")
        with (
            TestClient(create_app(services=first)) as one,
            TestClient(create_app(services=second)) as other,
        ):
            barrier, answers = threading.Barrier(RACERS), [None] * RACERS

            def push(index: int) -> None:
                barrier.wait()
                answers[index] = (one if index % 2 else other).post(
                    "/par", data=form, headers={**basic(client_id, secret), "DPoP": proof}
                )

            threads = [threading.Thread(target=push, args=(i,)) for i in range(RACERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        statuses = sorted(answer.status_code for answer in answers)  # type: ignore[union-attr]
        assert statuses == [201] + [400] * (RACERS - 1), [a.text for a in answers]  # type: ignore[union-attr]
        refused = [a.json() for a in answers if a.status_code == 400]  # type: ignore[union-attr]
        assert {body["error"] for body in refused} == {"invalid_dpop_proof"}
    finally:
        first.close()
        second.close()


def test_one_proof_raced_to_two_instances_on_sqlite_is_accepted_once(tmp_path: Path) -> None:
    _race(tmp_path, f"sqlite:///{tmp_path / 'shared.db'}")


@pytest.mark.postgres
def test_one_proof_raced_to_two_instances_on_postgres_is_accepted_once(tmp_path: Path, postgres_schema_url: str):
    _race(tmp_path, postgres_schema_url)
