"""``sector_identifier_uri`` at registration (OIDC Registration §2, OIDC Core §8.1): a file the client publishes
listing its redirect URIs, so that redirect URIs on several hosts share one pairwise sector — its host.

civid fetches it once, at registration, through the SSRF guard (``civid.outbound``: public addresses only unless
``CIVID_OUTBOUND_ALLOW_PRIVATE``, no redirects, a deadline, a size limit), and checks that every redirect URI
being registered is in the JSON array. Any failure is ``invalid_client_metadata`` (RFC 7591 §3.2.2).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import httpx

from civid import outbound
from idp.clients import check_redirect_uri
from idp.errors import InvalidClientMetadata

FETCH_TIMEOUT_S = 5.0
MAX_BYTES = 64 * 1024  # a list of redirect URIs; anything larger is not one
NOT_A_LIST = "the sector_identifier_uri is not a JSON array of strings (the redirect URIs)"

log = logging.getLogger("civid.idp.sector_identifier")


def sector_host(uri: str, redirect_uris: list[str], allow_private: bool) -> str:
    """Fetch ``uri``, check it lists every one of ``redirect_uris``, and return its host (the pairwise sector)."""
    if len(uri) > 2000:
        raise InvalidClientMetadata("sector_identifier_uri must be at most 2000 characters")
    # OIDC Registration §2: an https URL (http only on loopback, as for redirect URIs, for development).
    check_redirect_uri(uri, InvalidClientMetadata, what="sector_identifier_uri")
    listed = _fetch(uri, allow_private)
    missing = [redirect for redirect in redirect_uris if redirect not in listed]
    if missing:
        raise InvalidClientMetadata(f"redirect URIs not listed in the sector_identifier_uri: {', '.join(missing)}")
    return urlsplit(uri).hostname or ""


def _fetch(uri: str, allow_private: bool) -> list[str]:
    """The JSON array of URIs at ``uri`` (untrusted: bounded in time and size).

    The registrar is told what failed in words; the exception's own text (addresses, resolver and parser
    messages) goes to the log only, since it describes civid's network rather than the client's file."""
    try:
        with (
            outbound.client(allow_private, FETCH_TIMEOUT_S) as http,
            http.stream("GET", uri, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                log.warning("sector_identifier_uri %s answered HTTP %s", uri, response.status_code)
                raise InvalidClientMetadata(f"the sector_identifier_uri answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise InvalidClientMetadata(f"the sector_identifier_uri answered more than {MAX_BYTES} bytes")
    except outbound.DisallowedAddress as exc:
        log.warning("sector_identifier_uri %s not fetched: %s", uri, exc)
        raise InvalidClientMetadata(
            "the sector_identifier_uri is not on a public address (CIVID_OUTBOUND_ALLOW_PRIVATE)"
        ) from exc
    except httpx.HTTPError as exc:
        log.warning("sector_identifier_uri %s could not be fetched: %r", uri, exc)
        raise InvalidClientMetadata("the sector_identifier_uri could not be fetched") from exc
    try:
        listed = json.loads(bytes(body))
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        log.warning("sector_identifier_uri %s is not JSON: %s", uri, exc)
        listed = None
    if not isinstance(listed, list) or not all(isinstance(item, str) for item in listed):
        raise InvalidClientMetadata(NOT_A_LIST)
    return listed
