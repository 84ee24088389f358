"""``/metrics`` (Prometheus, behind a scrape token) and ``/readyz`` (may this process take traffic?).

Counters of what happens live in civid/metrics.py. What is a state rather than an event is read when Prometheus
scrapes, from the database every process shares: the dedup queue and its time to decision (standalone ``civid
abis worker`` processes serve no HTTP, so their work is seen here, in the rows they write), enrolments and
identities by status, the back-channel logout outbox, the audit log's unsequenced backlog and checkpoint age, and
the age of each key; plus this process's own gallery sizes. Each is a few indexed COUNTs, cheap at a 15 s scrape.

``/healthz`` stays the liveness probe (the process answers); ``/readyz`` says whether it should get requests:
the database answers, the keys are there, and (a process that searches) its galleries are loaded.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from civid import metrics
from civid.deps import get_services
from civid.errors import Unauthenticated
from models import (
    AuditCheckpoint,
    AuditEvent,
    BackchannelLogout,
    DedupJob,
    Enrolment,
    FaceTemplate,
    FingerTemplate,
    Identity,
    SigningKey,
    utcnow,
)
from server.services import Services

router = APIRouter()
ServicesDep = Annotated[Services, Depends(get_services)]
DECISION_WINDOW = timedelta(minutes=15)  # the jobs the time-to-decision quantiles are taken over


def ensure_token(path: Path) -> str:
    """The scrape token at ``path``, made on first start (0600; created exclusively: workers may race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().splitlines()[0].strip()
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def _quantiles(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {}
    ordered = sorted(seconds)
    return {q: ordered[min(len(ordered) - 1, int(float(q) * len(ordered)))] for q in ("0.5", "0.95", "0.99")}


class StateCollector(Collector):
    """The gauges read at scrape time (see the module's docstring)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[GaugeMetricFamily]:
        services = self.services
        now = utcnow()
        with services.sessions() as session:
            yield _by(
                "civid_dedup_jobs",
                "Dedup jobs by status",
                "status",
                session.execute(select(DedupJob.status, func.count()).group_by(DedupJob.status)),
            )
            oldest = session.scalar(select(func.min(DedupJob.created_at)).where(DedupJob.status == "queued"))
            yield _one(
                "civid_dedup_oldest_queued_seconds",
                "Age of the oldest queued dedup job (0: none queued)",
                (now - oldest).total_seconds() if oldest else 0.0,
            )
            finished = session.execute(
                select(DedupJob.created_at, DedupJob.finished_at)
                .where(DedupJob.status == "done", DedupJob.finished_at >= now - DECISION_WINDOW)
                .limit(100_000)
            )
            decision = GaugeMetricFamily(
                "civid_dedup_time_to_decision_seconds",
                "Queued to decided, over the jobs decided in the last 15 minutes, by quantile",
                labels=["quantile"],
            )
            for q, value in _quantiles([(done - queued).total_seconds() for queued, done in finished if done]).items():
                decision.add_metric([q], value)
            yield decision
            yield _by(
                "civid_enrolments",
                "Enrolments by status",
                "status",
                session.execute(select(Enrolment.status, func.count()).group_by(Enrolment.status)),
            )
            yield _by(
                "civid_identities",
                "Identities by status",
                "status",
                session.execute(select(Identity.status, func.count()).group_by(Identity.status)),
            )
            backlog = session.execute(
                select(func.count(), func.min(BackchannelLogout.created_at)).select_from(BackchannelLogout)
            ).one()
            yield _one("civid_backchannel_logout_backlog", "Logout tokens not yet delivered", backlog[0])
            yield _one(
                "civid_backchannel_logout_oldest_seconds",
                "Age of the oldest undelivered logout token",
                (now - backlog[1]).total_seconds() if backlog[1] else 0.0,
            )
            unsequenced = session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.leaf_index.is_(None))
            )
            yield _one("civid_audit_unsequenced_events", "Committed audit events not yet in the log", unsequenced)
            last = session.execute(
                select(AuditCheckpoint.tree_size, AuditCheckpoint.signed_at)
                .order_by(AuditCheckpoint.tree_size.desc())
                .limit(1)
            ).first()
            yield _one("civid_audit_log_size", "Leaves in the audit log's latest checkpoint", last[0] if last else 0)
            yield _one(
                "civid_audit_checkpoint_age_seconds",
                "Age of the latest signed audit checkpoint",
                (now - last[1]).total_seconds() if last else 0.0,
            )
            signing = session.scalar(
                select(func.max(SigningKey.activates_at)).where(
                    SigningKey.retired_at.is_(None), SigningKey.activates_at <= now
                )
            )
            max_ids = {
                "face": session.scalar(select(func.max(FaceTemplate.id))) or 0,
                "finger": session.scalar(select(func.max(FingerTemplate.id))) or 0,
            }
        ages = GaugeMetricFamily("civid_key_age_seconds", "Age of each key in use", labels=["key"])
        if signing is not None:
            ages.add_metric(["oidc_signing"], (now - signing).total_seconds())
        for name, path in (
            ("template_key_ring", services.settings.resolved_template_keys_file),  # rewritten at each rotation
            ("audit_key", services.settings.resolved_audit_key_file),
        ):
            if path.is_file():
                ages.add_metric([name], time.time() - path.stat().st_mtime)
        yield ages
        sizes = GaugeMetricFamily(
            "civid_gallery_templates", "Templates in this process's gallery", labels=["gallery", "pid"]
        )
        lag = GaugeMetricFamily(
            "civid_gallery_lag_ids",
            "Newest stored template id minus the newest this gallery includes",
            labels=["gallery", "pid"],
        )
        if services.settings.role != "idp":
            for name, store in (("face", services.gallery), ("finger", services.fingers)):
                sizes.add_metric([name, str(os.getpid())], len(store))
                lag.add_metric([name, str(os.getpid())], max(0, max_ids[name] - store.watermark))
        yield sizes
        yield lag


def _one(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value or 0))


def _by(name: str, documentation: str, label: str, rows: Any) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, count in rows:
        family.add_metric([str(key)], count)
    return family


def _require_token(request: Request, services: Services) -> None:
    expected = getattr(request.app.state, "metrics_token", None)
    if expected is None:
        expected = request.app.state.metrics_token = ensure_token(services.settings.resolved_metrics_token_file)
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthenticated(
            "/metrics needs the scrape token: Authorization: Bearer <the first line of CIVID_METRICS_TOKEN_FILE>"
        )


@router.get("/metrics", include_in_schema=False)
def scrape(request: Request, services: ServicesDep) -> Response:
    _require_token(request, services)
    registry = metrics.registry() or REGISTRY
    state = StateCollector(services)
    body = generate_latest(registry) + generate_latest(_Single(state))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class _Single:
    """A registry-like holder of one collector (generate_latest asks only for ``collect``)."""

    def __init__(self, collector: Collector) -> None:
        self._collector = collector

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return self._collector.collect()  # type: ignore[return-value]


@router.get("/readyz", tags=["service"], summary="Whether this process should get requests")
def ready(services: ServicesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with services.sessions() as session:
            session.execute(text("SELECT 1"))
            active = session.scalar(
                select(func.count())
                .select_from(SigningKey)
                .where(SigningKey.retired_at.is_(None), SigningKey.activates_at <= utcnow())
            )
        checks["database"] = "ok"
        checks["signing_keys"] = "ok" if active else "no active signing key"
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is the finding
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["template_keys"] = "ok" if services.keyring.active in services.keyring.key_ids else "no active key"
    if services.settings.role != "idp":
        for name, store in (("face_gallery", services.gallery), ("finger_index", services.fingers)):
            checks[name] = "ok" if store.opened else "not loaded"
    if all(value == "ok" for value in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failing = ", ".join(f"{name}: {value}" for name, value in checks.items() if value != "ok")
    problem = {
        "type": "https://civid.dev/problems/not-ready",
        "title": "Not ready",
        "status": 503,
        "detail": f"this process should not get requests yet ({failing})",
        "checks": checks,
    }
    return JSONResponse(problem, status_code=503, media_type="application/problem+json")
