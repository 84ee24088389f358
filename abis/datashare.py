"""Fetching a reference's CBEFF from MOSIP's data share (the insert request's ``referenceURL``), safely.

The URL arrives in a message, so it is treated as hostile: it must start with one of the configured data-share
prefixes (``CIVID_ABIS_DATASHARE_URLS``: scheme, host, port and path compared as parsed parts, so
``https://share.example.evil.com`` never passes for ``https://share.example``), carry no user name or password, and
its host must resolve to public addresses when connected to (``civid.outbound``: DNS rebinding cannot re-point an
allowed name) unless ``CIVID_ABIS_DATASHARE_ALLOW_PRIVATE``. Redirects are not followed, and the answer is read
up to ``CIVID_ABIS_MAX_CBEFF_BYTES`` and no further.

MOSIP's data share answers a functional failure with HTTP 200 and a JSON body of ``errors`` (ABIS API 0.9, "All
Possible Error codes ... from Datashare URL"); "Data share usage expired" becomes failure reason 17, anything else
reason 7; a refused token (``KER-ATH-401``) is renewed once (abis/mosip_auth.py). The data-share policy for civid
must not ask for encryption (``encryptionNeeded: false``): civid reads
the CBEFF XML as it is (docs/abis-mosip.md).
"""

from __future__ import annotations

import json
from urllib.parse import SplitResult, urlsplit

import httpx

from abis.messages import AbisFailure, FailureReason
from abis.mosip_auth import MosipToken
from civid import outbound
from civid.settings import Settings

_DEFAULT_PORTS = {"http": 80, "https": 443}


def allowed(url: str, prefixes: list[str]) -> bool:
    """Whether ``url`` lies under one of the data-share ``prefixes``, comparing parsed scheme, host, port and path."""
    try:
        target = urlsplit(url)
        target_port = _port(target)
    except ValueError:
        return False
    if target.scheme not in _DEFAULT_PORTS or target.username or target.password or not target.hostname:
        return False
    for prefix in prefixes:
        allowed_prefix = urlsplit(prefix)
        if (
            allowed_prefix.scheme == target.scheme
            and allowed_prefix.hostname == target.hostname
            and _port(allowed_prefix) == target_port
            and target.path.startswith(allowed_prefix.path or "/")
        ):
            return True
    return False


def _port(parts: SplitResult) -> int | None:
    return parts.port or _DEFAULT_PORTS.get(parts.scheme)


def fetch(
    url: str, settings: Settings, token: MosipToken | None = None, transport: httpx.BaseTransport | None = None
) -> bytes:
    """The CBEFF document at ``url``, read with MOSIP's token when one is configured (signing in again once if the
    data share refuses it); AbisFailure 7 (or 17, expired) if it cannot be had."""
    if not allowed(url, settings.abis_datashare_urls):
        raise AbisFailure(
            FailureReason.UNABLE_TO_FETCH_BIOMETRICS,
            "the referenceURL is not under a configured data-share URL (CIVID_ABIS_DATASHARE_URLS)",
        )
    try:
        return _fetch_once(url, settings, token, transport)
    except _TokenRefused:
        assert token is not None
        token.refused()
    try:
        return _fetch_once(url, settings, token, transport)
    except _TokenRefused as exc:
        raise AbisFailure(FailureReason.UNABLE_TO_FETCH_BIOMETRICS, "the data share refused civid's token") from exc


class _TokenRefused(Exception):
    """The data share refused the token sent (HTTP 401 or KER-ATH-401)."""


def _fetch_once(url: str, settings: Settings, token: MosipToken | None, transport: httpx.BaseTransport | None) -> bytes:
    limit = settings.abis_max_cbeff_bytes
    headers = {"Accept": "application/xml, */*", **(token.cookie(transport) if token else {})}
    try:
        with outbound.client(settings.abis_datashare_allow_private, settings.abis_datashare_timeout_s, transport) as c:
            with c.stream("GET", url, headers=headers) as response:
                if response.status_code == 401 and token is not None and token.configured:
                    raise _TokenRefused()
                if response.status_code != 200:
                    raise AbisFailure(
                        FailureReason.UNABLE_TO_FETCH_BIOMETRICS, f"the data share answered HTTP {response.status_code}"
                    )
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise AbisFailure(FailureReason.UNABLE_TO_FETCH_BIOMETRICS, f"the CBEFF is over {limit} bytes")
    except outbound.DisallowedAddress as exc:
        raise AbisFailure(FailureReason.UNABLE_TO_FETCH_BIOMETRICS, f"refused: {exc}") from exc
    except httpx.HTTPError as exc:
        raise AbisFailure(
            FailureReason.UNABLE_TO_FETCH_BIOMETRICS, f"the data share could not be read ({type(exc).__name__})"
        ) from exc
    _refuse_error_answer(bytes(body), token is not None and token.configured)
    return bytes(body)


def _refuse_error_answer(body: bytes, token_sent: bool) -> None:
    """MOSIP's data share says "no" with HTTP 200 and a JSON ``errors`` list: read it as the failure it is."""
    if not body.lstrip().startswith(b"{"):
        return
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        return
    messages = [f"{e.get('errorCode')}: {e.get('message')}" for e in errors if isinstance(e, dict)]
    if not messages:
        return
    if token_sent and any(m.startswith("KER-ATH-401") for m in messages):
        raise _TokenRefused()
    expired = any("expired" in m.lower() for m in messages)
    reason = FailureReason.DATA_SHARE_EXPIRED if expired else FailureReason.UNABLE_TO_FETCH_BIOMETRICS
    raise AbisFailure(reason, "the data share refused: " + "; ".join(messages))
