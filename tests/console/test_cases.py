"""Adjudicators' console pages: the queue, a case side by side with photos while open, the decision through
the API's own function, and a decided case changed only by a new audited decision."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

from sqlalchemy import func, select

import console.app
from civid import audit
from civid.audit import SYSTEM
from console.cases import view as case_view
from console.staff import accounts as staff_accounts
from models import (
    Attestation,
    AuditEvent,
    CaseDecision,
    DedupCase,
    Enrolment,
    FaceTemplate,
    Grant,
    Identity,
    StaffAccount,
)
from tests.conftest import enrol, fixture_bytes, seeded_fixtures, without_request_id
from tests.console.helpers import CONSOLE_SETTINGS, Staffed, console_sign_in, enrol_staff
from tests.idp.conftest import Citizen, enrol_citizen, issue_code, register_client
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO, form_value, location
from tests.kyc.banks import held_attestation

COLLINS_PHOTO = "collins_nasa_portrait.png"


@dataclass(frozen=True)
class Seeded:
    people: Staffed
    auditor: Citizen  # Collins: auditor only
    obama_uin: str
    case_id: str
    applicant: str  # the second Obama enrolment (as "Barry Soetoro"), pending
    candidate: str  # the first one (the officer's own), issued


def open_a_case(client, keys) -> Seeded:  # type: ignore[no-untyped-def]
    """Staff (Obama officer, Biden adjudicator+auditor, Collins auditor), then Obama again under another name."""
    people = enrol_staff(client, keys)
    collins = enrol_citizen(client, keys, COLLINS_PHOTO, given_name="Eileen", family_name="Collins")
    with client.app.state.services.sessions.begin() as db:
        staff_accounts.add(db, collins.uin, "Auditor Collins", ["auditor"], SYSTEM)
        candidate = db.scalars(
            select(Enrolment.public_id)
            .join(Identity, Enrolment.identity_id == Identity.id)
            .where(Identity.uin == people.officer.uin)
        ).one()
    second = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"], given_name="Barry", family_name="Soetoro")
    body = second.json()
    assert body["status"] == "pending_adjudication", body
    return Seeded(people, collins, people.officer.uin, body["case_id"], body["id"], candidate)


seed, settings, keys, seeded = seeded_fixtures(open_a_case, "seeded", **CONSOLE_SETTINGS)


def as_adjudicator(client, seeded: Seeded, path: str = "/console/cases"):  # type: ignore[no-untyped-def]
    console_sign_in(client, seeded.people.adjudicator, BIDEN_PHOTO)
    return client.get(path)


def decide(client, seeded: Seeded, action: str = "decision", **form: str):  # type: ignore[no-untyped-def]
    """POST the case page's decision form (``action``: decision or decision/change) with its CSRF token."""
    page = client.get(f"/console/cases/{seeded.case_id}")
    data = {"csrf_token": form_value(page.text, "csrf_token"), **form}
    return client.post(f"/console/cases/{seeded.case_id}/{action}", data=data, follow_redirects=False)


