"""OpenID Connect Back-Channel Logout 1.0: when a citizen's login session at civid ends, tell every portal
that received tokens from it, server to server, with a signed logout token.

- Who is told (§2.3): each enabled client with a ``backchannel_logout_uri`` that was issued tokens (an access
  token, so also its ID token with this session's ``sid``) from a grant of that login session, revoked or not.
- The logout token (§2.4): ``iss``, ``aud`` (the client), ``iat``, ``exp`` (2 minutes), ``jti``, ``sub`` (the
  subject that client received: pairwise per sector), ``sid`` (the ``sid`` of that client's ID tokens, so
  ``backchannel_logout_session_required`` is always met), ``events`` with the back-channel logout member, and
  no ``nonce``; header ``typ: logout+jwt``; signed by civid's signing keys with the algorithm of the client's
  ID tokens (§2.4: the same keys as ID tokens).
- The request (§2.5): ``POST`` ``application/x-www-form-urlencoded`` ``logout_token=…`` through
  ``civid.outbound`` (public addresses only unless ``CIVID_OUTBOUND_ALLOW_PRIVATE``; no redirects), within
  ``CIVID_BACKCHANNEL_LOGOUT_TIMEOUT_S``. A 2xx answer (§2.8: 200, or 204) is success.

Delivery never holds up the citizen's logout page: logout only adds rows to a persistent outbox
(``models.BackchannelLogout``) in the logout's own transaction, and a background thread of this process
(``BackchannelLogouts``), woken when that transaction commits, delivers them. An attempt that fails with a
network error, a timeout, 408, 429 or 5xx is tried again after ``CIVID_BACKCHANNEL_LOGOUT_RETRY_DELAY_S``,
doubled each time, up to ``CIVID_BACKCHANNEL_LOGOUT_ATTEMPTS``; any other answer is final. Every attempt is
audited (``logout.backchannel_sent`` / ``logout.backchannel_failed`` with the client id and HTTP status, never
the token), and a row is deleted once delivered or given up.

Restarts: the outbox is in the database, so deliveries pending when civid stops are sent when it starts
again (the service starts the thread at start-up). A token is signed afresh for each attempt, so a late
delivery is not an expired token. Several civid processes share the outbox safely: each attempt is claimed
by bumping the row's attempt counter (a compare-and-set), and the claim is a lease that another process may
take over if the claiming one dies mid-attempt (the interrupted attempt then counts as one of the attempts).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import event, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from civid import audit, outbound
from civid.settings import Settings
from idp.subjects import subject_for
from models import AccessToken, BackchannelLogout, Client, Grant, LoginSession, utcnow
from models.db import affected_rows

if TYPE_CHECKING:
    from idp.keys import SigningKeys
    from idp.server_secrets import ServerSecrets

LOGOUT_TOKEN_TYP = "logout+jwt"  # §2.4, and §4.1 (cross-JWT confusion)
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"  # §2.4 events member
LOGOUT_TOKEN_TTL_S = 120  # §4: a short lifetime, "e.g. two minutes"
RETRIED_STATUSES = frozenset({408, 429})  # and every 5xx: the portal may answer later
POLL_S = 60.0  # the thread also looks now and then, for rows another civid process queued
LEASE_MARGIN_S = 30.0  # a claimed attempt is another process's to retry only this long after its timeout
PARALLEL = 4  # rows claimed and posted at once: one slow portal must not hold up the others' logout tokens
REASON_MAX_BYTES = 4096  # of a refusal's body, read for its OAuth "error" (never more: the answer is untrusted)

log = logging.getLogger("civid.idp.backchannel_logout")


@dataclass(frozen=True)
class AttemptResult:
    """What one POST of a logout token came to."""

    delivered: bool
    retry: bool  # worth trying again (network error, timeout, 408, 429, 5xx)
    status: int | None = None  # the portal's HTTP status, if it answered
    error: str | None = None  # why there was no answer, or a refusal's reason


@dataclass(frozen=True)
class _Pending:
    """A claimed outbox row, with what its attempt needs (read before the POST, so no transaction is open
    while waiting on the portal)."""

    row_id: int
    attempt: int
    client_id: str
    uri: str | None  # None: the client was disabled or dropped its URI meanwhile
    token: str | None
    uin: str
    sid: str
    error: str | None = None  # why there is nothing to send (client gone or disabled, no signing key...)


def enqueue(db: Session, session_row: LoginSession, notifier: BackchannelLogouts | None) -> int:
    """Queue a logout token for every client that received tokens from ``session_row`` and registered a
    ``backchannel_logout_uri``, in the caller's transaction; ``notifier`` is woken when it commits. Return
    how many were queued."""
    issued = exists().where(AccessToken.grant_id == Grant.id)
    client_ids = db.scalars(
        select(Grant.client_id)
        .distinct()
        .join(Client, Client.client_id == Grant.client_id)
        .where(
            Grant.login_session_id == session_row.id,
            issued,
            Client.backchannel_logout_uri.is_not(None),
            Client.disabled_at.is_(None),
        )
    ).all()
    queued = set(
        db.scalars(select(BackchannelLogout.client_id).where(BackchannelLogout.login_session_id == session_row.id))
    )
    now = utcnow()
    for client_id in sorted(set(client_ids) - queued):
        db.add(
            BackchannelLogout(
                login_session_id=session_row.id, client_id=client_id, attempts=0, next_attempt_at=now, created_at=now
            )
        )
    if client_ids and notifier is not None:
        db.flush()
        # Woken only once the rows are committed: the thread reads them in its own transaction.
        event.listen(db, "after_commit", lambda _session: notifier.wake(), once=True)
    return len(client_ids)


def logout_token(
    settings: Settings, signing_keys: SigningKeys, idp_secrets: ServerSecrets, client: Client, uin: str, sid: str
) -> str:
    """The logout token (§2.4) for ``client``: its own ``sub`` for the person, the session's ``sid``."""
    now = int(time.time())
    claims = {
        "iss": settings.resolved_issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL_S,
        "jti": secrets.token_urlsafe(24),
        "sub": subject_for(idp_secrets, client, uin),
        "sid": sid,
        "events": {LOGOUT_EVENT: {}},  # and no nonce (§2.4: prohibited)
    }
    alg = client.id_token_signed_response_alg or settings.signing_alg
    return signing_keys.sign(claims, alg=alg, typ=LOGOUT_TOKEN_TYP)


