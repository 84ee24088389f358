"""Retention (server/retention.py, ``civid retention``) on SQLite and PostgreSQL: rows older than their period are
deleted and those younger kept; a deceased person's templates, an open case's enrolments and a session a grant
names are kept whatever the age; each batch audited with its count; a dry run deletes nothing; two runs at once
delete each row once; the gallery drops deleted templates when it reconciles; the command prints its table."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from civid.settings import Settings, get_settings
from civid.settings_groups import RetentionPolicy
from enrollment.templates import seal_descriptor
from models import (
    ApiKey,
    AuditEvent,
    CaseCandidate,
    DataRelease,
    DedupCase,
    Enrolment,
    FaceTemplate,
    FingerTemplate,
    Grant,
    Identity,
    IdentityStatusChange,
    LoginAttempt,
    LoginSession,
    Photo,
    utcnow,
)
from server import retention
from server.cli import app
from tests.conftest import add_keys, make_settings
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture

POLICY = RetentionPolicy(photo_days=100, deactivated_template_days=365, release_days=100, login_history_days=100)
NOW = utcnow()
OLD = NOW - timedelta(days=400)
NEW = NOW - timedelta(days=10)


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path: Path):
    if request.param == "postgresql":
        return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_schema_url"))
    return make_settings(tmp_path)


def _person(db, services, uin: str, *, created: datetime = OLD, status: str = "issued") -> Enrolment:
    """An identity and its enrolment with one sealed face template, one finger template and one photo."""
    officer = db.scalars(select(ApiKey).where(ApiKey.name == "test officer")).one()
    identity = Identity(uin=uin, status="active", created_at=created)
    db.add(identity)
    db.flush()
    enrolment = Enrolment(
        public_id=f"e-{uin}",
        status=status,
        officer_id=officer.id,
        given_name="Ana",
        family_name="Pérez",
        date_of_birth=date(1990, 4, 21),
        sex="F",
        place_of_birth="Belize City",
        nationality="BLZ",
        address={"line1": "12 Albert Street", "country": "BLZ"},
        identity_id=identity.id,
        created_at=created,
    )
    db.add(enrolment)
    db.flush()
    vector = np.random.default_rng(int(uin[-3:])).standard_normal(128).astype(np.float32)
    sealed = seal_descriptor(services.keyring, vector / np.linalg.norm(vector), enrolment.public_id, 0)
    db.add(FaceTemplate(enrolment_id=enrolment.id, photo_index=0, **_sealed(sealed), quality_score=1.0))
    db.add(
        FingerTemplate(
            enrolment_id=enrolment.id,
            position=1,
            source="import",
            minutiae_count=30,
            **_sealed(sealed),
            features_nonce=sealed.nonce,
            features_ciphertext=sealed.ciphertext,
        )
    )
    db.add(Photo(enrolment_id=enrolment.id, photo_index=0, content_type="image/jpeg", **_sealed(sealed)))
    db.flush()
    return enrolment


def _sealed(sealed) -> dict:  # type: ignore[no-untyped-def]
    return {"key_id": sealed.key_id, "nonce": sealed.nonce, "ciphertext": sealed.ciphertext}


def _status(db, identity_id: int, to_status: str, reason: str, when: datetime) -> None:
    identity = db.get(Identity, identity_id)
    db.add(
        IdentityStatusChange(
            identity_id=identity_id,
            transition="deactivated" if to_status == "deactivated" else "reactivated",
            from_status=identity.status,
            to_status=to_status,
            reason=reason,
            evidence_reference="REF-1",
            actor_name="test",
            actor_role="adjudicator",
            created_at=when,
        )
    )
    identity.status = to_status
    db.flush()


def _session(db, identity_id: int, sid: str, created: datetime) -> LoginSession:
    row = LoginSession(
        sid=sid,
        token_hash=sid * 4,
        identity_id=identity_id,
        auth_time=created,
        acr="urn:civid:acr:face",
        amr=["face"],
        created_at=created,
        expires_at=created + timedelta(hours=8),
    )
    db.add(row)
    db.flush()
    return row


def _seed(services) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One row of each kind on each side of its cut-off, and the rows kept whatever their age."""
    add_keys(services)
    with services.sessions.begin() as db:
        people = {
            name: _person(db, services, uin, **extra)
            for name, uin, extra in (
                ("renounced_long_ago", "1000000001", {}),
                ("renounced_lately", "1000000002", {}),
                ("deceased", "1000000003", {}),
                ("active", "1000000004", {"created": NEW}),
                ("reactivated", "1000000005", {}),
                ("candidate", "1000000006", {}),
                ("applicant", "1000000007", {"status": "pending_adjudication"}),
            )
        }
        ids = {name: enrolment.identity_id for name, enrolment in people.items()}
        _status(db, ids["renounced_long_ago"], "deactivated", "voluntary_renunciation", OLD)
        _status(db, ids["renounced_lately"], "deactivated", "duplicate", NEW)
        _status(db, ids["deceased"], "deactivated", "death", OLD)
        _status(db, ids["reactivated"], "deactivated", "death", OLD)
        _status(db, ids["reactivated"], "active", "recorded_in_error", OLD + timedelta(days=1))
        _status(db, ids["candidate"], "deactivated", "voluntary_renunciation", OLD)
        case = DedupCase(public_id="case-1", enrolment_id=people["applicant"].id, status="open")
        db.add(case)
        db.flush()
        db.add(CaseCandidate(case_id=case.id, rank=1, enrolment_id=people["candidate"].id, face_score=0.95))
        someone = ids["active"]
        for when in (OLD, NEW):
            db.add(
                DataRelease(identity_id=someone, client_id="bank", channel="id_token", claims=["sub"], released_at=when)
            )
            db.add(LoginAttempt(identity_id=someone, source="10.0.0.1", method="face", success=True, occurred_at=when))
        _session(db, someone, "old-ended", OLD)
        _session(db, someone, "recent", NEW)
        granted = _session(db, someone, "old-granted", OLD)
        db.add(
            Grant(
                uid="grant-1",
                client_id="bank",
                identity_id=someone,
                login_session_id=granted.id,
                scope="openid",
                auth_time=OLD,
                acr="urn:civid:acr:face",
                amr=["face"],
                created_at=OLD,
                expires_at=OLD + timedelta(days=1),
            )
        )
        return {name: enrolment.id for name, enrolment in people.items()}


