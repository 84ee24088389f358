"""verified_claims (OIDC4IDA -13) built from the enrolment record: what is stated, and how a request's
filters and the data-minimisation rules select from it. Also the request element's validation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from idp import claims as claims_module
from idp.claims_extensions import ClaimsExtensions
from idp.errors import InvalidRequest
from kyc.claims_extension import VerifiedClaims
from kyc.verified_claims import released_claim_names, verified_claims_for
from kyc.verified_claims_request import consent_names, purposes, validate_request_element
from models import Client, Enrolment, Identity, utcnow
from tests.conftest import document, seeded_fixtures
from tests.idp.conftest import Citizen, enrol_citizen, register_client

EVERY_CLAIM = [
    "given_name",
    "family_name",
    "middle_name",
    "birthdate",
    "place_of_birth",
    "nationalities",
    "gender",
    "address",
    "uin",
]


@dataclass(frozen=True)
class People:
    documented: Citizen  # enrolled with a passport (vpip, pvp) and an ID card (vcrypt)
    biometric_only: Citizen  # enrolled without documents


def enrol_two(client, keys) -> People:  # type: ignore[no-untyped-def]
    documented = enrol_citizen(
        client,
        keys,
        "obama_2012_portrait.jpg",
        given_name="Barack",
        family_name="Obama",
        middle_names="Hussein",
        place_of_birth="Honolulu, USA",
        documents=[
            document(number="P01234567"),
            document(type="idcard", number="BZ-77665544", date_of_issuance=None, check_methods=["vcrypt"]),
        ],
    )
    plain = enrol_citizen(
        client, keys, "biden_2010_blue_room.jpg", given_name="Joseph", family_name="Biden", place_of_birth="Scranton"
    )
    return People(documented, plain)


seed, settings, keys, people = seeded_fixtures(enrol_two, "people")


@pytest.fixture
def ask(services):  # type: ignore[no-untyped-def]
    """``ask(citizen, element, entitlements=("kyc",), consented=None, now=None)`` → verified_claims_for's answer."""
    made: dict[tuple[str, ...], str] = {}

    def run(citizen: Citizen, element: Any, entitlements: tuple[str, ...] = ("kyc",), **kwargs: Any) -> Any:
        if entitlements not in made:
            made[entitlements] = register_client(
                services, name="Bank " + "+".join(entitlements), entitlements=list(entitlements)
            )[0]
        with services.sessions() as db:
            client = db.scalars(select(Client).where(Client.client_id == made[entitlements])).one()
            return verified_claims_for(db, services, db.get(Identity, citizen.identity_id), client, element, **kwargs)

    return run


def request(claims: list[str] | None = None, **verification: Any) -> dict[str, Any]:
    return {
        "verification": {"trust_framework": None, **verification},
        "claims": {name: None for name in (claims or ["given_name", "family_name"])},
    }


def enrolment_of(services, citizen: Citizen) -> Enrolment:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return db.scalars(select(Enrolment).where(Enrolment.identity_id == citizen.identity_id)).one()


FULL_EVIDENCE = [
    {
        "type": {"value": "document"},
        "method": None,
        "time": None,
        "check_details": [{"check_method": None, "organization": None, "txn": None, "time": None}],
        "document_details": {
            "type": None,
            "document_number": None,
            "date_of_issuance": None,
            "date_of_expiry": None,
            "issuer": {"name": None, "country_code": None},
        },
    },
    {
        "type": {"value": "electronic_record"},
        "time": None,
        "check_details": [{"check_method": None, "organization": None, "txn": None, "time": None}],
        "record": {"type": None, "created_at": None, "source": {"name": None, "country_code": None}},
    },
]


