"""Deduplication cases: listing, reading and deciding them through the adjudicator API, and each case's
decision history (one CaseDecision row per decision)."""

from __future__ import annotations

from sqlalchemy import func, select

from civid.uin import verhoeff_valid
from enrollment.templates import open_descriptor
from models import AuditEvent, CaseDecision, DedupCase, Enrolment, FaceTemplate, Identity
from tests.conftest import assert_problem, enrol, seeded_fixtures


def open_a_case(client, keys) -> tuple[dict, dict]:
    """Obama enrolled (issued) by one officer, then again from another photo by another: an open case."""
    first = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama").json()
    second = enrol(
        client, keys.officer2, ["obama_2010_blue_room.jpg"], given_name="Barry", family_name="Soetoro"
    ).json()
    assert first["status"] == "issued" and second["status"] == "pending_adjudication", second
    return first, second


seed, settings, keys, opened = seeded_fixtures(open_a_case, "opened")


def decide(client, keys, case_id: str, decision: str, comment: str = "checked the birth record", **extra):
    return client.post(
        f"/v1/cases/{case_id}/decision",
        headers=keys.adjudicator,
        json={"decision": decision, "comment": comment, **extra},
    )


def change(client, keys, case_id: str, decision: str, comment: str, **extra):
    return client.post(
        f"/v1/cases/{case_id}/decision/change",
        headers=keys.adjudicator,
        json={"decision": decision, "comment": comment, **extra},
    )


def stored_decisions(services, case_id: str) -> list[CaseDecision]:
    with services.sessions() as session:
        return list(
            session.scalars(
                select(CaseDecision)
                .join(DedupCase, CaseDecision.case_id == DedupCase.id)
                .where(DedupCase.public_id == case_id)
                .order_by(CaseDecision.sequence)
            )
        )


def identity_count(services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(Identity)) or 0


def test_adjudicator_lists_open_cases_oldest_first(client, keys, opened):
    enrol(client, keys.officer, ["biden_2010_blue_room.jpg"], family_name="Biden")
    later = enrol(client, keys.officer2, ["biden_2010_blue_room.jpg"], family_name="Biden").json()
    response = client.get("/v1/cases", headers=keys.adjudicator)
    assert response.status_code == 200, response.text
    cases = response.json()
    assert [c["id"] for c in cases] == [opened[1]["case_id"], later["case_id"]]
    assert [c["enrolment_id"] for c in cases] == [opened[1]["id"], later["id"]]
    assert all(c["status"] == "open" and c["candidate_count"] == 1 for c in cases)
    assert cases[1]["best_score"] > 0.99  # the very same photo twice


def test_adjudicator_reads_a_case_with_its_candidates_and_scores(client, keys, services, opened):
    first, second = opened
    response = client.get(f"/v1/cases/{second['case_id']}", headers=keys.adjudicator)
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["status"] == "open" and case["decision"] is None
    assert case["enrolment"]["id"] == second["id"]
    assert case["enrolment"]["demographics"]["family_name"] == "Soetoro"
    [candidate] = case["candidates"]
    assert candidate["rank"] == 1
    assert candidate["uin"] == first["uin"] and candidate["enrolment_id"] == first["id"]
    assert candidate["family_name"] == "Obama"
    assert services.settings.dedup_threshold <= candidate["face_score"] <= 1.0


def test_unknown_case_is_a_404_problem(client, keys):
    assert_problem(client.get("/v1/cases/00000000-0000-0000-0000-000000000000", headers=keys.adjudicator), 404)


def test_duplicate_decision_links_to_the_existing_uin_and_drops_templates_from_the_gallery(
    client, keys, services, opened
):
    first, second = opened
    assert len(services.gallery) == 2
    with services.sessions() as session:
        row = session.scalars(select(FaceTemplate).join(Enrolment).where(Enrolment.public_id == second["id"])).one()
        probe = open_descriptor(services.keyring, row, second["id"])
        duplicate_template = row.id

    response = decide(client, keys, second["case_id"], "duplicate", "same man, known alias")
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["status"] == "decided" and case["decision"] == "duplicate"
    assert case["duplicate_of_uin"] == first["uin"]
    assert case["decided_by"] == "test adjudicator" and case["comment"] == "same man, known alias"

    enrolment = client.get(f"/v1/enrolments/{second['id']}", headers=keys.officer).json()
    assert enrolment["status"] == "duplicate" and enrolment["uin"] == first["uin"]
    assert identity_count(services) == 1
    # The duplicate's template has left the gallery: only the first enrolment's remains searchable.
    assert len(services.gallery) == 1
    assert duplicate_template not in [hit.template_id for hit in services.gallery.search(probe[None, :], 5)[0]]
    with services.sessions() as session:
        assert session.get(FaceTemplate, duplicate_template).in_gallery is False
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.decided")).one()
    assert event.subject_id == second["case_id"]
    assert event.detail["decision"] == "duplicate" and event.detail["uin"] == first["uin"]
    assert event.actor_role == "adjudicator"


