"""Two uses of one refresh token at the same moment, through two civid processes on one PostgreSQL database: exactly
one gets new tokens, and the other is a reuse that revokes the family — so the winner's new tokens die too."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from models import Identity
from server.services import build_services
from tests.conftest import enrol
from tests.idp.conftest import Citizen, basic, issue_code, register_client
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture
from tests.server import postgres_nodes

pytestmark = pytest.mark.postgres
ROUNDS = 4


def test_concurrent_refreshes_with_one_token_on_two_processes_let_exactly_one_through(
    tmp_path: Path, postgres_schema_url: str
):
    with postgres_nodes(tmp_path, postgres_schema_url) as (settings, keys, servers):
        https = [httpx.Client(base_url=server.url, timeout=60) for server in servers]
        enrolled = enrol(https[0], keys.officer, ["obama_2012_portrait.jpg"], family_name="Obama")
        assert enrolled.status_code == 201, enrolled.text
        services = build_services(settings, open_gallery=False)
        try:
            with services.sessions() as db:
                uin = enrolled.json()["uin"]
                citizen = Citizen(uin, db.scalars(select(Identity.id).where(Identity.uin == uin)).one())
            client_id, secret = register_client(services)
            assert secret is not None
            for _ in range(ROUNDS):
                issued = issue_code(services, client_id, citizen)
                tokens = https[0].post(
                    "/token",
                    data={
                        "grant_type": "authorization_code",
                        "code": issued.code,
                        "redirect_uri": issued.redirect_uri,
                        "code_verifier": issued.verifier,
                    },
                    headers=basic(client_id, secret),
                )
                assert tokens.status_code == 200, tokens.text
                refresh_token = tokens.json()["refresh_token"]
                barrier, answers = threading.Barrier(2), [httpx.Response(0)] * 2

                def use(
                    index: int,
                    token: str = refresh_token,
                    barrier: threading.Barrier = barrier,
                    answers: list[httpx.Response] = answers,
                ) -> None:
                    barrier.wait()
                    answers[index] = https[index].post(
                        "/token",
                        data={"grant_type": "refresh_token", "refresh_token": token},
                        headers=basic(client_id, secret),
                    )

                racers = [threading.Thread(target=use, args=(i,)) for i in range(2)]
                for racer in racers:
                    racer.start()
                for racer in racers:
                    racer.join(60)
                statuses = sorted(answer.status_code for answer in answers)
                assert statuses == [200, 400], [answer.text for answer in answers]
                loser = next(answer for answer in answers if answer.status_code == 400)
                assert loser.json()["error"] == "invalid_grant", loser.text
                winner = next(answer for answer in answers if answer.status_code == 200).json()
                # The reuse revoked the family: the winner's new refresh and access tokens are dead as well.
                again = https[1].post(
                    "/token",
                    data={"grant_type": "refresh_token", "refresh_token": winner["refresh_token"]},
                    headers=basic(client_id, secret),
                )
                assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text
                userinfo = https[0].get("/userinfo", headers={"Authorization": f"Bearer {winner['access_token']}"})
                assert userinfo.status_code == 401, userinfo.text
        finally:
            services.engine.dispose()
            for http in https:
                http.close()
