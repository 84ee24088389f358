"""The card verifier page, ``/verify``: a clinic, a school or a police check scans the ID card's Claim 169 QR and
the browser checks it — Base45, zlib, CBOR, the COSE_Sign1 ES256 signature with WebCrypto against civid's
credential keys (``/v1/credentials/jwks.json``), the CWT's validity dates and, when online, the card's bit in the
signed status list. Nothing about the card is sent to civid: the page only downloads the keys and the status list.

A service worker (``/verify/sw.js``, scope ``/verify``) keeps the page, its scripts, jsQR and the key set, so the
page opens and verifies with no network once it has been loaded; jsQR (the QR decoder, from the npm registry) is
installed by ``npm ci --prefix credentials/verifier`` (the Makefile does it) and served by civid itself. Without it
the page still loads and verifies pasted QR text.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from civid.errors import NotFound
from civid.web import i18n, pages
from credentials.issuer_keys import JWKS_PATH

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
SERVICE_WORKER = HERE / "static" / "sw.js"
# ``npm ci --prefix credentials/verifier`` puts it here (credentials/verifier/package-lock.json pins the version).
JSQR = HERE / "verifier" / "node_modules" / "jsqr" / "dist" / "jsQR.js"
PATH = "/verify"
ASSETS = "/verify/assets"
JAVASCRIPT = "text/javascript"
# The words the page's script writes (verdicts, field names): rendered into the page in its language, so the
# script, cached for offline use with the page, needs no catalogue of its own.
SCRIPT_MESSAGES = (
    "verify.signature_valid",
    "verify.signature_invalid",
    "verify.unknown_key",
    "verify.no_keys",
    "verify.not_a_card",
    "verify.unsupported_alg",
    "verify.valid_until",
    "verify.expired",
    "verify.not_yet_valid",
    "verify.no_expiry",
    "verify.validity_unchecked",
    "verify.status_valid",
    "verify.status_revoked",
    "verify.status_offline",
    "verify.status_unchecked",
    "verify.status_none",
    "verify.scanner_unavailable",
    "verify.camera_unavailable",
    "verify.no_qr_in_image",
    "verify.scanning",
    "verify.field.id",
    "verify.field.full_name",
    "verify.field.first_name",
    "verify.field.middle_name",
    "verify.field.last_name",
    "verify.field.date_of_birth",
    "verify.field.gender",
    "verify.field.nationality",
    "verify.field.address",
    "verify.field.card_number",
    "verify.field.issuer",
    "verify.field.issued_at",
    "verify.gender.1",
    "verify.gender.2",
    "verify.gender.3",
)

router = APIRouter(tags=["credentials"])


@router.get(PATH, response_class=HTMLResponse, dependencies=[Depends(pages.html_page)])
def verify_page(request: Request) -> HTMLResponse:
    """The verifier page (works offline once loaded; the card never leaves the browser)."""
    lang = pages.language(request)
    messages = {key: i18n.translate(key, lang) for key in SCRIPT_MESSAGES}
    response = pages.render(request, "verify.html", messages=messages, jwks_path=JWKS_PATH)
    # Revalidated, not ``no-store``: the service worker keeps a copy for offline use (the page holds no secret).
    response.headers["Cache-Control"] = "no-cache"
    del response.headers["Pragma"]
    return response


@router.get(PATH + "/sw.js", include_in_schema=False)
def service_worker() -> FileResponse:
    """The service worker, allowed to control ``/verify`` itself (its default scope would be ``/verify/``)."""
    return FileResponse(
        SERVICE_WORKER,
        media_type=JAVASCRIPT,
        headers={"Service-Worker-Allowed": PATH, "Cache-Control": "no-cache"},
    )


@router.get(PATH + "/jsQR.js", include_in_schema=False)
def jsqr() -> FileResponse:
    """jsQR from the npm registry, served by civid (no CDN); 404 when ``npm ci`` has not installed it."""
    if not JSQR.is_file():
        raise NotFound("the QR scanner is not installed (npm ci --prefix credentials/verifier)")
    return FileResponse(JSQR, media_type=JAVASCRIPT, headers={"Cache-Control": "no-cache"})


def install(app: FastAPI) -> None:
    """Add the verifier page, its templates and its scripts."""
    pages.add_template_folder(TEMPLATES)
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="verifier-assets")
