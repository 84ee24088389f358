"""The Credential Endpoint's errors (OpenID4VCI 1.0 §8.3.1.2 "Credential Request Errors"): one class per code, 400,
rendered as OAuth JSON (``error``, ``error_description``) by ``idp.error_response`` like every ``OAuthError``."""

from __future__ import annotations

from idp.errors import OAuthError


class InvalidCredentialRequest(OAuthError):
    error = "invalid_credential_request"  # missing, unsupported, repeated or malformed parameter


class UnknownCredentialConfiguration(OAuthError):
    error = "unknown_credential_configuration"


class UnknownCredentialIdentifier(OAuthError):
    error = "unknown_credential_identifier"


class InvalidProof(OAuthError):
    error = "invalid_proof"  # proofs missing, a key proof invalid, or without a c_nonce


class InvalidNonce(OAuthError):
    error = "invalid_nonce"  # the key proof's c_nonce is unknown, expired or used: fetch a new one


class CredentialRequestDenied(OAuthError):
    error = "credential_request_denied"  # unrecoverable: e.g. the identity is no longer active
