"""``civid doctor``: what is wrong with this deployment, in words, each finding with what to do about it.

Read-only: it opens the database without migrating it and loads no model or index (a doctor that repaired what it
examined could not tell you what it found). Each check gives ``ok``, ``warn`` (works, but not as it should run
in front of citizens) or ``fail`` (broken, or unsafe); the command exits 1 when any check fails.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, func, select, text

from civid.settings import Settings
from civid.settings_checks import production_problems

DAY = 86400.0


@dataclass(frozen=True)
class Finding:
    check: str
    level: str  # ok | warn | fail
    message: str
    fix: str = ""


def _ok(check: str, message: str) -> Finding:
    return Finding(check, "ok", message)


def deployment(settings: Settings) -> list[Finding]:
    findings = production(settings)
    findings += key_files(settings)
    engine = _engine(settings)
    try:
        for check in (migrations, clock, signing_keys, backups, audit_log, dedup_queue, indexes):
            try:
                findings += list(check(settings, engine))
            except Exception as exc:  # noqa: BLE001 - a check that cannot run is itself the finding
                findings.append(Finding(check.__name__, "fail", f"could not check: {type(exc).__name__}: {exc}"))
    finally:
        engine.dispose()
    return findings


def _engine(settings: Settings) -> Engine:
    from models.db import make_engine

    return make_engine(settings.resolved_database_url)


def production(settings: Settings) -> list[Finding]:
    """What production refuses at start (civid/settings_checks.py), told ahead on any machine: in development a
    warning each, so the day CIVID_ENVIRONMENT=production is set brings no surprise."""
    problems = production_problems(settings)
    if settings.issuer_host_is_ip_address:
        # Refused by `civid serve` in any environment: browsers refuse passkeys for an IP address (WebAuthn's RP id).
        problems = [
            f"CIVID_ISSUER {settings.resolved_issuer} has an IP address for its host: passkeys, and so staff "
            "sign-in, cannot work there; use a name",
            *problems,
        ]
    if not problems:
        return [_ok("settings", f"{settings.environment}: nothing production would refuse")]
    level = "fail" if settings.environment == "production" else "warn"
    return [Finding("settings", level, problem) for problem in problems]


def key_files(settings: Settings) -> Iterator[Finding]:
    limit = settings.key_max_age_days
    for name, path in (
        ("template key ring", settings.resolved_template_keys_file),
        ("audit key", settings.resolved_audit_key_file),
        ("identity provider secrets", settings.resolved_idp_secrets_file),
    ):
        if not path.is_file():
            yield Finding("keys", "warn", f"the {name} {path} does not exist yet", "start civid once to make it")
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            exposed = f"the {name} {path} is readable by others (mode {mode:o})"
            yield Finding("keys", "fail", exposed, f"chmod 600 '{path}'")
        age = (time.time() - path.stat().st_mtime) / DAY
        if name != "identity provider secrets" and age > limit:
            command = "civid keys rotate-template-key" if name == "template key ring" else "civid audit rotate-key"
            yield Finding("keys", "warn", f"the {name} was last rotated {age:.0f} days ago (over {limit})", command)
    admin_file = settings.resolved_admin_key_file
    if admin_file.is_file():
        yield Finding(
            "keys",
            "warn",
            f"the first admin API key is still in {admin_file}",
            "store it in the secret store, then delete the file (and create personal admin keys)",
        )


def migrations(settings: Settings, engine: Engine) -> Iterator[Finding]:
    from models.db import current_revision, head_revision

    head, current = head_revision(), current_revision(engine)
    if current == head:
        yield _ok("migrations", f"the schema is at the newest revision ({head})")
    elif current is None:
        yield Finding("migrations", "fail", "the database has no civid schema", "run civid serve once (it migrates)")
    else:
        behind = f"the schema is at {current}, this civid expects {head}"
        yield Finding("migrations", "warn", behind, "restart civid (it migrates)")


def clock(settings: Settings, engine: Engine) -> Iterator[Finding]:
    if engine.dialect.name == "sqlite":
        yield _ok("clock", "SQLite: the database keeps this machine's time")
        return
    with engine.connect() as connection:
        before = time.time()
        database_now = connection.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
        after = time.time()
    skew = float(database_now) - (before + after) / 2
    level = "fail" if abs(skew) > 30 else "warn" if abs(skew) > 2 else "ok"
    yield Finding(
        "clock",
        level,
        f"this machine and the database differ by {skew:+.2f} s",
        "" if level == "ok" else "run NTP (chrony) on both: token lifetimes and lockouts compare their times",
    )


def signing_keys(settings: Settings, engine: Engine) -> Iterator[Finding]:
    from models import SigningKey, utcnow

    with engine.connect() as connection:
        newest = connection.scalar(
            select(func.max(SigningKey.activates_at)).where(
                SigningKey.retired_at.is_(None), SigningKey.activates_at <= utcnow()
            )
        )
    if newest is None:
        yield Finding("signing keys", "fail", "no OpenID signing key is active", "civid keys rotate")
        return
    age = (utcnow() - newest).total_seconds() / DAY
    due = settings.signing_key_lifetime_days
    if age > due:
        old = f"the signing key is {age:.0f} days old (due at {due})"
        yield Finding("signing keys", "warn", old, "civid keys rotate")
    else:
        yield _ok("signing keys", f"the active signing key is {age:.0f} days old (rotation due at {due})")


def backups(settings: Settings, engine: Engine) -> Iterator[Finding]:
    folder = settings.backup_dir
    if folder is None:
        yield Finding("backup", "warn", "no backup folder is configured", "set CIVID_BACKUP_DIR and run civid backup")
        return
    archives = sorted(folder.glob("*.bak"), key=lambda path: path.stat().st_mtime) if folder.is_dir() else []
    if not archives:
        yield Finding("backup", "fail", f"no backup in {folder}", f"civid backup {folder}/civid-$(date +%F).bak")
        return
    newest = archives[-1]
    age = (time.time() - newest.stat().st_mtime) / DAY
    if age > settings.backup_max_age_days:
        yield Finding(
            "backup",
            "fail",
            f"the newest backup, {newest.name}, is {age:.1f} days old (over {settings.backup_max_age_days})",
            "civid backup (daily, from cron or a systemd timer)",
        )
    else:
        yield _ok("backup", f"the newest backup, {newest.name}, is {age * 24:.1f} hours old")


def audit_log(settings: Settings, engine: Engine) -> Iterator[Finding]:
    from models import AuditCheckpoint, AuditEvent, utcnow

    with engine.connect() as connection:
        backlog, oldest = connection.execute(
            select(func.count(), func.min(AuditEvent.occurred_at)).where(AuditEvent.leaf_index.is_(None))
        ).one()
        signed = connection.scalar(select(func.max(AuditCheckpoint.signed_at)))
    now = utcnow()
    if backlog and oldest is not None and (now - oldest).total_seconds() > 300:
        yield Finding(
            "audit log",
            "warn",
            f"{backlog} events committed but not sequenced, the oldest for {(now - oldest).total_seconds():.0f} s",
            "is a civid process running? its sequencer thread numbers them (civid audit checkpoint does it once)",
        )
    else:
        yield _ok("audit log", f"{backlog} events waiting to be sequenced")
    witness = settings.resolved_audit_checkpoint_file
    if signed is None:
        yield Finding("audit log", "warn", "no signed checkpoint yet", "civid audit checkpoint")
    elif not witness.is_file():
        yield Finding("audit log", "warn", f"the witness file {witness} is missing", "restore it from its keeper")


def dedup_queue(settings: Settings, engine: Engine) -> Iterator[Finding]:
    from models import DedupJob, utcnow

    with engine.connect() as connection:
        queued, oldest = connection.execute(
            select(func.count(), func.min(DedupJob.created_at)).where(DedupJob.status == "queued")
        ).one()
        failed = connection.scalar(select(func.count()).select_from(DedupJob).where(DedupJob.status == "failed"))
    waited = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    if waited > 300:
        yield Finding(
            "dedup queue",
            "warn",
            f"{queued} enrolments wait for dedup, the oldest for {waited / 60:.0f} min",
            "start a worker: civid abis worker",
        )
    else:
        yield _ok("dedup queue", f"{queued} queued")
    if failed:
        yield Finding(
            "dedup queue", "warn", f"{failed} dedup jobs failed", "see their error in the console's pending list"
        )


def indexes(settings: Settings, engine: Engine) -> Iterator[Finding]:
    """The saved FAISS indexes against the database (what the next start would reconcile or rebuild)."""
    from models import FaceTemplate, FingerTemplate

    if settings.gallery.backend != "faiss":
        yield _ok("indexes", f"{settings.gallery.backend}: the collections live on the server (civid index status)")
        return
    for name, model in (("face", FaceTemplate), ("finger", FingerTemplate)):
        with engine.connect() as connection:
            newest = connection.scalar(select(func.max(model.id))) or 0
        meta = settings.gallery_dir / f"{name}.json"
        try:
            saved = json.loads(meta.read_text())
            watermark = int(saved["watermark"])
        except (OSError, ValueError, KeyError):
            if newest:
                yield Finding(
                    "indexes", "warn", f"no saved {name} index: the next start rebuilds it", "civid index rebuild"
                )
            continue
        if watermark < newest:
            yield Finding(
                "indexes",
                "warn",
                f"the saved {name} index stops at template {watermark}, the database has {newest}",
                "it catches up when a process opens it; civid index rebuild to bring it up to date now",
            )
        else:
            held = saved.get("count", saved.get("fingers", "?"))
            yield _ok("indexes", f"the saved {name} index is up to date ({held} templates)")