def test_duplicate_may_name_the_candidate_by_uin_with_spaces(client, keys, opened):
    first, second = opened
    spaced = " ".join([first["uin"][:3], first["uin"][3:6], first["uin"][6:]])
    response = decide(client, keys, second["case_id"], "duplicate", duplicate_of=spaced)
    assert response.status_code == 200, response.text
    assert response.json()["duplicate_of_uin"] == first["uin"]


def test_not_duplicate_decision_issues_a_new_valid_uin(client, keys, services, opened):
    first, second = opened
    response = decide(client, keys, second["case_id"], "not_duplicate", "different person, checked documents")
    assert response.status_code == 200, response.text
    assert response.json()["decision"] == "not_duplicate"
    enrolment = client.get(f"/v1/enrolments/{second['id']}", headers=keys.officer).json()
    assert enrolment["status"] == "issued"
    assert enrolment["uin"] and enrolment["uin"] != first["uin"] and verhoeff_valid(enrolment["uin"])
    assert identity_count(services) == 2
    assert len(services.gallery) == 2  # both stay searchable
    assert client.get("/v1/cases", headers=keys.adjudicator).json() == []
    decided = client.get("/v1/cases", params={"status": "decided"}, headers=keys.adjudicator).json()
    assert [c["id"] for c in decided] == [second["case_id"]]


def test_deciding_a_case_twice_is_a_409_conflict(client, keys, services, opened):
    _, second = opened
    assert decide(client, keys, second["case_id"], "not_duplicate").status_code == 200
    body = assert_problem(decide(client, keys, second["case_id"], "duplicate"), 409)
    assert "already decided" in body["detail"]
    assert identity_count(services) == 2


def test_comment_shorter_than_three_characters_is_refused(client, keys, services, opened):
    _, second = opened
    body = assert_problem(decide(client, keys, second["case_id"], "not_duplicate", comment="ok"), 422)
    assert "comment" in body["detail"]
    assert client.get(f"/v1/cases/{second['case_id']}", headers=keys.adjudicator).json()["status"] == "open"


def test_duplicate_of_a_uin_that_is_not_a_candidate_is_refused(client, keys, services, opened):
    _, second = opened
    stranger = enrol(client, keys.officer, ["biden_2010_blue_room.jpg"], family_name="Biden").json()
    assert stranger["status"] == "issued"
    body = assert_problem(decide(client, keys, second["case_id"], "duplicate", duplicate_of=stranger["uin"]), 422)
    assert "not an issued candidate" in body["detail"]
    case = client.get(f"/v1/cases/{second['case_id']}", headers=keys.adjudicator).json()
    assert case["status"] == "open"
    with services.sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "case.decided")) == 0
        )


def test_duplicate_of_with_a_wrong_check_digit_is_refused(client, keys, opened):
    first, second = opened
    wrong = first["uin"][:-1] + str((int(first["uin"][-1]) + 1) % 10)
    body = assert_problem(decide(client, keys, second["case_id"], "duplicate", duplicate_of=wrong), 422)
    assert body["type"].endswith("/invalid-uin")
    assert "check digit" in body["detail"]


def test_unknown_decision_is_refused(client, keys, opened):
    _, second = opened
    assert_problem(decide(client, keys, second["case_id"], "maybe"), 422)


