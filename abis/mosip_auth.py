"""The token MOSIP's data share asks for: signing in at MOSIP's auth manager with a client id and secret key.

ABIS API 0.9, "Authentication Token": the data share is read with a JWT in the ``Authorization`` cookie, which
the auth manager's ``/v1/authmanager/authenticate/clientidsecretkey`` sets for a client id, secret key and app id
provided by the system integrator. civid signs in on first need, keeps the token, and signs in again when the
data share refuses it (``KER-ATH-401``). The auth manager's URL is configuration, not message content, but it is
reached through the same guarded client (``civid.outbound``).
"""

from __future__ import annotations

import threading

import httpx

from abis.messages import AbisFailure, FailureReason, response_time
from civid import outbound
from civid.settings import Settings

COOKIE = "Authorization"


class MosipToken:
    """The auth manager's token for civid's ABIS client, fetched once and renewed when refused."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._token: str | None = None
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.settings.abis_mosip_auth_url and self.settings.abis_mosip_client_id)

    def cookie(self, transport: httpx.BaseTransport | None = None) -> dict[str, str]:
        """The cookie header to send to the data share (empty when no auth manager is configured)."""
        if not self.configured:
            return {}
        with self._lock:
            if self._token is None:
                self._token = self._sign_in(transport)
            return {"Cookie": f"{COOKIE}={self._token}"}

    def refused(self) -> None:
        """The data share refused the token: the next fetch signs in again."""
        with self._lock:
            self._token = None

    def _sign_in(self, transport: httpx.BaseTransport | None) -> str:
        settings = self.settings
        assert settings.abis_mosip_auth_url is not None
        try:
            secret = (
                settings.abis_mosip_secret_key_file.read_text().strip() if settings.abis_mosip_secret_key_file else ""
            )
        except OSError as exc:
            raise AbisFailure(FailureReason.INTERNAL_ERROR, f"cannot read the MOSIP secret key file ({exc})") from exc
        body = {
            "id": "string",
            "version": "string",
            "requesttime": response_time(),
            "metadata": {},
            "request": {
                "appId": settings.abis_mosip_app_id,
                "clientId": settings.abis_mosip_client_id,
                "secretKey": secret,
            },
        }
        try:
            with outbound.client(
                settings.abis_datashare_allow_private, settings.abis_datashare_timeout_s, transport
            ) as c:
                answer = c.post(settings.abis_mosip_auth_url, json=body)
        except httpx.HTTPError as exc:
            raise AbisFailure(
                FailureReason.UNABLE_TO_FETCH_BIOMETRICS,
                f"MOSIP's auth manager could not be reached ({type(exc).__name__})",
            ) from exc
        token = next((value for name, value in answer.cookies.items() if name.lower() == COOKIE.lower()), None)
        if answer.status_code != 200 or not token:
            raise AbisFailure(
                FailureReason.UNABLE_TO_FETCH_BIOMETRICS,
                f"MOSIP's auth manager gave no token (HTTP {answer.status_code}): check the ABIS client's credentials",
            )
        return token
