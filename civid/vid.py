"""Virtual IDs (VIDs): revocable, unlinkable 16-digit numbers a resident gives a bank or a counter instead of
their UIN (MOSIP's and Aadhaar's VID), and the one place a presented number becomes an identity.

- Format: 16 digits, not starting with 0, the last a Verhoeff check digit, so a mistyped VID is caught like a
  mistyped UIN; 16 digits cannot be mistaken for a 10-digit UIN. The first 15 digits are random
  (``secrets``), never derived from the UIN: knowing one VID tells nothing of the UIN or of another VID.
- Stored as an HMAC-SHA256 under the VID key (``<data_dir>/keys/vid-key.json``, 0600, created on first run,
  in backups with the other keys), so a copy of the database alone cannot be searched for a VID; the last four
  digits are kept for the account page.
- ``resolve`` takes what someone typed: a UIN is looked up as such; a VID maps to its identity server-side when
  it is live (not revoked, not expired, and for a temporary VID, not yet used: the first transaction that
  presents it spends it, matched or not, by a compare-and-set, so two at once spend it once).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from civid import audit
from civid.actor import Actor
from civid.audit import as_utc
from civid.errors import ConfigurationError, Conflict, InvalidInput, InvalidUin, NotFound
from civid.settings import Settings
from civid.uin import normalise_uin, verhoeff_check_digit, verhoeff_valid
from models import Identity, VirtualId, utcnow
from models.db import affected_rows

VID_LENGTH = 16
PERPETUAL = "perpetual"
TEMPORARY = "temporary"
KINDS = (PERPETUAL, TEMPORARY)


class VidNotUsable(NotFound):
    """A well-formed VID that maps to nobody now: unknown, revoked, expired or spent. One answer for all four,
    so the refusal tells a stranger nothing about the VID."""

    type_slug = "vid-not-usable"
    title = "VID not usable"
    code = "vid_not_usable"
    message_catalogue = "error"


class TooManyTemporaryVids(Conflict):
    code = "too_many_temporary_vids"
    message_catalogue = "error"


class NotActive(Conflict):
    """A suspended or deactivated identity gets no new VID (its existing ones resolve, and are refused there)."""

    code = "vid_identity_not_active"
    message_catalogue = "error"


@dataclass(frozen=True)
class Presented:
    """An identity found from a number someone presented: ``shown`` is that number as it may be echoed back (the
    VID itself for a VID: the UIN is never revealed through a VID)."""

    identity: Identity
    shown: str
    via_vid: bool


def new_vid() -> str:
    """A fresh random VID (15 random digits, the first not 0, and the Verhoeff check digit)."""
    body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(VID_LENGTH - 2))
    return body + verhoeff_check_digit(body)


def looks_like_vid(text: str) -> bool:
    return len(re.sub(r"[\s-]", "", text or "")) == VID_LENGTH


def normalise_vid(text: str) -> str:
    """Strip spaces and hyphens; check length, digits and check digit; raise InvalidUin if wrong."""
    vid = re.sub(r"[\s-]", "", text or "")
    if not re.fullmatch(rf"[1-9]\d{{{VID_LENGTH - 1}}}", vid):
        raise InvalidUin(
            f"a VID is {VID_LENGTH} digits, not starting with 0", code="vid_format", params={"length": VID_LENGTH}
        )
    if not verhoeff_valid(vid):
        raise InvalidUin("the VID's check digit is wrong (mistyped?)", code="vid_check_digit")
    return vid


def grouped(vid: str) -> str:
    """``1234 5678 9012 3456``: how a VID is shown to the person who will copy it."""
    return " ".join(vid[i : i + 4] for i in range(0, len(vid), 4))


def digest(settings: Settings, vid: str) -> str:
    return hmac.new(_key(settings.resolved_vid_key_file), vid.encode(), hashlib.sha256).hexdigest()


def ensure_key(settings: Settings) -> None:
    """Create the VID key now (start-up), so that it exists before anything is backed up."""
    _key(settings.resolved_vid_key_file)


@lru_cache(maxsize=16)
def _key(path: Path) -> bytes:
    if not path.exists():
        # Written whole to a private temporary file, then linked into place: a process starting at the same
        # moment sees either no key or a complete one, and the first link wins (the loser reads the winner's).
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"vid_key": base64.b64encode(key).decode()}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read(path)
        finally:
            temporary.unlink()
        return key
    return _read(path)


def _read(path: Path) -> bytes:
    try:
        return base64.b64decode(json.loads(path.read_text())["vid_key"])
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigurationError(f"cannot read the VID key {path}: {exc}") from exc


def live(row: VirtualId, now: datetime) -> bool:
    """Not revoked, not used (a temporary one), not past its expiry."""
    if row.revoked_at is not None or row.used_at is not None:
        return False
    return row.expires_at is None or as_utc(row.expires_at) > now


def resolve(session: Session, settings: Settings, text: str, *, spend: bool = True) -> Presented | None:
    """The identity a presented UIN or VID names (None: no identity with that UIN); raise InvalidUin when it is
    neither well formed, VidNotUsable for a VID that maps to nobody now. ``spend=False`` only looks (a login
    hint): a temporary VID is spent by a transaction, not by being named."""
    if not looks_like_vid(text):
        uin = normalise_uin(text)
        identity = session.scalars(select(Identity).where(Identity.uin == uin)).first()
        return Presented(identity, uin, via_vid=False) if identity is not None else None
    vid = normalise_vid(text)
    row = session.scalars(select(VirtualId).where(VirtualId.digest == digest(settings, vid))).first()
    now = utcnow()
    if row is None or not live(row, now):
        raise VidNotUsable("this VID is unknown, revoked, expired or already used")
    if spend and row.kind == TEMPORARY:
        spent = affected_rows(
            session,
            update(VirtualId)
            .where(
                VirtualId.id == row.id,
                VirtualId.used_at.is_(None),
                VirtualId.revoked_at.is_(None),  # revoked or expired since it was read: not spent, refused
                or_(VirtualId.expires_at.is_(None), VirtualId.expires_at > now),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False),
        )
        if not spent:  # another transaction presented it a moment earlier
            raise VidNotUsable("this VID is unknown, revoked, expired or already used")
    identity = session.get(Identity, row.identity_id)
    assert identity is not None  # noqa: S101 - a VID references its identity
    return Presented(identity, vid, via_vid=True)


def of(session: Session, identity_id: int) -> list[VirtualId]:
    """A resident's VIDs, newest first (revoked, expired and used ones too: the account page shows them)."""
    return list(
        session.scalars(select(VirtualId).where(VirtualId.identity_id == identity_id).order_by(VirtualId.id.desc()))
    )