def test_everything_asked_for_states_how_when_and_under_which_rules(ask, services, people):
    record = enrolment_of(services, people.documented)
    answer = ask(
        people.documented,
        request(EVERY_CLAIM, assurance_level=None, time=None, verification_process=None, evidence=FULL_EVIDENCE),
        entitlements=("kyc", "uin"),
    )
    verification = answer["verification"]
    assert verification["trust_framework"] == "bz_nid" and verification["assurance_level"] == "high"
    assert verification["verification_process"] == record.public_id
    assert verification["time"].endswith("Z") and verification["time"][:10] == record.decided_at.date().isoformat()
    passport, idcard, register = verification["evidence"]
    assert passport["type"] == "document" and passport["method"] == "pipp"
    assert [c["check_method"] for c in passport["check_details"]] == ["vpip", "pvp"]
    assert passport["check_details"][0]["organization"] == "National Identity Register"
    assert passport["check_details"][0]["txn"] == record.public_id
    details = passport["document_details"]
    assert details["type"] == "passport" and details["document_number"] == "P01234567"
    assert details["issuer"] == {"name": "Immigration Department", "country_code": "BLZ"}
    assert set(details) == {"type", "document_number", "date_of_issuance", "date_of_expiry", "issuer"}
    assert idcard["document_details"]["document_number"] == "BZ-77665544"
    assert "date_of_issuance" not in idcard["document_details"]  # not recorded: omitted, not null
    assert [c["check_method"] for c in idcard["check_details"]] == ["vcrypt"]
    assert register["type"] == "electronic_record"
    assert register["check_details"] == [
        {
            "check_method": "bvp",
            "organization": "National Identity Register",
            "txn": f"{record.public_id}/face",
            "time": verification["time"],
        }
    ]
    assert register["record"]["type"] == "population_register"
    assert register["record"]["source"] == {"name": "National Identity Register", "country_code": "BLZ"}
    assert answer["claims"] == {
        "given_name": "Barack",
        "family_name": "Obama",
        "middle_name": "Hussein",
        "birthdate": "1988-03-14",
        "place_of_birth": {"locality": "Honolulu", "country": "USA"},
        "nationalities": ["BLZ"],
        "gender": "female",
        "address": answer["claims"]["address"],
        "uin": people.documented.uin,
    }
    assert answer["claims"]["address"]["locality"] == "Belize City"


def test_only_what_was_asked_for_is_returned(ask, people):
    assert ask(people.documented, request(["given_name"])) == {
        "verification": {"trust_framework": "bz_nid"},
        "claims": {"given_name": "Barack"},
    }
    narrow = ask(
        people.documented,
        request(["birthdate"], evidence=[{"type": {"value": "document"}, "document_details": {"type": None}}]),
    )
    assert narrow["verification"]["evidence"] == [
        {"type": "document", "document_details": {"type": "passport"}},
        {"type": "document", "document_details": {"type": "idcard"}},
    ]
    assert narrow["claims"] == {"birthdate": "1988-03-14"}


def test_a_trust_framework_that_does_not_match_omits_verified_claims(ask, people):
    assert ask(people.documented, request(trust_framework={"value": "eidas_ial_high"})) is None
    assert ask(people.documented, request(trust_framework={"values": ["de_aml", "eidas_ial_high"]})) is None
    assert ask(people.documented, request(trust_framework={"values": ["de_aml", "bz_nid"]}))["claims"]
    assert ask(people.documented, request(trust_framework={"value": "bz_nid"}))["claims"]


def test_max_age_on_the_verification_time(ask, people):
    later = utcnow() + timedelta(hours=2)
    assert ask(people.documented, request(time={"max_age": 3600}), now=later) is None
    fresh = ask(people.documented, request(time={"max_age": 3 * 3600}), now=later)
    assert fresh["verification"]["time"].endswith("Z")


def test_assurance_level_depends_on_whether_a_document_was_examined(ask, people):
    assert ask(people.biometric_only, request(assurance_level=None))["verification"]["assurance_level"] == "substantial"
    assert ask(people.biometric_only, request(assurance_level={"value": "high"})) is None
    assert (
        ask(people.documented, request(assurance_level={"value": "high"}))["verification"]["assurance_level"] == "high"
    )


