"""The API documentation works offline: /docs loads Swagger UI from civid itself, not from a CDN."""

from __future__ import annotations

import re


def test_docs_page_and_its_assets_are_served_locally(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "civid API" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets), assets
    for url in assets:
        assert client.get(url).status_code == 200, url
    assert client.get("/openapi.json").json()["info"]["title"] == "civid"
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN: not offered
