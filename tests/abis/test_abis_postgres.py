"""The ABIS on PostgreSQL: migration 0019's tables, racing inserts of one referenceId (the unique key decides,
the others get reason 10), and identify and delete over the same rows."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from abis.operations import Abis
from civid.audit import SYSTEM
from models import AbisReference, AbisTemplate
from server.services import build_services
from tests.abis.mosip import cbeff, data_share, face_bir, message
from tests.conftest import make_settings
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture


@pytest.mark.postgres
def test_racing_inserts_of_one_reference_store_it_once_and_identify_works_on_postgres(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    with data_share() as share:
        settings = make_settings(
            tmp_path,
            database_url=postgres_schema_url,
            abis_datashare_urls=[share.prefix],
            abis_datashare_allow_private=True,
        )
        services = build_services(settings)
        try:
            abis = Abis(settings, services.sessions, services.keyring, services.faces, services.fusion)
            raced = str(uuid.uuid4())
            url = share.publish(cbeff(face_bir("obama_2012_portrait.jpg")))
            answers: list[dict] = []
            start = threading.Barrier(4)

            def insert() -> None:
                start.wait()
                answers.append(abis.handle(message("insert", referenceId=raced, referenceURL=url), SYSTEM))

            threads = [threading.Thread(target=insert) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            outcomes = sorted((a["returnValue"], a.get("failureReason")) for a in answers)
            assert outcomes == [("1", None)] + [("2", "10")] * 3
            with services.sessions() as session:
                assert session.scalar(select(func.count()).select_from(AbisReference)) == 1
                assert session.scalar(select(func.count()).select_from(AbisTemplate)) == 1

            mate = str(uuid.uuid4())
            second = share.publish(cbeff(face_bir("obama_2010_blue_room.jpg")))
            assert abis.handle(message("insert", referenceId=mate, referenceURL=second), SYSTEM)["returnValue"] == "1"
            found = abis.handle({**message("identify", referenceId=mate), "gallery": None, "flags": None}, SYSTEM)
            assert [c["referenceId"] for c in found["candidateList"]["candidates"]] == [raced]
            assert abis.handle(message("delete", referenceId=raced), SYSTEM)["returnValue"] == "1"
            assert abis.handle(message("referenceCount"), SYSTEM)["count"] == "1"
        finally:
            services.close()
