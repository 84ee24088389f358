"""Helpers for the OpenID4VP verifier tests: a civid PID credential as the issuer will sign it (SD-JWT VC, key-bound,
with a status slot), a wallet holding it that presents through the independent ``sd-jwt`` package (its
``SDJWTHolder`` selects the Disclosures and signs the Key Binding JWT), and a bank asking for presentations."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import KeySet
from jwcrypto.jwk import JWK
from sd_jwt.holder import SDJWTHolder

from civid import sd_jwt
from civid.uin import verhoeff_check_digit
from credentials import status
from credentials.pid import VCT
from models import Identity, utcnow
from server.services import Services
from tests.idp.conftest import register_client
from tests.kyc.banks import Bank, client_auth, register_bank

PRESENTATIONS = "/v1/presentations"
RESPONSE = "/v1/presentations/wallet/response"
PID_VCT = VCT  # the PID civid issues (credentials/pid.py)
PERSON = {
    "given_name": "Adriana",
    "family_name": "Castillo",
    "birthdate": "1990-04-17",
    "nationality": "BZ",
    "age_over_18": True,
}
STATED = ["given_name", "family_name", "date_of_birth"]  # record fields the credential states


def identity(services: Services, digits: str = "405807526") -> int:
    """An issued identity the credentials are about."""
    with services.sessions.begin() as db:
        row = Identity(uin=digits + verhoeff_check_digit(digits), status="active")
        db.add(row)
        db.flush()
        return row.id


def holder_key() -> JWK:
    """A wallet's P-256 key (jwcrypto, as the sd-jwt package signs with it)."""
    return JWK.generate(kty="EC", crv="P-256")


@dataclass
class Wallet:
    """A credential as issued (``<JWT>~<Disclosures>~``), the key it is bound to, and its status slot's id."""

    issued: str
    key: JWK
    status_id: int
    claims: dict[str, Any] = field(default_factory=dict)

    def present(self, names: list[str], *, nonce: str, aud: str, key: JWK | None = None, kb: bool = True) -> str:
        """The presentation ``SDJWTHolder`` builds: the Disclosures of ``names`` and a KB-JWT (unless ``kb`` is
        False) signed with ``key`` (the bound key by default)."""
        holder = SDJWTHolder(self.issued)
        signer = key or self.key
        holder.create_presentation(
            {name: True for name in names},
            nonce=nonce if kb else None,
            aud=aud if kb else None,
            holder_key=signer if kb else None,
            sign_alg="ES256",
        )
        return holder.sd_jwt_presentation


def issue(
    services: Services,
    identity_id: int,
    *,
    claims: dict[str, Any] | None = None,
    vct: str = PID_VCT,
    expires_in: timedelta = timedelta(days=365),
    key: JWK | None = None,
    sign: Any = None,
) -> Wallet:
    """A civid PID credential (the issuer's shape: iss, vct, iat, exp, cnf, status, _sd_alg, _sd), signed with the
    credential keys unless ``sign`` (claims → compact JWS) is given."""
    key = key or holder_key()
    person = dict(PERSON if claims is None else claims)
    now = utcnow()
    with services.sessions.begin() as db:
        row = status.allocate(
            db,
            services.settings.status_list_size,
            identity_id=identity_id,
            kind="wallet",
            claims=STATED,
            expires_at=now + expires_in,
        )
        reference = status.reference(services.settings.resolved_issuer, row)
        status_id = row.id
    concealed, disclosures = sd_jwt.conceal(person, pad_to=len(person) + 3)
    payload = {
        "iss": services.settings.resolved_issuer,
        "vct": vct,
        "iat": int(now.timestamp()),
        "exp": int((now + expires_in).timestamp()),
        "cnf": {"jwk": key.export_public(as_dict=True)},
        "status": reference,
        "_sd_alg": sd_jwt.SD_ALG,
        **concealed,
    }
    signer = sign or (lambda claims: services.credential_keys.sign(claims, typ=sd_jwt.SD_JWT_TYP))
    return Wallet(sd_jwt.serialize(signer(payload), disclosures), key, status_id, person)


def pid_query(names: list[str] | None = None, query_id: str = "pid", **extra: Any) -> dict[str, Any]:
    """A DCQL query for civid's PID and the claims ``names`` (default: names and age_over_18)."""
    wanted = names if names is not None else ["given_name", "family_name", "age_over_18"]
    credential = {
        "id": query_id,
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [PID_VCT]},
        "claims": [{"path": [name]} for name in wanted],
        **extra,
    }
    return {"credentials": [credential]}


def presentations_bank(services: Services, name: str = "Belize Bank") -> Bank:
    """A relying party with private_key_jwt and the presentations entitlement."""
    return register_bank(services, name=name, entitlements=("presentations",))


def secret_bank(services: Services) -> tuple[str, str]:
    """A relying party with client_secret_basic and the presentations entitlement: (client_id, secret)."""
    client_id, secret = register_client(services, name="Counter 4", entitlements=["presentations"])
    assert secret
    return client_id, secret


def ask(client: TestClient, services: Services, bank: Bank, query: dict[str, Any] | None = None, **body: Any):
    """POST /v1/presentations as ``bank`` (private_key_jwt in the JSON body)."""
    payload = {"dcql_query": pid_query() if query is None else query, **client_auth(bank, services, PRESENTATIONS)}
    return client.post(PRESENTATIONS, json={**payload, **body})


def poll(client: TestClient, services: Services, bank: Bank, transaction_id: str, wait: int = 0):
    """POST /v1/presentations/{id} as ``bank``."""
    path = f"{PRESENTATIONS}/{transaction_id}"
    return client.post(f"{path}?wait={wait}", json=client_auth(bank, services, path))


def request_object(client: TestClient, request_uri: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of the request object at ``request_uri``, verified by joserfc against /jwks.json."""
    response = client.get(request_uri)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/oauth-authz-req+jwt"
    keys = KeySet.import_key_set(client.get("/jwks.json").json())
    verified = jws.deserialize_compact(response.text, keys, algorithms=["ES256", "RS256"])
    return dict(verified.protected), json.loads(verified.payload)


def respond(client: TestClient, state: str, presentations: dict[str, str] | None = None, **form: str):
    """The wallet's direct_post to the response_uri."""
    data = {"state": state, **form}
    if presentations is not None:
        data["vp_token"] = json.dumps({query_id: [value] for query_id, value in presentations.items()})
    return client.post(RESPONSE, data=data)