def post_logout_token(settings: Settings, uri: str, token: str) -> AttemptResult:
    """POST ``token`` to a portal's back-channel logout URI (§2.5) through ``civid.outbound``: each wait at most
    the timeout, the whole call at most twice it, and no more than a few KiB of a refusal's body read."""
    try:
        with (
            outbound.client(settings.outbound_allow_private, settings.backchannel_logout_timeout_s) as http,
            http.stream(
                "POST",
                uri,
                data={"logout_token": token},
                headers={"Cache-Control": "no-store", "Accept": "application/json"},
            ) as response,
        ):
            status = response.status_code
            if 200 <= status < 300:  # §2.8: 200 OK (some frameworks answer 204); the body is not read
                return AttemptResult(True, retry=False, status=status)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= REASON_MAX_BYTES:
                    break
    except outbound.DisallowedAddress as exc:
        return AttemptResult(False, retry=False, error=str(exc)[:200])
    except httpx.HTTPError as exc:
        return AttemptResult(False, retry=True, error=f"{type(exc).__name__}: {exc}"[:200])
    retry = status >= 500 or status in RETRIED_STATUSES
    return AttemptResult(False, retry=retry, status=status, error=_reason(bytes(body[:REASON_MAX_BYTES])))


def _reason(body: bytes) -> str | None:
    """The ``error`` a portal gave for refusing the token (§2.8 suggests an OAuth error body), if any."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return str(parsed.get("error"))[:100] if isinstance(parsed, dict) and parsed.get("error") else None


class BackchannelLogouts:
    """The outbox's sender: a background thread (started on the first wake) that delivers due logout tokens."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], signing_keys: SigningKeys, idp_secrets: ServerSecrets
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.signing_keys = signing_keys
        self.idp_secrets = idp_secrets
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Look at the outbox now (starting the thread if it is not running): new rows, or pending ones
        left from before a restart."""
        with self._lock:
            if self._stop.is_set():
                return
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="backchannel-logout", daemon=True)
                self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (at shutdown); rows not yet delivered stay in the outbox for the next start."""
        with self._lock:
            self._stop.set()
            self._wake.set()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        with ThreadPoolExecutor(PARALLEL, thread_name_prefix="backchannel-logout-post") as pool:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    wait = self.deliver_due(pool)
                except Exception:  # a failed pass (database busy…) must not stop the thread; the next one retries
                    log.exception("back-channel logout delivery failed")
                    wait = POLL_S
                self._wake.wait(POLL_S if wait is None else min(wait, POLL_S))

    def deliver_due(self, pool: ThreadPoolExecutor | None = None) -> float | None:
        """Attempt every due delivery; return the seconds until the next one is due (None: the outbox is
        empty)."""
        while not self._stop.is_set():
            claimed = self._claim()
            if not claimed:
                break
            if pool is None:
                for pending in claimed:
                    self._finish(pending, self._post(pending))
            else:
                list(pool.map(lambda p: self._finish(p, self._post(p)), claimed))
        with self.sessions() as db:
            due = db.scalar(select(func.min(BackchannelLogout.next_attempt_at)))
        return None if due is None else max(0.0, (audit.as_utc(due) - utcnow()).total_seconds())

    def _claim(self) -> list[_Pending]:
        """Take up to PARALLEL due rows, all posted at once: each claim bumps ``attempts`` only if no one else
        did (compare-and-set) and leases the row until its attempt must have ended (the whole-call deadline,
        twice the timeout, plus a margin). A row whose attempts are spent (its last claimant died mid-attempt)
        is given up instead."""
        settings = self.settings
        now = utcnow()
        lease = now + timedelta(seconds=2 * settings.backchannel_logout_timeout_s + LEASE_MARGIN_S)
        claimed: list[tuple[int, int]] = []
        with self.sessions.begin() as db:
            rows = db.execute(
                select(BackchannelLogout.id, BackchannelLogout.attempts)
                .where(BackchannelLogout.next_attempt_at <= now)
                .order_by(BackchannelLogout.next_attempt_at)
                .limit(PARALLEL)
            ).all()
            for row_id, attempts in rows:
                if attempts >= settings.backchannel_logout_attempts:
                    self._give_up(db, row_id, attempts)
                    continue
                taken = affected_rows(
                    db,
                    update(BackchannelLogout)
                    .where(BackchannelLogout.id == row_id, BackchannelLogout.attempts == attempts)
                    .values(attempts=attempts + 1, next_attempt_at=lease),
                )
                if taken == 1:
                    claimed.append((row_id, attempts + 1))
        if not claimed:
            return [] if not rows else self._claim()  # all given up: look again
        with self.sessions() as db:  # tokens are signed after the claim committed: no write lock held meanwhile
            pending = [self._pending(db, row_id, attempt) for row_id, attempt in claimed]
        return [p for p in pending if p is not None]

    def _give_up(self, db: Session, row_id: int, attempts: int) -> None:
        row = db.get(BackchannelLogout, row_id)
        if row is None:
            return
        login = db.get(LoginSession, row.login_session_id)
        audit.record(
            db,
            audit.SYSTEM,
            "logout.backchannel_failed",
            "identity",
            login.identity.uin if login is not None else "?",
            client_id=row.client_id,
            sid=login.sid if login is not None else None,
            attempt=attempts,
            status=None,
            error="the last attempt was interrupted (its process stopped)",
            will_retry=False,
        )
        db.delete(row)

    def _pending(self, db: Session, row_id: int, attempt: int) -> _Pending | None:
        """What the claimed row's attempt needs; None if another process finished the row meanwhile."""
        row = db.get(BackchannelLogout, row_id)
        if row is None:
            return None
        client = db.scalars(select(Client).where(Client.client_id == row.client_id)).first()
        login = db.get(LoginSession, row.login_session_id)
        uin = login.identity.uin if login is not None else "?"
        sid = login.sid if login is not None else "?"
        if client is None or client.disabled_at is not None or not client.backchannel_logout_uri or login is None:
            return _Pending(
                row_id,
                attempt,
                row.client_id,
                None,
                None,
                uin,
                sid,
                error="the client is disabled or has no backchannel_logout_uri",
            )
        try:
            token = logout_token(self.settings, self.signing_keys, self.idp_secrets, client, uin, sid)
        except Exception as exc:  # e.g. no active key for the client's algorithm: a final failure, audited
            log.exception("back-channel logout token for %s could not be signed", row.client_id)
            return _Pending(
                row_id,
                attempt,
                row.client_id,
                None,
                None,
                uin,
                sid,
                error=f"the logout token could not be signed ({type(exc).__name__})",
            )
        return _Pending(row_id, attempt, row.client_id, client.backchannel_logout_uri, token, uin, sid)

    def _post(self, pending: _Pending) -> AttemptResult:
        if pending.uri is None or pending.token is None:
            return AttemptResult(False, retry=False, error=pending.error)
        return post_logout_token(self.settings, pending.uri, pending.token)

    def _finish(self, pending: _Pending, result: AttemptResult) -> None:
        """Record the attempt: delete the row when delivered or given up, else schedule the next attempt."""
        settings = self.settings
        retry = result.retry and pending.attempt < settings.backchannel_logout_attempts
        with self.sessions.begin() as db:
            row = db.get(BackchannelLogout, pending.row_id)
            # The row is ours only while no other process has claimed a later attempt (the lease ran out):
            # then the attempt is still audited, but the row is left to its new claimant.
            if row is not None and row.attempts == pending.attempt:
                if retry:
                    delay = settings.backchannel_logout_retry_delay_s * 2 ** (pending.attempt - 1)
                    row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                else:
                    db.delete(row)
            action = "logout.backchannel_sent" if result.delivered else "logout.backchannel_failed"
            detail: dict[str, object] = {
                "client_id": pending.client_id,
                "sid": pending.sid,
                "attempt": pending.attempt,
                "status": result.status,
            }
            if not result.delivered:
                detail.update(error=result.error, will_retry=retry)
            audit.record(db, audit.SYSTEM, action, "identity", pending.uin, **detail)
