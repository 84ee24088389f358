"""Which address the per-address login lockout counts against."""

from __future__ import annotations

from starlette.requests import Request

from civid.settings import Settings
from idp.lockout import source_of


def _request(forwarded: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/login",
            "client": ("10.0.0.9", 5000),
            "headers": [(b"x-forwarded-for", forwarded.encode())],
        }
    )


def test_behind_a_proxy_the_address_is_the_one_the_proxy_appended_not_one_the_client_wrote(tmp_path):
    settings = Settings(data_dir=tmp_path, trust_forwarded_for=True)
    # The client wrote "1.2.3.4" itself; the proxy appended the address it saw.
    assert source_of(_request("1.2.3.4, 203.0.113.7"), settings) == "203.0.113.7"
    assert source_of(_request("198.51.100.1"), settings) == "198.51.100.1"


def test_without_a_trusted_proxy_the_header_is_ignored(tmp_path):
    assert source_of(_request("1.2.3.4, 203.0.113.7"), Settings(data_dir=tmp_path)) == "10.0.0.9"