def test_after_not_duplicate_a_third_enrolment_of_the_same_face_lists_both_identities(client, keys, services, opened):
    first, second = opened
    assert decide(client, keys, second["case_id"], "not_duplicate").status_code == 200
    second_uin = client.get(f"/v1/enrolments/{second['id']}", headers=keys.officer).json()["uin"]

    third = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama").json()
    assert third["status"] == "pending_adjudication" and third["uin"] is None
    assert {c["uin"] for c in third["candidates"]} == {first["uin"], second_uin}
    scores = [c["face_score"] for c in third["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert third["candidates"][0]["uin"] == first["uin"]  # the very same photo ranks first
    # With two issued candidates, 'duplicate' must say which one.
    body = assert_problem(decide(client, keys, third["case_id"], "duplicate"), 422)
    assert "duplicate_of" in body["detail"]
    assert decide(client, keys, third["case_id"], "duplicate", duplicate_of=first["uin"]).status_code == 200
    assert identity_count(services) == 2


def test_a_second_applicant_while_a_case_is_open_is_caught_against_the_pending_one(client, keys, opened):
    first, second = opened
    third = enrol(client, keys.officer, ["obama_2010_blue_room.jpg"]).json()
    assert third["status"] == "pending_adjudication"
    by_enrolment = {c["enrolment_id"]: c for c in third["candidates"]}
    assert set(by_enrolment) == {first["id"], second["id"]}
    assert by_enrolment[second["id"]]["uin"] is None and by_enrolment[second["id"]]["status"] == "pending_adjudication"


def test_duplicate_decision_survives_a_gallery_rebuild(client, keys, services, opened):
    first, second = opened
    assert decide(client, keys, second["case_id"], "duplicate").status_code == 200
    assert services.gallery.rebuild() == 1
    with services.sessions() as session:
        kept = session.scalars(select(FaceTemplate.id).join(Enrolment).where(Enrolment.public_id == first["id"])).all()
    assert services.gallery.ids().tolist() == kept


def test_the_officer_who_enrolled_the_applicant_may_not_decide_the_case(services, keys, opened):
    import pytest

    from civid.audit import Actor
    from civid.errors import Forbidden
    from enrollment import adjudication
    from enrollment.schemas import DecisionIn
    from models import ApiKey

    _, second = opened
    with services.sessions() as session:
        enrolled_by = session.get(
            ApiKey, session.scalars(select(Enrolment.officer_id).where(Enrolment.public_id == second["id"])).one()
        )
    same_person = Actor(enrolled_by.id, enrolled_by.name, "adjudicator")  # e.g. a console user with both roles
    with pytest.raises(Forbidden):
        adjudication.decide(
            services, same_person, second["case_id"], DecisionIn(decision="not_duplicate", comment="looks different")
        )


def test_the_officer_who_enrolled_the_applicant_may_not_change_the_decision_either(client, services, keys, opened):
    import pytest

    from civid.audit import Actor
    from civid.errors import Forbidden
    from enrollment import decision_change
    from enrollment.schemas import DecisionIn
    from models import ApiKey

    first, second = opened
    assert decide(client, keys, second["case_id"], "not_duplicate").status_code == 200
    with services.sessions() as session:
        enrolled_by = session.get(
            ApiKey, session.scalars(select(Enrolment.officer_id).where(Enrolment.public_id == second["id"])).one()
        )
    same_person = Actor(enrolled_by.id, enrolled_by.name, "adjudicator")
    with pytest.raises(Forbidden):
        decision_change.change(
            services,
            same_person,
            second["case_id"],
            DecisionIn(decision="duplicate", comment="mine after all", duplicate_of=first["uin"]),
        )
    case = client.get(f"/v1/cases/{second['case_id']}", headers=keys.adjudicator).json()
    assert case["decision"] == "not_duplicate" and len(case["decisions"]) == 1  # nothing changed


def test_a_decision_is_changed_only_by_a_new_audited_decision_through_the_api(client, keys, services, opened):
    first, second = opened
    assert decide(client, keys, second["case_id"], "not_duplicate").status_code == 200
    assert decide(client, keys, second["case_id"], "duplicate").status_code == 409  # not by deciding again
    changed = client.post(
        f"/v1/cases/{second['case_id']}/decision/change",
        headers=keys.adjudicator,
        json={"decision": "duplicate", "comment": "birth records match after all", "duplicate_of": first["uin"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["decision"] == "duplicate" and changed.json()["duplicate_of_uin"] == first["uin"]
    with services.sessions() as session:
        actions = list(
            session.scalars(
                select(AuditEvent.action).where(AuditEvent.subject_id == second["case_id"]).order_by(AuditEvent.id)
            )
        )
    assert "case.decided" in actions and actions[-2:].count("case.decision_changed") >= 1
    refused = client.post(
        f"/v1/cases/{second['case_id']}/decision/change",
        headers=keys.officer,
        json={"decision": "not_duplicate", "comment": "an officer may not"},
    )
    assert_problem(refused, 403)


def test_a_decision_and_its_change_are_the_cases_history_oldest_first(client, keys, services, opened):
    first, second = opened
    assert client.get(f"/v1/cases/{second['case_id']}", headers=keys.adjudicator).json()["decisions"] == []
    decided = decide(client, keys, second["case_id"], "not_duplicate", "Different ears.")
    assert decided.status_code == 200, decided.text
    [only] = decided.json()["decisions"]
    issued = client.get(f"/v1/enrolments/{second['id']}", headers=keys.officer).json()["uin"]
    assert only == {
        "sequence": 1,
        "outcome": "not_duplicate",
        "uin": issued,
        "comment": "Different ears.",
        "decided_by": "test adjudicator",
        "decided_at": decided.json()["decided_at"],
        "replaces": None,
    }

    changed = change(client, keys, second["case_id"], "duplicate", "Same ears after all.", duplicate_of=first["uin"])
    assert changed.status_code == 200, changed.text
    history = client.get(f"/v1/cases/{second['case_id']}", headers=keys.adjudicator).json()["decisions"]
    assert history == changed.json()["decisions"]
    assert [(d["sequence"], d["outcome"], d["uin"], d["comment"], d["replaces"]) for d in history] == [
        (1, "not_duplicate", issued, "Different ears.", None),
        (2, "duplicate", first["uin"], "Same ears after all.", 1),
    ]
    assert history[0] == only  # the first decision is kept as it was, never edited
    assert history[1]["decided_at"] == changed.json()["decided_at"]

    one, two = stored_decisions(services, second["case_id"])
    assert two.replaces_id == one.id and one.replaces_id is None
    assert one.decided_by_id is not None and two.decided_by_id == one.decided_by_id
    assert two.decided_by_name == "test adjudicator"
    assert one.duplicate_of_id is None and two.duplicate_of_id is not None
    with services.sessions() as session:  # the same transaction wrote the row and its audit event
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.subject_id == second["case_id"],
                    AuditEvent.action.in_(("case.decided", "case.decision_changed")),
                )
                .order_by(AuditEvent.id)
            )
        )
    assert [e.detail["uin"] for e in events] == [one.uin, two.uin]


def test_refused_decisions_and_changes_leave_no_history_row(client, keys, services, opened):
    import pytest

    from civid.audit import Actor
    from civid.errors import Forbidden
    from enrollment import adjudication
    from enrollment.schemas import DecisionIn
    from models import ApiKey

    _, second = opened
    with services.sessions() as session:  # four eyes: the enrolling officer, holding the adjudicator role too
        officer = session.get(
            ApiKey, session.scalars(select(Enrolment.officer_id).where(Enrolment.public_id == second["id"])).one()
        )
    with pytest.raises(Forbidden):
        adjudication.decide(
            services,
            Actor(officer.id, officer.name, "adjudicator"),
            second["case_id"],
            DecisionIn(decision="not_duplicate", comment="looks different"),
        )
    assert_problem(
        client.post(
            f"/v1/cases/{second['case_id']}/decision",
            headers=keys.officer,
            json={"decision": "not_duplicate", "comment": "an officer may not"},
        ),
        403,
    )
    assert_problem(decide(client, keys, second["case_id"], "duplicate", duplicate_of="0000000000"), 422)
    assert stored_decisions(services, second["case_id"]) == []

    assert decide(client, keys, second["case_id"], "not_duplicate").status_code == 200
    assert_problem(decide(client, keys, second["case_id"], "duplicate"), 409)
    assert_problem(
        client.post(
            f"/v1/cases/{second['case_id']}/decision/change",
            headers=keys.auditor,
            json={"decision": "duplicate", "comment": "an auditor may not"},
        ),
        403,
    )
    assert_problem(change(client, keys, second["case_id"], "not_duplicate", "the same again"), 422)
    assert [d.sequence for d in stored_decisions(services, second["case_id"])] == [1]