def events(services, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_officers_and_auditors_cannot_see_or_decide_cases(client, seeded):
    console_sign_in(client, seeded.people.officer, OBAMA_PHOTO)
    for path in (
        "/console/cases",
        f"/console/cases/{seeded.case_id}",
        f"/console/cases/{seeded.case_id}/photos/{seeded.applicant}/0",
    ):
        refused = client.get(path)
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html"), path
    console_sign_in(client, seeded.auditor, COLLINS_PHOTO)
    home = client.get("/console")
    assert "/console/cases" not in home.text
    refused = client.post(
        f"/console/cases/{seeded.case_id}/decision",
        data={
            "csrf_token": form_value(home.text, "csrf_token"),
            "decision": "not_duplicate",
            "comment": "an auditor trying",
        },
    )
    assert refused.status_code == 403
    with client.app.state.services.sessions() as db:
        assert db.scalars(select(DedupCase.status).where(DedupCase.public_id == seeded.case_id)).one() == "open"


def test_the_queue_lists_open_cases_oldest_first_with_their_best_scores(client, keys, seeded, services):
    later = enrol(client, keys.officer2, ["biden_2010_blue_room.jpg"], given_name="Joe", family_name="Robinette").json()
    assert later["status"] == "pending_adjudication"
    page = as_adjudicator(client, seeded)
    assert page.status_code == 200, page.text[:500]
    assert page.text.index(f"/console/cases/{seeded.case_id}") < page.text.index(f"/console/cases/{later['case_id']}")
    assert "Barry Soetoro" in page.text and "Joe Robinette" in page.text
    assert "likelier if the same person" in page.text
    assert events(services, "case.listed")[-1].actor_name == "Adjudicator Biden"
    assert seeded.case_id not in client.get("/console/cases?status=decided").text


def test_a_case_shows_applicant_and_candidate_side_by_side_with_scores_in_words(client, seeded, services):
    page = as_adjudicator(client, seeded, f"/console/cases/{seeded.case_id}")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert "Barry" in html and "Soetoro" in html and "Barack" in html and "Obama" in html
    assert 'class="differs"' in html and "differs from the applicant" in html  # the names differ
    assert f"/console/cases/{seeded.case_id}/photos/{seeded.applicant}/0" in html
    assert f"/console/cases/{seeded.case_id}/photos/{seeded.candidate}/0" in html
    assert f"UIN {seeded.obama_uin}" in html
    assert "likelier if the same person" in html and f"{services.settings.dedup_threshold:.4f}" in html
    assert "1,000× likelier" in html  # the fused threshold (LLR 3) in words
    assert "ciphertext" not in html and "/fingerprints" not in html
    assert events(services, "case.viewed")[-1].subject_id == seeded.case_id
    spanish = client.get(f"/console/cases/{seeded.case_id}?lang=es")
    assert "Solicitante y candidatos lado a lado" in spanish.text and "veces más probable" in spanish.text


def test_photos_are_served_to_the_adjudicator_of_an_open_case_never_cached(client, seeded, services):
    as_adjudicator(client, seeded)
    photo = client.get(f"/console/cases/{seeded.case_id}/photos/{seeded.applicant}/0")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content == fixture_bytes("obama_2010_blue_room.jpg")
    assert photo.headers["cache-control"] == "no-store"
    assert without_request_id(events(services, "case.photo_viewed")[-1].detail) == {
        "enrolment": seeded.applicant,
        "photo_index": 0,
    }
    assert client.get(f"/console/cases/{seeded.case_id}/photos/{seeded.applicant}/3").status_code == 404
    # An enrolment outside this case is not reachable through it.
    with services.sessions() as db:
        stranger = db.scalars(select(Enrolment.public_id).where(Enrolment.family_name == "Collins")).one()
    assert client.get(f"/console/cases/{seeded.case_id}/photos/{stranger}/0").status_code == 404


def test_a_decision_needs_the_form_token_and_a_comment(client, seeded, services):
    as_adjudicator(client, seeded)
    forged = client.post(
        f"/console/cases/{seeded.case_id}/decision",
        data={"csrf_token": "forged", "decision": "duplicate", "comment": "same man"},
    )
    assert forged.status_code == 403
    refused = decide(client, seeded, decision="duplicate", comment=" ")
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text and "at least 3 characters" in refused.text
    assert 'role="alert"' in refused.text
    unchosen = decide(client, seeded, comment="looked at it")
    assert unchosen.status_code == 422 and "Choose “duplicate” or “not a duplicate”" in unchosen.text
    assert events(services, "case.decided") == []


def test_deciding_duplicate_records_it_and_closes_the_photos(client, seeded, services):
    as_adjudicator(client, seeded)
    done = decide(
        client,
        seeded,
        decision="duplicate",
        duplicate_of=seeded.obama_uin,
        comment="Same man: the photos match and Barry is a known alias.",
    )
    assert done.status_code == 303 and location(done) == f"/console/cases/{seeded.case_id}?done=decided"
    page = client.get(location(done))
    assert "Your decision is recorded" in page.text and "Adjudicator Biden" in page.text
    assert "Barry is a known alias" in page.text and "Photos are shown only while a case is open" in page.text
    assert f"/photos/{seeded.applicant}/0" not in page.text
    closed = client.get(f"/console/cases/{seeded.case_id}/photos/{seeded.applicant}/0")
    assert closed.status_code == 403
    [event] = events(services, "case.decided")
    assert event.actor_name == "Adjudicator Biden" and event.detail["decision"] == "duplicate"
    with services.sessions() as db:
        applicant = db.scalars(select(Enrolment).where(Enrolment.public_id == seeded.applicant)).one()
        assert applicant.status == "duplicate"
    # The decided case is not decided again through the first-decision form.
    again = decide(client, seeded, decision="not_duplicate", comment="second thoughts")
    assert again.status_code == 409 and "This case has already been decided" in again.text


def test_the_case_page_says_in_words_what_duplicate_does_with_the_applicants_data(client, seeded, services):
    page = unescape(as_adjudicator(client, seeded, f"/console/cases/{seeded.case_id}").text)
    assert (
        "What “duplicate” does with the applicant's data: their names, address and documents do not replace "
        "the candidate's record." in page
    )
    assert "kept as an attempt against that identity" in page and "never sign in or verify as that person" in page
    spanish = unescape(client.get(f"/console/cases/{seeded.case_id}?lang=es").text)
    assert "sus nombres, dirección y documentos no reemplazan el registro del candidato" in spanish

    decide(client, seeded, decision="duplicate", duplicate_of=seeded.obama_uin, comment="Same man, another name.")
    decided = unescape(client.get(f"/console/cases/{seeded.case_id}?lang=en").text)
    assert (
        f"This application is kept as an attempt against UIN {seeded.obama_uin}. That identity's record did "
        "not change" in decided
    )
    assert "a duplicate attempt" in decided  # the applicant's column, no longer "merged"
    assert f"se conserva como un intento contra el UIN {seeded.obama_uin}" in unescape(
        client.get(f"/console/cases/{seeded.case_id}?lang=es").text
    )
    [event] = events(services, "identity.duplicate_attempt")
    assert event.subject_id == seeded.obama_uin and event.detail["enrolment"] == seeded.applicant


def test_a_decided_case_changes_only_by_a_new_audited_decision_and_keeps_its_history(client, seeded, services):
    as_adjudicator(client, seeded)
    decide(client, seeded, decision="duplicate", comment="Looked like the same man.")
    unconfirmed = decide(
        client,
        seeded,
        action="decision/change",
        decision="not_duplicate",
        comment="His twin brother: different birth certificate.",
    )
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
    changed = decide(
        client,
        seeded,
        action="decision/change",
        decision="not_duplicate",
        confirm="yes",
        comment="His twin brother: different birth certificate.",
    )
    assert changed.status_code == 303, changed.text[:800]
    page = client.get(location(changed))
    assert "The new decision is recorded" in page.text
    assert "Looked like the same man." in page.text and "His twin brother" in page.text  # both in the history
    with services.sessions() as db:
        applicant = db.scalars(select(Enrolment).where(Enrolment.public_id == seeded.applicant)).one()
        identity = db.get(Identity, applicant.identity_id)
        assert applicant.status == "issued" and identity.uin != seeded.obama_uin
        template_ids = list(
            db.scalars(
                select(FaceTemplate.id).where(FaceTemplate.enrolment_id == applicant.id, FaceTemplate.in_gallery)
            )
        )
        assert template_ids and set(template_ids) <= set(services.gallery.ids().tolist())
        assert audit.verify_chain(db)[1] is None
    [event] = events(services, "case.decision_changed")
    assert event.detail["superseded"]["decision"] == "duplicate"
    assert event.detail["superseded"]["comment"] == "Looked like the same man."
    assert event.detail["decision"] == "not_duplicate" and event.person == identity.uin
    same = decide(
        client, seeded, action="decision/change", decision="not_duplicate", confirm="yes", comment="again the same"
    )
    assert same.status_code == 422 and "already decided so" in same.text


def test_a_refused_decision_is_explained_in_the_adjudicators_language(client, seeded):
    as_adjudicator(client, seeded)
    client.headers["Accept-Language"] = "es-BZ,es;q=0.9"
    early = decide(
        client, seeded, action="decision/change", decision="not_duplicate", confirm="yes", comment="nada que cambiar"
    )
    assert early.status_code == 409
    assert "Este caso sigue abierto: resuélvalo primero" in early.text and "still open" not in early.text
    assert decide(client, seeded, decision="duplicate", comment="El mismo hombre.").status_code == 303
    again = decide(client, seeded, decision="not_duplicate", comment="lo pensé mejor")
    assert again.status_code == 409 and "Este caso ya fue resuelto" in again.text
    same = decide(
        client, seeded, action="decision/change", decision="duplicate", confirm="yes", comment="otra vez lo mismo"
    )
    assert same.status_code == 422 and "un cambio debe cambiar la decisión" in same.text
    client.headers["Accept-Language"] = "en"
    english = decide(client, seeded, decision="not_duplicate", comment="second thoughts")
    assert "This case has already been decided" in english.text


def history_table(html: str) -> tuple[str, list[list[str]]]:
    """The decision history table of a case page: its caption and, per body row, the text of each cell."""
    table = re.search(r'<table class="results" id="decision-history">(.*?)</table>', html, re.S)
    assert table, "no decision history table on the page"
    caption = re.search(r"<caption>(.*?)</caption>", table.group(1), re.S)
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(1), re.S)
    assert caption and body
    cells = r"<t[hd][^>]*>(.*?)</t[hd]>"
    rows = [
        [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(cells, row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]
    assert table.group(1).count('<th scope="col">') == 7 and body.group(1).count('<th scope="row">') == len(rows)
    return " ".join(caption.group(1).split()), rows


def test_the_case_page_shows_every_decision_as_an_accessible_table_in_both_languages(client, seeded, services):
    as_adjudicator(client, seeded)
    assert 'id="decision-history"' not in client.get(f"/console/cases/{seeded.case_id}").text  # open: nothing yet
    decide(client, seeded, decision="duplicate", duplicate_of=seeded.obama_uin, comment="Looked like the same man.")
    changed = decide(
        client,
        seeded,
        action="decision/change",
        decision="not_duplicate",
        confirm="yes",
        comment="His twin brother: different birth certificate.",
    )
    assert changed.status_code == 303, changed.text[:800]
    with services.sessions() as db:
        new_uin = db.scalars(
            select(Identity.uin)
            .join(Enrolment, Enrolment.identity_id == Identity.id)
            .where(Enrolment.public_id == seeded.applicant)
        ).one()

    caption, rows = history_table(client.get(f"/console/cases/{seeded.case_id}").text)
    assert caption.startswith("Every decision on this case, oldest first.")
    assert [row[0] for row in rows] == ["1", "2"]
    assert [row[2:] for row in rows] == [
        ["Adjudicator Biden", "Duplicate", seeded.obama_uin, "Looked like the same man.", "— (first decision)"],
        [
            "Adjudicator Biden",
            "Not a duplicate in force",
            new_uin,
            "His twin brother: different birth certificate.",
            "decision 1",
        ],
    ]
    assert all(row[1].endswith("UTC") for row in rows)

    caption, rows = history_table(client.get(f"/console/cases/{seeded.case_id}?lang=es").text)
    assert caption.startswith("Todas las decisiones sobre este caso")
    assert [(row[3], row[6]) for row in rows] == [
        ("Duplicado", "— (primera decisión)"),
        ("No es duplicado vigente", "la decisión 1"),
    ]


def test_changing_not_duplicate_to_duplicate_withdraws_the_uin_it_issued(client, keys, seeded, services):
    as_adjudicator(client, seeded)
    decide(client, seeded, decision="not_duplicate", comment="Different ears.")
    with services.sessions() as db:
        issued = db.scalars(
            select(Identity)
            .join(Enrolment, Enrolment.identity_id == Identity.id)
            .where(Enrolment.public_id == seeded.applicant)
        ).one()
    portal_id, _ = register_client(services)
    signed_in = issue_code(services, portal_id, Citizen(issued.uin, issued.id))  # "Barry" used a portal meanwhile
    with services.sessions.begin() as db:  # ... and a bank holds an attestation about him
        db.add(held_attestation(issued.id))
    changed = decide(
        client,
        seeded,
        action="decision/change",
        decision="duplicate",
        duplicate_of=seeded.obama_uin,
        confirm="yes",
        comment="Same ears after all; the record office confirms one person.",
    )
    assert changed.status_code == 303, changed.text[:800]
    with services.sessions() as db:
        withdrawn = db.get(Identity, issued.id)
        applicant = db.scalars(select(Enrolment).where(Enrolment.public_id == seeded.applicant)).one()
        obama = db.scalars(select(Identity).where(Identity.uin == seeded.obama_uin)).one()
        assert withdrawn.status == "merged" and applicant.status == "duplicate" and applicant.identity_id == obama.id
        faces = list(db.scalars(select(FaceTemplate.id).where(FaceTemplate.enrolment_id == applicant.id)))
        assert not set(faces) & set(services.gallery.ids().tolist())
        assert db.scalar(select(func.count()).select_from(Identity).where(Identity.status == "active")) == 3
    [event] = events(services, "identity.withdrawn")
    assert event.person == issued.uin and event.detail["case"] == seeded.case_id
    # An officer who types the withdrawn UIN is told it is merged, not given a server error.
    shown = client.get(f"/v1/identities/{issued.uin}", headers=keys.officer)
    assert shown.status_code == 200, shown.text[:300]
    assert (shown.json()["status"], shown.json()["record"], shown.json()["enrolments"]) == ("merged", None, [])
    with services.sessions() as db:
        grant = db.scalars(select(Grant).where(Grant.uid == signed_in.grant_uid)).one()
        assert grant.revoked_at is not None and grant.revoked_reason == "identity_merged"
        attestation = db.scalars(select(Attestation).where(Attestation.uid == "att-barry")).one()
        assert attestation.revoked_at is not None and attestation.revoked_by == "Adjudicator Biden"


def test_a_uin_that_later_enrolments_hang_on_is_not_withdrawn(client, keys, seeded, services):
    as_adjudicator(client, seeded)
    decide(client, seeded, decision="not_duplicate", comment="Different ears.")
    with services.sessions() as db:
        issued = db.scalars(
            select(Identity.uin)
            .join(Enrolment, Enrolment.identity_id == Identity.id)
            .where(Enrolment.public_id == seeded.applicant)
        ).one()
    third = enrol(client, keys.officer2, ["obama_2012_portrait.jpg"], given_name="Barry", family_name="Soetoro").json()
    assert {c["uin"] for c in third["candidates"]} == {seeded.obama_uin, issued}, third
    later = Seeded(seeded.people, seeded.auditor, seeded.obama_uin, third["case_id"], third["id"], seeded.candidate)
    merged = decide(client, later, decision="duplicate", duplicate_of=issued, comment="same as the first Barry")
    assert merged.status_code == 303
    refused = decide(
        client,
        seeded,
        action="decision/change",
        decision="duplicate",
        duplicate_of=seeded.obama_uin,
        confirm="yes",
        comment="Same person as Obama after all.",
    )
    assert (
        refused.status_code == 409
        and "also holds 1 other enrolment (a later case decided against it): change that decision first" in refused.text
    )  # one enrolment: the singular, not "enrolment(s)"
    with services.sessions() as db:
        assert db.scalars(select(Identity.status).where(Identity.uin == issued)).one() == "active"
    assert events(services, "case.decision_changed") == []


def test_evidence_is_put_in_words_from_the_log_likelihood_ratio():
    assert case_view.ratio_text(3.0) == "1,000"
    assert case_view.ratio_text(4.37) == "23,000"
    assert case_view.likelihood_words(-2.0, "en") == "100× likelier if different people"
    assert case_view.ratio_text(12) == "1,000,000,000+"


def test_counts_ages_and_ratios_are_written_as_each_language_writes_them(client, seeded, services):
    from datetime import timedelta

    from sqlalchemy import update

    from models import utcnow

    with services.sessions.begin() as db:  # the seeded case has waited one minute
        db.execute(update(DedupCase).values(created_at=utcnow() - timedelta(seconds=90)))
    english = as_adjudicator(client, seeded).text
    assert ">1 case</caption>" in english and "1 cases" not in english and "1 minute" in english
    spanish = client.get("/console/cases?lang=es").text
    assert ">1 caso</caption>" in spanish and "1 minuto" in spanish and "1 minutos" not in spanish
    case = client.get(f"/console/cases/{seeded.case_id}?lang=es").text
    assert "en espera desde hace 1 minuto" in case and "1 minutos" not in case
    assert re.search(r"<strong>0,\d{4}</strong>", case) and "0,9251" in case  # scores and thresholds: decimal comma
    assert re.search(r"<strong>0\.\d{4}</strong>", client.get(f"/console/cases/{seeded.case_id}?lang=en").text)
    assert case_view.ratio_text(5.04, "es") == "110.000" and case_view.ratio_text(5.04, "en") == "110,000"
    assert case_view.likelihood_words(5.04, "es") == "110.000 veces más probable si es la misma persona"
    assert case_view.likelihood_words(0.3, "es") == "2,0 veces más probable si es la misma persona"
    assert case_view.ratio_text(12, "es") == "1.000.000.000+"


def test_no_console_page_serves_templates_or_fingerprint_images():
    from console.app import ROUTERS

    # What the console can hand out (GET): pages, and photos of open cases; no template, no finger image.
    paths = [
        route.path for module in ROUTERS for route in module.router.routes if "GET" in getattr(route, "methods", ())
    ]
    assert all(path.startswith("/console") for path in paths)
    assert any("/photos/" in path for path in paths)
    assert not [p for p in paths if "template" in p or "finger" in p or "descriptor" in p]


def test_nobody_decides_a_case_they_enrolled_or_are_a_candidate_in(client, seeded, services):
    with services.sessions.begin() as db:
        obama = db.scalars(select(StaffAccount).where(StaffAccount.uin == seeded.obama_uin)).one()
        staff_accounts.set_roles(db, obama.id, ["officer", "adjudicator"], SYSTEM)
    console_sign_in(client, seeded.people.officer, OBAMA_PHOTO)  # Obama is the candidate of the seeded case
    page = client.get(f"/console/cases/{seeded.case_id}")
    assert "You are one of the candidates" in page.text and "/decision" not in page.text
    refused = decide(client, seeded, decision="not_duplicate", comment="that is not me")
    assert refused.status_code == 403
    with services.sessions.begin() as db:  # as if Biden had enrolled the applicant at his desk
        biden = db.scalars(select(StaffAccount).where(StaffAccount.uin == seeded.people.adjudicator.uin)).one()
        applicant = db.scalars(select(Enrolment).where(Enrolment.public_id == seeded.applicant)).one()
        applicant.officer_id = biden.api_key_id
    as_adjudicator(client, seeded)
    assert decide(client, seeded, decision="duplicate", comment="my own applicant").status_code == 403
    assert events(services, "case.decided") == []
    with services.sessions() as db:  # nor a line in the case's decision history
        assert db.scalar(select(func.count()).select_from(CaseDecision)) == 0


def test_every_word_on_the_review_pages_exists_in_both_languages():
    import re
    from pathlib import Path

    from civid.web import i18n

    folder = Path(console.app.__file__).parent / "templates"
    mine = [*folder.glob("console_case*.html"), folder / "console_audit.html", *folder.glob("console_admin_*.html")]
    used = {key for path in mine for key in re.findall(r"""(?<![\w.])_\(\s*["']([a-z0-9_.-]+)["']""", path.read_text())}
    # A counted message is compared by its "other" form (its last).
    defined = {
        key: {lang: text if isinstance(text, str) else text[-1] for lang, text in texts.items()}
        for key, texts in i18n.catalogue().items()
    }
    # A key ending in "." is completed at run time (t("cases.decision." ~ decision)).
    missing = [
        key for key in used if not (any(d.startswith(key) for d in defined) if key.endswith(".") else key in defined)
    ]
    assert len(mine) == 8 and sorted(missing) == []
    assert all(
        defined[key]["es"] != defined[key]["en"] or len(defined[key]["en"]) <= 12
        for key in defined
        if key.split(".")[0] in ("cases", "audit", "admin", "review")
    )
