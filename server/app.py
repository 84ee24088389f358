"""The FastAPI application: routes, problem+json errors, request size limit, and service lifecycle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from abis.routes import install as install_abis
from civid import openapi, problems
from civid.canonical_host import CanonicalHost, startup_warning
from civid.metrics import RequestMetrics
from civid.request_id import RequestId
from civid.settings import Settings, get_settings
from console.app import install as install_console
from credentials.app import install as install_credentials
from credentials.card_routes import router as card_router
from crvs.routes import router as civil_registry_router
from enrollment import abis_worker, dedup_queue
from enrollment.batch import sweep as batch_sweep
from enrollment.biometric_update_routes import router as biometric_update_router
from enrollment.identity_status_routes import router as identity_status_router
from enrollment.record_update_routes import router as record_update_router
from enrollment.routes import router as enrolment_router
from enrollment.uin_recovery_routes import router as uin_recovery_router
from idp import request_bodies
from idp.app import housekeeping as idp_housekeeping
from idp.app import install as install_idp
from idp.identity_events import IdentityEventPusher
from kyc.app import install as install_kyc
from notifications.delivery import Deliverer
from server.admin_routes import router as admin_router
from server.audit_log_routes import router as audit_log_router
from server.bootstrap import ensure_bootstrap_admin
from server.metrics_routes import ensure_token as ensure_metrics_token
from server.metrics_routes import router as metrics_router
from server.services import Services, build_services

log = logging.getLogger("civid")
NOTIFICATION_POLL_S = 5.0  # how often the serve process looks for due notifications


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, limit: int, paths: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.paths = paths or {}  # exact paths with their own limit (the console's batch ZIP upload)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope.get("path", ""), self.limit)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        received = 0
        exceeded = False
        started = False

        async def limited() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            # FastAPI turns any error while reading the body into its own 400; once the limit is
            # passed, drop whatever the app answers so the client gets the 413 below instead.
            nonlocal started
            if exceeded and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, guarded_send)
        except _TooLarge:
            pass
        if exceeded and not started:
            await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        response = problems.problem(
            413,
            "Payload too large",
            f"the request body is over {limit} bytes",
            "https://civid.dev/problems/payload-too-large",
        )
        await response({"type": "http"}, _empty_receive, send)


class _TooLarge(Exception):
    pass


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from assets shipped in a Python package, never a CDN: the registration network may
    be offline, and an API page should not load third-party code."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="civid API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )


async def deliver_notifications(services: Services) -> None:
    """Send due notifications and Security Event Tokens every few seconds (rows left by a stopped process
    included)."""
    deliverer = Deliverer(services.settings, services.sessions)
    pusher = IdentityEventPusher(services.settings, services.sessions, services.signing_keys, services.idp_secrets)
    while True:
        for name, deliver in (("notification", deliverer.deliver_due), ("identity event", pusher.deliver_due)):
            try:
                await asyncio.to_thread(deliver)
            except Exception:  # a failed pass (database busy) must not stop the loop; the next one retries
                log.exception("%s delivery failed", name)
        await asyncio.sleep(NOTIFICATION_POLL_S)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app; services are created at start-up unless given (tests share theirs)."""
    settings = settings or (services.settings if services else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        if settings.issuer_host_is_ip_address:
            log.error(
                "the issuer %s has an IP address for its host: browsers refuse passkeys there, so staff cannot "
                "sign in to the console; set CIVID_ISSUER to a URL with a name (http://localhost:%s on this "
                "machine)",
                settings.resolved_issuer,
                settings.port,
            )
        if (host_warning := startup_warning(settings)) is not None:
            log.warning("CIVID_REDIRECT_TO_ISSUER_HOST: %s", host_warning)
        # The identity provider needs no gallery: an idp process never searches (face login is 1:1).
        searches = settings.role != "idp"
        app.state.services = services or build_services(
            settings, open_gallery=searches, show_progress=True, serve_gallery=searches
        )
        # The scrape token exists from the first start, for whoever configures Prometheus (docs/metrics.md).
        app.state.metrics_token = ensure_metrics_token(app.state.services.settings.resolved_metrics_token_file)
        key_file = ensure_bootstrap_admin(app.state.services)
        if key_file:
            log.warning("first start: an admin API key was written to %s (mode 0600)", key_file)
        if settings.role != "idp":
            batch_sweep.sweep(app.state.services)  # what a process killed while splitting a drive's archive left
            dedup_queue.release_abandoned_here(app.state.services.sessions)  # jobs a killed process of ours held
            abis_worker.drain_leftovers(app.state.services)  # and decide them if no worker will
        pruning = asyncio.create_task(idp_housekeeping(app.state.services, app.state.login_methods))
        app.state.services.backchannel_logout.wake()  # logout tokens left undelivered by the last run
        app.state.services.audit_log.sequencer.start()  # events a stopped process left unsequenced, then each commit's
        sending = asyncio.create_task(deliver_notifications(app.state.services))
        yield
        sending.cancel()
        pruning.cancel()
        if owned:
            app.state.services.close()

    app = FastAPI(
        title="civid",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="National digital identity: biometric enrolment with 1:N deduplication, verification and "
        "identification. Authenticate with `Authorization: Bearer <API key>`. Errors are "
        "`application/problem+json`.",
    )
    if services is not None:
        app.state.services = services
    _install_docs(app)
    problems.install(app)
    openapi.install(app, request_bodies.BODIES)
    registration = settings.role in ("all", "registration")
    # First: its token endpoint and UserInfo are the routes matched most often (idp.app.ROUTERS). A registration
    # process has it too: the console's staff sign in through the provider.
    install_idp(app)
    if registration:
        app.include_router(enrolment_router)
        app.include_router(identity_status_router)
        app.include_router(record_update_router)
        app.include_router(uin_recovery_router)
        app.include_router(biometric_update_router)
        app.include_router(card_router)  # the printed ID card's lifecycle (credentials/cards.py)
    app.include_router(admin_router)
    app.include_router(audit_log_router)
    app.include_router(metrics_router)
    if registration:
        install_console(app)
    if settings.role in ("all", "idp"):
        install_kyc(app)  # after idp: kyc registers its claims extension (verified_claims) with idp's registry
        app.include_router(civil_registry_router)  # births and deaths from Vital Statistics (crvs/)
        # What a citizen carries (credentials/): its keys and status lists, the card verifier page, the OpenID4VCI
        # wallet issuer and the OpenID4VP verifier; after idp, whose token endpoint takes the pre-authorized code grant.
        install_credentials(app)
    if registration:
        install_abis(app)  # MOSIP's ABIS contract (abis/): its own references, apart from civid's identities
    # Whole body: every photo at its limit plus room for the form fields; a registration drive's ZIP may be larger
    # (the console reads it only after checking the officer's session).
    app.add_middleware(
        BodyLimit,
        limit=settings.max_upload_bytes * settings.max_photos_per_enrolment + 256 * 1024,
        paths={"/console/batch": settings.batch_max_archive_bytes + 64 * 1024},
    )
    app.add_middleware(RequestMetrics)  # inside CanonicalHost: a redirect to the issuer's host is not a request here
    app.add_middleware(CanonicalHost, settings=settings)  # a page at the wrong host goes to the issuer's
    app.add_middleware(RequestId, trust_inbound=settings.trust_request_id)  # outermost: every answer carries its id
    return app