def _left(services) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return {
            "faces": set(db.scalars(select(FaceTemplate.enrolment_id))),
            "fingers": set(db.scalars(select(FingerTemplate.enrolment_id))),
            "photos": set(db.scalars(select(Photo.enrolment_id))),
            "releases": len(db.scalars(select(DataRelease.id)).all()),
            "attempts": len(db.scalars(select(LoginAttempt.id)).all()),
            "sessions": set(db.scalars(select(LoginSession.sid))),
        }


def _audited(services) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.action.like("retention.%"))).all()
    counts: dict[str, int] = {}
    for event in events:
        assert event.actor_role == "system" and event.subject_type == "retention"
        key = f"{event.action}:{event.detail['table']}"
        counts[key] = counts.get(key, 0) + event.detail["count"]
    return counts


def test_only_rows_older_than_their_period_go_and_deceased_templates_stay(services) -> None:
    enrolments = _seed(services)
    reports = {r.kind: r for r in retention.run(services.sessions, POLICY, now=NOW)}

    left = _left(services)
    everyone = set(enrolments.values())
    assert left["faces"] == left["fingers"] == everyone - {enrolments["renounced_long_ago"]}
    # Photos by their enrolment's age; the open case's applicant and candidate keep theirs.
    assert left["photos"] == {enrolments["active"], enrolments["candidate"], enrolments["applicant"]}
    assert left["releases"] == 1 and left["attempts"] == 1
    assert left["sessions"] == {"recent", "old-granted"}
    assert reports["deactivated_templates"].deleted == 2
    assert reports["photos"].deleted == 4 and reports["photos"].cutoff == NOW - timedelta(days=100)
    assert _audited(services) == {
        "retention.photos_deleted:photos": 4,
        "retention.templates_deleted:face_templates": 1,
        "retention.templates_deleted:finger_templates": 1,
        "retention.releases_deleted:data_releases": 1,
        "retention.login_history_deleted:login_attempts": 1,
        "retention.login_history_deleted:login_sessions": 1,
    }
    with services.sessions() as db:
        templates = db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.templates_deleted")).first()
    assert templates is not None and templates.detail["uins"] == ["1000000001"]
    assert templates.detail["cutoff"] == (NOW - timedelta(days=365)).isoformat()

    again = retention.run(services.sessions, POLICY, now=NOW)
    assert sum(r.deleted for r in again) == 0


