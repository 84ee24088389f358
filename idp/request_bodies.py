"""The bodies the OAuth endpoints parse themselves, described for the OpenAPI document (``civid.openapi``).

``idp.form`` reads these endpoints' form-encoded bodies and ``idp.registration`` its JSON, so that errors
follow RFC 6749 §5.2 rather than FastAPI's validation; these models only tell clients what to send.
Unknown parameters are ignored (RFC 6749 §3.1, RFC 7591 §2), hence ``extra="allow"``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from civid.openapi import RequestBody
from idp.form import FORM
from idp.registration import RegistrationRequest


class ClientCredentials(BaseModel):
    """How a client authenticates in the body (RFC 6749 §2.3.1, RFC 7523 §2.2); or HTTP Basic instead."""

    model_config = ConfigDict(extra="allow")

    client_id: str | None = None
    client_secret: str | None = Field(None, description="client_secret_post (prefer HTTP Basic or a JWT)")
    client_assertion_type: str | None = Field(None, examples=["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"])
    client_assertion: str | None = Field(None, description="private_key_jwt: a JWT signed with the client's key")


class TokenRequest(ClientCredentials):
    """RFC 6749 §4.1.3 (authorization code, with the RFC 7636 §4.5 verifier) and §6 (refresh)."""

    grant_type: str = Field(examples=["authorization_code", "refresh_token"])
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: str | None = Field(None, description="PKCE (RFC 7636 §4.5)")
    refresh_token: str | None = None
    scope: str | None = Field(None, description="On refresh: at most the scopes first granted")


class PushedAuthorizationRequest(ClientCredentials):
    """RFC 9126 §2.1: the parameters of an authorization request (OIDC Core §3.1.2.1), sent by the client."""

    response_type: str = Field(examples=["code"])
    redirect_uri: str | None = None
    scope: str | None = Field(None, examples=["openid profile"])
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = Field(None, examples=["S256"])
    prompt: str | None = None
    max_age: str | None = Field(None, description="Seconds, as digits")
    acr_values: str | None = None
    claims: str | None = Field(None, description="JSON (OIDC Core §5.5), e.g. verified_claims requests")
    ui_locales: str | None = None
    login_hint: str | None = None


class TokenHandle(ClientCredentials):
    """RFC 7009 §2.1 (revocation) and RFC 7662 §2.1 (introspection): one token, with an optional hint."""

    token: str
    token_type_hint: str | None = Field(None, examples=["access_token", "refresh_token"])


BODIES = (
    RequestBody("POST", "/token", FORM, TokenRequest, "Form-encoded (RFC 6749 §3.2), each parameter once"),
    RequestBody("POST", "/par", FORM, PushedAuthorizationRequest, "Form-encoded (RFC 9126 §2.1)"),
    RequestBody("POST", "/revoke", FORM, TokenHandle, "Form-encoded (RFC 7009 §2.1)"),
    RequestBody("POST", "/introspect", FORM, TokenHandle, "Form-encoded (RFC 7662 §2.1)"),
    RequestBody(
        "POST",
        "/register",
        "application/json",
        RegistrationRequest,
        "Client metadata as JSON (RFC 7591 §3.1), with an initial access token as Bearer",
    ),
)
