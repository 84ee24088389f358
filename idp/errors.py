"""OAuth 2.0 / OpenID Connect errors as vocabulary: one class per error code the specs define.

Handlers just ``raise InvalidGrant("code already used")``. ``idp.error_response`` renders them in one place:
at the token, PAR, introspection, revocation, registration and userinfo endpoints as the RFC 6749 §5.2 JSON
body (``error``, ``error_description``, with the problem+json fields beside them); at the authorization
endpoint as a redirect to the client when the redirect URI was validated (``idp.authorize``), otherwise as
an HTML error page for the citizen.
"""

from __future__ import annotations

from typing import Any

from civid.errors import CividError


class OAuthError(CividError):
    """Base: ``error`` is the spec's error code; ``status`` the HTTP status of a direct response."""

    error: str = "invalid_request"
    status = 400

    def __init__(self, description: str, **extra: Any) -> None:
        super().__init__(description, **extra)
        self.description = description

    # Read-only properties in place of CividError's class attributes: both follow ``error``.
    @property
    def type_slug(self) -> str:  # type: ignore[override]
        return "oauth/" + self.error

    @property
    def title(self) -> str:  # type: ignore[override]
        return self.error


class InvalidRequest(OAuthError):
    error = "invalid_request"  # RFC 6749 §4.1.2.1, §5.2


class InvalidClient(OAuthError):
    error = "invalid_client"  # RFC 6749 §5.2: 401 (with WWW-Authenticate for Basic)
    status = 401


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class ServerError(OAuthError):
    error = "server_error"
    status = 500


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status = 503


class LoginRequired(OAuthError):
    error = "login_required"  # OIDC Core §3.1.2.6


class ConsentRequired(OAuthError):
    error = "consent_required"


class InteractionRequired(OAuthError):
    error = "interaction_required"


class InvalidRequestUri(OAuthError):
    error = "invalid_request_uri"


class InvalidRequestObject(OAuthError):
    error = "invalid_request_object"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"  # OIDC Core §3.1.2.6: a request_uri this OP did not issue (not PAR)


class InvalidToken(OAuthError):
    error = "invalid_token"  # RFC 6750 §3.1: 401 with WWW-Authenticate: Bearer error="invalid_token"
    status = 401


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status = 403


class InvalidRedirectUri(OAuthError):
    error = "invalid_redirect_uri"  # RFC 7591 §3.2.2


class InvalidClientMetadata(OAuthError):
    error = "invalid_client_metadata"


class UnsupportedTokenType(OAuthError):
    error = "unsupported_token_type"  # RFC 7009 §2.2.1


class InsufficientUserAuthentication(OAuthError):
    """RFC 9470 §3: the login behind the access token is too old or too weak for this request; the client
    sends the user back through /authorize with the ``acr_values``/``max_age`` named in the challenge."""

    error = "insufficient_user_authentication"
    status = 401


class InvalidDpopProof(OAuthError):
    """RFC 9449 §5, §7.1: the DPoP proof is missing where required, malformed, or does not fit the request; at a
    resource (UserInfo) a 401 with a ``DPoP`` challenge (``idp.error_response``)."""

    error = "invalid_dpop_proof"


class UseDpopNonce(OAuthError):
    """RFC 9449 §8: the proof must carry the server's nonce; the answer's ``DPoP-Nonce`` header gives it."""

    error = "use_dpop_nonce"