def test_evidence_templates_filter_by_type_check_method_and_document_type(ask, people):
    documents = [{"type": {"value": "document"}}]
    assert ask(people.biometric_only, request(evidence=documents)) is None  # no document on record
    biometric = ask(
        people.biometric_only,
        request(evidence=[{"type": {"value": "electronic_record"}, "check_details": [{"check_method": None}]}]),
    )
    assert biometric["verification"]["evidence"] == [
        {"type": "electronic_record", "check_details": [{"check_method": "bvp"}]}
    ]
    # check_details filter: only the passport was inspected physically (vpip), and only that check is shown
    inspected = ask(
        people.documented,
        request(
            evidence=[
                {
                    "type": {"value": "document"},
                    "check_details": [{"check_method": {"value": "vpip"}}],
                    "document_details": {"type": None},
                }
            ]
        ),
    )
    assert inspected["verification"]["evidence"] == [
        {"type": "document", "check_details": [{"check_method": "vpip"}], "document_details": {"type": "passport"}}
    ]
    assert (
        ask(
            people.documented,
            request(evidence=[{"type": {"value": "document"}, "check_details": [{"check_method": {"value": "kbv"}}]}]),
        )
        is None
    )
    assert (
        ask(
            people.documented,
            request(
                evidence=[{"type": {"value": "document"}, "document_details": {"type": {"values": ["driving_permit"]}}}]
            ),
        )
        is None
    )
    either = ask(
        people.documented,
        request(
            evidence=[
                {"type": {"value": "vouch"}},
                {"type": {"value": "document"}, "document_details": {"type": {"value": "idcard"}}},
            ]
        ),
    )
    assert either["verification"]["evidence"] == [{"type": "document", "document_details": {"type": "idcard"}}]


def test_max_age_on_document_dates(ask, people):
    issued_recently = ask(
        people.documented,
        request(
            evidence=[
                {"type": {"value": "document"}, "document_details": {"date_of_issuance": {"max_age": 10 * 365 * 86400}}}
            ]
        ),
    )
    assert len(issued_recently["verification"]["evidence"]) == 1  # the ID card has no issuance date: not matched
    assert (
        ask(
            people.documented,
            request(
                evidence=[{"type": {"value": "document"}, "document_details": {"date_of_issuance": {"max_age": 86400}}}]
            ),
        )
        is None
    )


def test_a_claim_that_misses_its_constraint_is_omitted_alone(ask, people):
    answer = ask(
        people.documented,
        {
            "verification": {"trust_framework": None},
            "claims": {"given_name": {"value": "Barry"}, "family_name": {"essential": True}},
        },
    )
    assert answer["claims"] == {"family_name": "Obama"}
    assert (
        ask(
            people.documented, {"verification": {"trust_framework": None}, "claims": {"given_name": {"value": "Barry"}}}
        )
        is None
    )  # no claim left


def test_unknown_claims_are_ignored_and_the_uin_needs_its_entitlement(ask, people):
    answer = ask(people.documented, request(["given_name", "email", "shoe_size", "uin"]))
    assert answer["claims"] == {"given_name": "Barack"}
    entitled = ask(people.documented, request(["uin"]), entitlements=("kyc", "uin"))
    assert entitled["claims"] == {"uin": people.documented.uin}


def test_a_client_without_the_kyc_entitlement_gets_nothing(ask, people):
    assert ask(people.documented, request(EVERY_CLAIM), entitlements=()) is None
    assert ask(people.documented, request(EVERY_CLAIM), entitlements=("uin",)) is None


def test_only_consented_claims_and_evidence_only_with_its_consent(ask, people):
    element = request(["given_name", "family_name", "birthdate"], evidence=[{"type": {"value": "document"}}])
    consented = {"verified_claims:given_name", "verified_claims:birthdate", "verified_claims:evidence", "family_name"}
    answer = ask(people.documented, element, consented=consented)
    assert answer["claims"] == {"given_name": "Barack", "birthdate": "1988-03-14"}
    assert ask(people.documented, element, consented=consented - {"verified_claims:evidence"}) is None
    assert ask(people.documented, element, consented=set()) is None
    assert released_claim_names(answer) == [
        "verified_claims:birthdate",
        "verified_claims:evidence",
        "verified_claims:given_name",
    ]


def test_an_array_of_requests_is_answered_request_by_request(ask, people):
    gold = request(["given_name"], trust_framework={"value": "gold"})
    ours = request(["family_name"], trust_framework={"value": "bz_nid"})
    answer = ask(people.documented, [gold, ours])
    assert answer == [{"verification": {"trust_framework": "bz_nid"}, "claims": {"family_name": "Obama"}}]
    assert ask(people.documented, [gold]) is None


def test_place_of_birth_without_a_country_code_is_a_locality(ask, people):
    answer = ask(people.biometric_only, request(["place_of_birth", "nationalities"]))
    assert answer["claims"] == {"place_of_birth": {"locality": "Scranton"}, "nationalities": ["BLZ"]}


# --- the request element -------------------------------------------------------------------------------------

VALID = request(["given_name"])