def test_a_dry_run_counts_and_deletes_nothing_and_none_keeps_forever(services) -> None:
    _seed(services)
    before = _left(services)
    forever = RetentionPolicy(None, 365, 100, 100)
    reports = {r.kind: r for r in retention.run(services.sessions, forever, now=NOW, dry_run=True)}
    assert _left(services) == before and _audited(services) == {}
    assert reports["photos"].retention_days is None and reports["photos"].deleted == 0
    assert reports["deactivated_templates"].deleted == 2 and reports["login_history"].deleted == 2
    done = {r.kind: r.deleted for r in retention.run(services.sessions, forever, now=NOW)}
    assert done == {k: r.deleted for k, r in reports.items()}
    assert _left(services)["photos"] == before["photos"]


def test_the_gallery_drops_deleted_templates_when_it_reconciles(services) -> None:
    enrolments = _seed(services)
    with services.sessions() as db:
        services.gallery.reconcile(db)
        gone = db.scalar(select(FaceTemplate.id).where(FaceTemplate.enrolment_id == enrolments["renounced_long_ago"]))
    assert gone in services.gallery.ids()
    retention.delete_deactivated_templates(services.sessions, POLICY, now=NOW)
    with services.sessions() as db:
        assert services.gallery.reconcile(db) == (0, 1)
    assert gone not in services.gallery.ids() and len(services.gallery) == len(enrolments) - 1


def test_two_runs_at_once_delete_each_row_once(tmp_path: Path, postgres_schema_url: str) -> None:  # noqa: F811
    from server.services import build_services

    services = build_services(make_settings(tmp_path, database_url=postgres_schema_url), open_gallery=False)
    try:
        identity_id = _seed(services)["active"]
        with services.sessions.begin() as db:
            identity_id = db.get(Enrolment, identity_id).identity_id
            db.add_all(
                DataRelease(identity_id=identity_id, client_id="bank", channel="userinfo", claims=[], released_at=OLD)
                for _ in range(600)
            )
        barrier = threading.Barrier(2)
        results: list[retention.RetentionReport] = []

        def one_run() -> None:
            barrier.wait()
            results.append(retention.delete_releases(services.sessions, POLICY, now=NOW, batch_size=25))

        threads = [threading.Thread(target=one_run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(r.deleted for r in results) == 601
        assert _audited(services) == {"retention.releases_deleted:data_releases": 601}
        with services.sessions() as db:
            assert db.scalar(select(func.count()).select_from(DataRelease)) == 1
            ranges = [
                (e.detail["first_id"], e.detail["last_id"])
                for e in db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.releases_deleted"))
            ]
        assert len(ranges) == sum(r.tables[0].batches for r in results)
    finally:
        services.close()


def test_settings_take_forever_words_and_refuse_zero_days() -> None:
    assert Settings(retention_photo_days="forever", retention_release_days="").retention.photo_days is None
    assert Settings().retention == RetentionPolicy(None, 365, 1825, 365)
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Settings(retention_login_history_days=0)


def _cli(tmp_path: Path, *args: str, **env: str):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    try:
        environment = {"CIVID_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200", **env}
        return CliRunner().invoke(app, list(args), env=environment)
    finally:
        get_settings.cache_clear()


def test_the_command_prints_what_it_deleted_and_the_policy(tmp_path: Path) -> None:
    from server.services import build_services

    services = build_services(make_settings(tmp_path), open_gallery=False)
    try:
        _seed(services)
    finally:
        services.close()
    env = {"CIVID_RETENTION_PHOTO_DAYS": "100", "CIVID_RETENTION_RELEASE_DAYS": "100"}
    dry = _cli(tmp_path, "retention", "run", "--dry-run", **env)
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "data_releases" in dry.output
    done = _cli(tmp_path, "retention", "run", **env)
    assert done.exit_code == 0, done.output
    assert "deleted" in done.output and "face_templates" in done.output and "each batch audited" in done.output
    assert "2 template(s) deleted: no search reports them" in done.output
    cutoff = (utcnow() - timedelta(days=365)).strftime("%Y-%m-%d")
    assert cutoff in done.output
    shown = _cli(tmp_path, "retention", "show")
    assert shown.exit_code == 0, shown.output
    assert "kept forever" in shown.output and "deceased" in shown.output
    bad = _cli(tmp_path, "retention", "run", "--kind", "everything")
    assert bad.exit_code == 2 and "unknown kind everything" in bad.output
    invalid = _cli(tmp_path, "retention", "show", CIVID_RETENTION_PHOTO_DAYS="0")
    assert invalid.exit_code == 2
    assert "civid will not start: CIVID_RETENTION_PHOTO_DAYS: Input should be greater" in invalid.output