def create(session: Session, settings: Settings, identity: Identity, kind: str, actor: Actor) -> str:
    """Make a VID for ``identity`` and return it (shown once: only its digest is kept). A new perpetual VID
    replaces the live one (one at a time, as Aadhaar's regenerated VID); temporary ones are capped at
    ``vid_temporary_max_live`` live at once."""
    if kind not in KINDS:
        raise InvalidInput("kind must be perpetual or temporary", code="vid_kind")
    if identity.status != "active":
        raise NotActive("only an active identity can make Virtual IDs")
    # The identity's row locked (PostgreSQL; SQLite has one writer): two requests at once cannot both find no
    # live perpetual VID, or both fit under the cap of temporary ones.
    session.scalars(select(Identity.id).where(Identity.id == identity.id).with_for_update()).one()
    now = utcnow()
    held = [row for row in of(session, identity.id) if row.kind == kind and live(row, now)]
    if kind == PERPETUAL:
        for row in held:
            revoke(session, row, actor, "replaced")
    elif len(held) >= settings.vid_temporary_max_live:
        raise TooManyTemporaryVids(
            f"you hold {len(held)} unused temporary VIDs already; use or revoke one first",
            params={"held": len(held)},
        )
    for _ in range(5):  # a collision among 10^15 numbers is not expected; a retry costs nothing
        vid = new_vid()
        if session.scalar(select(VirtualId.id).where(VirtualId.digest == digest(settings, vid))) is None:
            break
    expires = now + timedelta(seconds=settings.vid_temporary_ttl_s) if kind == TEMPORARY else None
    row = VirtualId(
        identity_id=identity.id,
        digest=digest(settings, vid),
        last4=vid[-4:],
        kind=kind,
        created_at=now,
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "vid.created",
        "identity",
        identity.uin,
        vid_id=row.id,
        kind=kind,
        last4=row.last4,
        expires_at=expires,
    )
    return vid


def revoke(session: Session, row: VirtualId, actor: Actor, reason: str) -> None:
    """Revoke one VID (from now on it names nobody); audited."""
    if row.revoked_at is not None:
        return
    row.revoked_at, row.revoked_reason = utcnow(), reason
    identity = session.get(Identity, row.identity_id)
    uin = identity.uin if identity is not None else str(row.identity_id)
    audit.record(session, actor, "vid.revoked", "identity", uin, vid_id=row.id, kind=row.kind, reason=reason)