@pytest.mark.parametrize(
    ("element", "message"),
    [
        ({"claims": {"given_name": None}}, "verification is required"),
        ({"verification": {}, "claims": {"given_name": None}}, "trust_framework is required"),
        ({"verification": {"trust_framework": None}}, "at least one claim"),
        ({"verification": {"trust_framework": None}, "claims": {}}, "at least one claim"),
        ({"verification": {"trust_framework": None}, "claims": None}, "at least one claim"),
        ({**VALID, "extra": 1}, "unknown members"),
        ({"verification": {"trust_framework": "bz_nid"}, "claims": {"given_name": None}}, "null or an object"),
        (request(trust_framework={"value": 3}), "value must be a string"),
        (request(trust_framework={"values": []}), "non-empty array"),
        (request(trust_framework={"value": "a", "values": ["a"]}), "not both"),
        (request(time={"max_age": -1}), "max_age"),
        (request(time={"max_age": "3600"}), "max_age"),
        (request(evidence=[]), "non-empty array"),
        (request(evidence={"type": {"value": "document"}}), "non-empty array"),
        (request(evidence=[{"type": {"values": ["document"]}}]), "type must be"),
        (request(evidence=[{"type": {"value": "selfie"}}]), "type must be"),
        (request(evidence=[{"type": {"value": "document"}, "check_details": {"check_method": None}}]), "array"),
        (
            request(evidence=[{"type": {"value": "document"}, "document_details": {"type": {"essential": "yes"}}}]),
            "essential",
        ),
        ({"verification": {"trust_framework": None}, "claims": {"given_name": {"purpose": "no"}}}, "purpose"),
        ({"verification": {"trust_framework": None}, "claims": {"given_name": {"purpose": "x" * 301}}}, "purpose"),
        ([], "array of 1 to"),
        ([VALID] * 11, "array of 1 to"),
        ([VALID, "x"], "[1] must be an object"),
    ],
)
def test_a_malformed_request_element_is_an_invalid_request(element, message):
    with pytest.raises(InvalidRequest) as caught:
        validate_request_element(element)
    assert message in caught.value.description


def test_the_claims_parameter_accepts_verified_claims_objects_and_arrays():
    kyc = ClaimsExtensions((VerifiedClaims(),))
    parsed = claims_module.parse_claims_parameter(
        {"userinfo": {"verified_claims": [VALID, VALID]}, "id_token": {"verified_claims": VALID, "acr": None}}, kyc
    )
    assert parsed["userinfo"]["verified_claims"] == [VALID, VALID]
    with pytest.raises(InvalidRequest) as caught:
        claims_module.parse_claims_parameter({"userinfo": {"verified_claims": {"claims": {"x": None}}}}, kyc)
    assert "claims.userinfo.verified_claims.verification" in caught.value.description


def test_consent_names_and_purposes_come_from_the_element():
    element = [
        {
            "verification": {
                "trust_framework": {"purpose": "Regulation requires it"},
                "evidence": [{"type": {"value": "document"}}],
            },
            "claims": {"given_name": {"purpose": "To open your account"}, "uin": None},
        },
        {"verification": {"trust_framework": None}, "claims": {"family_name": {"purpose": "To open your account"}}},
    ]
    assert consent_names(element, available={"given_name", "family_name"}) == {
        "verified_claims:given_name",
        "verified_claims:family_name",
        "verified_claims:evidence",
    }
    assert purposes(element) == ["Regulation requires it", "To open your account"]


def test_requested_keeps_verified_claims_only_for_kyc_clients():
    parameter = {"userinfo": {"verified_claims": request(["given_name", "uin"])}}
    bank = Client(client_id="b", name="Bank", entitlements=["kyc"], allowed_scopes=["openid"])
    portal = Client(client_id="p", name="Portal", entitlements=[], allowed_scopes=["openid"])
    kyc = ClaimsExtensions((VerifiedClaims(),))
    asked = claims_module.requested(bank, ["openid"], parameter, kyc)
    verified = asked.extensions["verified_claims"]
    assert verified.userinfo == parameter["userinfo"]["verified_claims"] and verified.id_token is None
    assert asked.all == {"verified_claims:given_name"}  # uin: the bank is not entitled to it
    ignored = claims_module.requested(portal, ["openid"], parameter, kyc)
    assert "verified_claims" not in ignored.extensions and ignored.all == frozenset()
