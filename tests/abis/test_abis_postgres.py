"""The ABIS on PostgreSQL: migration 0019's tables, racing inserts of one referenceId (the unique key decides,
the others get reason 10), and identify and delete over the same rows."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from abis.cbeff import parse
from abis.extraction import extract
from abis.operations import Abis
from abis.references import seal_templates
from civid.audit import SYSTEM
from models import AbisReference, AbisTemplate
from server.services import Services, build_services
from tests.abis.mosip import cbeff, data_share, face_bir, message
from tests.conftest import make_settings
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture


@contextmanager
def abis_on_postgres(tmp_path: Path, url: str) -> Iterator[tuple[Any, Services, Abis]]:
    """A data share, the services on the PostgreSQL schema ``url`` and an Abis over them (closed after)."""
    with data_share() as share:
        settings = make_settings(
            tmp_path, database_url=url, abis_datashare_urls=[share.prefix], abis_datashare_allow_private=True
        )
        services = build_services(settings)
        try:
            yield share, services, Abis(settings, services.sessions, services.keyring, services.faces, services.fusion)
        finally:
            services.close()


@pytest.mark.postgres
def test_racing_inserts_of_one_reference_store_it_once_and_identify_works_on_postgres(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    with abis_on_postgres(tmp_path, postgres_schema_url) as (share, services, abis):
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


@pytest.mark.postgres
def test_a_reference_committed_after_a_later_one_is_still_found_by_another_process(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    """Inserts commit without a common lock: one still open while a later one commits leaves a gap below the
    other process's watermark, which its next catch-up fills once the first commits."""
    with abis_on_postgres(tmp_path, postgres_schema_url) as (share, services, abis):
        early = str(uuid.uuid4())
        document = cbeff(face_bir("obama_2012_portrait.jpg"))
        extraction = extract(parse(document), services.faces, services.settings)
        # Another process's insert of Obama, its template id drawn, not yet committed...
        with services.sessions() as slow:
            reference = AbisReference(reference_id=early, request_id=str(uuid.uuid4()))
            slow.add(reference)
            slow.flush()
            slow.add_all(seal_templates(services.keyring, reference, extraction.templates))
            slow.flush()
            # ...while this process inserts Biden (a later id, committed first) and catches up past both.
            biden = share.publish(cbeff(face_bir("biden_2010_blue_room.jpg")))
            answer = abis.handle(message("insert", referenceId=str(uuid.uuid4()), referenceURL=biden), SYSTEM)
            assert answer["returnValue"] == "1"
            slow.commit()
        mate = str(uuid.uuid4())
        second = share.publish(cbeff(face_bir("obama_2010_blue_room.jpg")))
        assert abis.handle(message("insert", referenceId=mate, referenceURL=second), SYSTEM)["returnValue"] == "1"
        found = abis.handle({**message("identify", referenceId=mate), "gallery": None, "flags": None}, SYSTEM)
        assert [c["referenceId"] for c in found["candidateList"]["candidates"]] == [early]
