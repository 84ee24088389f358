"""One audit event from a command that builds no services (``civid backup``, ``civid keys rewrap``), sequenced
into the log before the command ends, as a service's own events are."""

from __future__ import annotations

from typing import Any

from civid.actor import Actor
from civid.settings import Settings

CLI_ACTOR = Actor(None, "cli", "admin")


def record_cli_event(settings: Settings, action: str, subject_type: str, subject_id: str, **detail: Any) -> None:
    from civid.audit import record
    from civid.audit_log import AuditLog
    from civid.pkcs11_token import Token
    from models.db import make_engine, make_session_factory

    engine = make_engine(settings.resolved_database_url)
    try:
        sessions = make_session_factory(engine)
        # The audit key may live in the token (docs/keys.md): the event's sequencing pass may sign a checkpoint.
        token = Token.from_settings(settings) if settings.keys_backend == "pkcs11" else None
        log = AuditLog(settings, sessions, token)
        with sessions.begin() as session:
            record(session, CLI_ACTOR, action, subject_type, subject_id, **detail)
        log.stop()  # a last sequencing pass: the event is in the log when the command returns
    finally:
        engine.dispose()
