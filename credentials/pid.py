"""civid's national PID as an SD-JWT VC (``dc+sd-jwt``, draft-ietf-oauth-sd-jwt-vc): its credential configuration
and how one is built from the identity record.

``vct`` is ``urn:civid:vct:pid:1``: a URN like the KYC attestation's (``urn:civid:vct:kyc-attestation:1``), stable
when the issuer's host name changes, and one no wallet tries to resolve for Type Metadata civid does not publish
(an https ``vct`` invites that fetch). The version suffix changes only if the claims' meaning does.

Claim names follow the EU PID Rulebook's SD-JWT VC encoding (ARF annex 3.1), so a European wallet and verifier
read them without a mapping: ``given_name`` (with middle names), ``family_name``, ``birthdate``, ``sex`` (ISO/IEC
5218: 1 male, 2 female, 0 not known; civid's ``X`` as 0), ``place_of_birth.locality``, ``nationalities`` (civid's
ISO 3166-1 code as recorded), ``personal_administrative_number`` (the UIN), ``age_equal_or_over."18"``. Every one is
selectively disclosable (``age_equal_or_over`` recursively: the holder can show "over 18" without the birth date);
decoys hide how many there are. ``iss``, ``iat``, ``exp``, ``vct``, ``cnf`` and ``status`` are always visible, and
there is no ``sub``: nothing correlates two presentations the holder did not choose to link.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from civid import sd_jwt
from credentials.runtime import CredentialServices
from enrollment.record import issuing_enrolment
from models import Identity

CONFIGURATION_ID = "civid_pid_sd_jwt"
VCT = "urn:civid:vct:pid:1"
SCOPE = "civid_pid"  # the OAuth scope of the authorization code flow (OpenID4VCI §5.1.2)
FORMAT = "dc+sd-jwt"
SIGNING_ALG = "ES256"
SEX_ISO_5218 = {"M": 1, "F": 2, "X": 0}
ADULT_AGE = 18
DECOYS = 4  # the digest count says nothing of which optional claims a person has
# The record fields a PID states (credentials.status: an update of one of them revokes it).
RECORD_FIELDS = ("given_name", "middle_names", "family_name", "date_of_birth", "sex", "place_of_birth", "nationality")
# (claim path, English display name, Spanish display name): the issuer metadata's claims description.
CLAIM_DISPLAY: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("given_name",), "Given names", "Nombres"),
    (("family_name",), "Family name", "Apellidos"),
    (("birthdate",), "Date of birth", "Fecha de nacimiento"),
    (("sex",), "Sex", "Sexo"),
    (("place_of_birth",), "Place of birth", "Lugar de nacimiento"),
    (("place_of_birth", "locality"), "Locality of birth", "Localidad de nacimiento"),
    (("nationalities",), "Nationality", "Nacionalidad"),
    (("personal_administrative_number",), "National identification number (UIN)", "Número de identificación (UIN)"),
    (("age_equal_or_over",), "Age at least", "Edad mínima"),
    (("age_equal_or_over", "18"), "Aged 18 or over", "Mayor de 18 años"),
)


def years_between(born: date, on: date) -> int:
    """Whole years of age on ``on`` for someone born on ``born``."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def pid_claims(db: Session, identity: Identity, today: date) -> dict[str, Any]:
    """The PID's selectively disclosable claims for ``identity`` as of ``today`` (plain values, not yet concealed)."""
    record = issuing_enrolment(db, identity.id)
    if record is None:
        raise LookupError(f"identity {identity.id} has no issuing enrolment")
    given = " ".join(name for name in (record.given_name, record.middle_names) if name)
    return {
        "given_name": given,
        "family_name": record.family_name,
        "birthdate": record.date_of_birth.isoformat(),
        "sex": SEX_ISO_5218.get(record.sex, 0),
        "place_of_birth": {"locality": record.place_of_birth},
        "nationalities": [record.nationality],
        "personal_administrative_number": identity.uin,
        "age_equal_or_over": {str(ADULT_AGE): years_between(record.date_of_birth, today) >= ADULT_AGE},
    }


def sign_pid(
    services: CredentialServices,
    values: dict[str, Any],
    *,
    holder_jwk: dict[str, Any],
    status: dict[str, Any],
    issued_at: datetime,
    expires_at: datetime,
) -> str:
    """The issued SD-JWT VC (``<issuer-signed JWT>~<disclosures>~``), signed with the credential keys."""
    members = dict(values)
    ages, age_disclosures = sd_jwt.conceal(members.pop("age_equal_or_over"))
    members["age_equal_or_over"] = ages  # its own disclosure holds the concealed object: recursive disclosure
    concealed, disclosures = sd_jwt.conceal(members, pad_to=len(members) + DECOYS)
    claims: dict[str, Any] = {
        "iss": services.settings.resolved_issuer,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "vct": VCT,
        **concealed,
        "_sd_alg": sd_jwt.SD_ALG,
        "cnf": {"jwk": holder_jwk},  # RFC 7800 §3.2: the wallet's proof key
        "status": status,  # Token Status List "Referenced Token"
    }
    token = services.credential_keys.sign(claims, typ=sd_jwt.SD_JWT_TYP)
    return sd_jwt.serialize(token, [*disclosures, *age_disclosures])
