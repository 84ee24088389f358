"""An Idempotency-Key stands for one request: the same request again gets the first result, another request
under the same key is refused with a 422 naming the key (draft-ietf-httpapi-idempotency-key-header §2.7),
and an empty key is refused rather than read as "no key"."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, update

from models import Enrolment, Identity
from tests.conftest import assert_problem, document, enrol, fixture_bytes, person


def _keyed(keys, key: str) -> dict:  # type: ignore[no-untyped-def]
    return {**keys.officer, "Idempotency-Key": key}


def _count(services, model) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_same_request_again_returns_the_first_enrolment_even_with_its_json_reformatted(client, keys, services):
    first = enrol(
        client, _keyed(keys, "desk3-000123"), ["obama_2012_portrait.jpg"], family_name="Obama", documents=[document()]
    )
    assert first.status_code == 201, first.text
    # The same person, fields in another order and indented: the same request.
    demographics = json.dumps(dict(reversed(list(person(family_name="Obama").items()))), indent=2)
    again = client.post(
        "/v1/enrolments",
        headers=_keyed(keys, "desk3-000123"),
        data={"demographics": demographics, "documents": json.dumps([document()], indent=1)},
        files=[("photos", ("renamed.jpg", fixture_bytes("obama_2012_portrait.jpg"), "image/jpeg"))],
    )
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["uin"] == first.json()["uin"]
    assert _count(services, Enrolment) == 1


@pytest.mark.parametrize("change", ["other person", "other names", "other photo", "other document"])
def test_another_request_under_a_used_key_is_refused_naming_the_key(client, keys, services, change):
    first = enrol(
        client,
        _keyed(keys, "desk3-000124"),
        ["obama_2012_portrait.jpg"],
        given_name="Barack",
        family_name="Obama",
        documents=[document()],
    ).json()
    photo, names, documents = "obama_2012_portrait.jpg", {"given_name": "Barack", "family_name": "Obama"}, [document()]
    if change == "other person":
        photo, names = "biden_2010_blue_room.jpg", {"given_name": "Joseph", "family_name": "Biden"}
    elif change == "other names":
        names = {"given_name": "Barry", "family_name": "Obama"}
    elif change == "other photo":
        photo = "obama_2010_blue_room.jpg"
    else:
        documents = [document(number="P9999 0000")]
    refused = enrol(client, _keyed(keys, "desk3-000124"), [photo], documents=documents, **names)
    body = assert_problem(refused, 422)
    assert body["type"] == "https://civid.dev/problems/idempotency-key-reused"
    assert "desk3-000124" in body["detail"] and body["idempotency_key"] == "desk3-000124"
    assert _count(services, Enrolment) == 1 and _count(services, Identity) == 1
    with services.sessions() as session:
        stored = session.scalars(select(Enrolment)).one()
        assert (stored.public_id, stored.given_name) == (first["id"], "Barack")


def test_a_key_is_the_officers_own_another_officer_may_use_the_same_one(client, keys, services):
    enrol(client, _keyed(keys, "desk3-000125"), ["obama_2012_portrait.jpg"], family_name="Obama")
    other = enrol(
        client,
        {**keys.officer2, "Idempotency-Key": "desk3-000125"},
        ["biden_2010_blue_room.jpg"],
        given_name="Joseph",
        family_name="Biden",
    )
    assert other.status_code == 201 and other.json()["status"] == "issued"
    assert _count(services, Identity) == 2


@pytest.mark.parametrize("key", ["", " ", "\t \t"])
def test_an_empty_or_blank_key_is_refused_and_nothing_is_stored(client, keys, services, key):
    refused = enrol(client, _keyed(keys, key), ["obama_2012_portrait.jpg"], family_name="Obama")
    body = assert_problem(refused, 422)
    assert "Idempotency-Key" in body["detail"]
    assert _count(services, Enrolment) == 0


def test_a_rejected_enrolment_is_replayed_as_rejected_and_not_taken_for_another_request(client, keys, services):
    import numpy as np

    from tests.conftest import jpeg_bytes

    blank = ("blank.jpg", jpeg_bytes(np.full((400, 400, 3), 128, np.uint8)), "image/jpeg")
    first = enrol(client, _keyed(keys, "desk3-000126"), [blank], family_name="Obama")
    assert first.status_code == 201 and first.json()["status"] == "rejected", first.text
    again = enrol(client, _keyed(keys, "desk3-000126"), [blank], family_name="Obama")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    retaken = enrol(client, _keyed(keys, "desk3-000126"), ["obama_2012_portrait.jpg"], family_name="Obama")
    assert_problem(retaken, 422)  # a retaken photo is a new request: it needs a new key
    assert _count(services, Enrolment) == 1


def test_an_enrolment_stored_before_request_digests_is_replayed_as_before(client, keys, services):
    """Rows from before migration 0011 have no digest: their key keeps answering with the stored result."""
    first = enrol(client, _keyed(keys, "desk3-000127"), ["obama_2012_portrait.jpg"], family_name="Obama").json()
    with services.sessions.begin() as session:
        session.execute(update(Enrolment).values(request_digest=None))
    again = enrol(client, _keyed(keys, "desk3-000127"), ["biden_2010_blue_room.jpg"], family_name="Biden")
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    assert _count(services, Enrolment) == 1
