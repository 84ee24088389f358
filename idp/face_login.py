"""Face login: a photo (camera or upload) compared 1:1 with the enrolled templates of the UIN typed.

Order of checks, each before the next costs anything or reveals anything:
CSRF token → one-time challenge (a replayed POST fails) → lockout (per identity and per source, before any
comparison) → the photo's SHA-256 was never used for a login (the same file presented twice is a replay) →
decode and quality gate → 1:1 at ``verify_threshold``. A failed match is recorded (and committed) against
the identity and the source; an unknown UIN fails exactly like a wrong face (same message, counted against
the source), so the form cannot be used to learn whether a UIN exists.

Limits, said plainly in the UI: no presentation-attack detection (a printed photo or a screen may pass),
and the photo-hash check only catches byte-identical replays. Hence the lower assurance level (``ACR``,
below the passkey's). ``FACE`` declares the method to the registry (``idp.login_methods``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from numpy.typing import NDArray
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete

from civid import audit, auth_method_locks, vid
from civid.audit import Actor
from civid.deps import get_services
from civid.errors import CividError, Forbidden, InvalidUin
from civid.settings import Settings
from civid.uin import normalise_uin
from civid.web import i18n, pages
from civid.web.csrf import check_csrf
from enrollment.record import issuing_enrolment
from enrollment.templates import open_descriptor
from enrollment.verification import probe_descriptor
from enrollment.workflow import PhotoUpload
from idp import authorization_response, face_challenges, interactions, lockout, login_methods, sessions
from idp.login import render_login
from idp.login_methods import LoginMethod
from idp.runtime import IdpServices
from models import AuthorizationRequest, FaceChallenge, FaceProbe, FaceTemplate, Identity

router = APIRouter(tags=["citizen pages"], dependencies=[Depends(pages.html_page)])
METHOD = "face"
ACR = "urn:civid:acr:face"
FACE_PROBE_RETENTION = timedelta(days=90)


class FaceNotAllowed(Forbidden):
    """The portal asked for a level face login cannot reach (``acr_values``)."""

    code = "face_not_allowed"
    message_catalogue = "error"


@router.post("/login/face")
def face_login(
    request: Request,
    csrf_token: str = Form(""),
    challenge: str = Form(""),
    uin: str = Form(""),
    photo: UploadFile | None = File(None),
    services: IdpServices = Depends(get_services),
) -> Response:
    """Face login to civid itself (then the account page)."""
    return _attempt(request, services, None, csrf_token, challenge, uin, photo)


@router.post("/login/{uid}/face")
def interaction_face_login(
    uid: str,
    request: Request,
    csrf_token: str = Form(""),
    challenge: str = Form(""),
    uin: str = Form(""),
    photo: UploadFile | None = File(None),
    services: IdpServices = Depends(get_services),
) -> Response:
    """Face login for a portal's authorization request (then back to ``/authorize/resume/{uid}``)."""
    return _attempt(request, services, uid, csrf_token, challenge, uin, photo)


def _attempt(
    request: Request,
    services: IdpServices,
    uid: str | None,
    csrf: str,
    challenge: str,
    uin_text: str,
    photo: UploadFile | None,
) -> Response:
    settings = services.settings
    check_csrf(request, csrf)
    interaction = _interaction(request, services, uid)
    source = lockout.source_of(request, settings)

    def again(error: str, status: int, uin: str | None = uin_text, **values: Any) -> Response:
        return render_login(request, services, interaction, uin=uin, error=error, error_values=values, status=status)

    with services.sessions.begin() as db:
        fresh = face_challenges.consume(db, challenge, "login", uid)
        if not fresh:
            # A replayed (or forged, or expired) form: counted against the source like a failed attempt.
            lockout.record(db, settings, None, source, METHOD, False, "challenge_invalid")
    if not fresh:
        return again("face.challenge_invalid", 400)
    try:
        shown = vid.normalise_vid(uin_text) if vid.looks_like_vid(uin_text) else normalise_uin(uin_text)
    except InvalidUin:
        return again("face.uin_invalid", 422)  # checkable by anyone (check digit): reveals nothing
    data = photo.file.read(settings.max_upload_bytes + 1) if photo is not None else b""
    if photo is None or not data:
        return again("face.photo_missing", 422, shown)
    identity_id, uin = _presented(services, shown)
    with services.sessions() as db:
        locked = _locked(db, settings, identity_id, source)
        photo_hash = hashlib.sha256(data).hexdigest()
        replayed = db.scalar(select(FaceProbe.id).where(FaceProbe.photo_hash == photo_hash)) is not None
    if locked is not None:
        _audit_locked(services, uin, source)
        raise locked  # a 429 page with Retry-After, before anything is compared
    if replayed:
        _fail(services, identity_id, source, "photo_replayed")
        return again("face.photo_replayed", 403, shown)
    try:
        vector, _ = probe_descriptor(services, PhotoUpload(data, photo.filename or "photo", photo.content_type))
    except CividError as exc:
        # Decision: a photo the quality gate refuses does NOT count as a failed login. It is refused
        # before any comparison with the enrolled template, so it tells the sender nothing about the
        # person (probing needs scores, and every compared photo counts); counting it would lock out
        # honest citizens with a poor camera or light. It is audited, and the challenge is spent.
        _audit_rejected_photo(services, uin, source, exc)
        return again(photo_problem(exc), 422, shown)
    with services.sessions() as db:
        score = _best_score(services, db, identity_id, vector) if identity_id is not None else None
    if score is None or score < settings.verify_threshold:
        _fail(services, identity_id, source, "no_match" if score is not None else "unknown_identity")
        return again("face.not_verified", 403, shown)
    assert identity_id is not None, "a score is only computed for a known identity"
    # Checked after the face matched: only the person learns that they locked face login, and an unknown or
    # locked UIN look the same to anyone else.
    if _method_locked(services, identity_id, photo_hash):
        return again("face.method_locked", 403, shown)
    return _succeed(request, services, identity_id, source, uid, photo_hash, score, again)


def _presented(services: IdpServices, shown: str) -> tuple[int | None, str]:
    """(the active identity the UIN or VID names, or None; what the audit calls the person). Presenting a
    temporary VID spends it, whatever follows. A VID that names nobody now is answered like an unknown UIN."""
    with services.sessions.begin() as db:
        try:
            presented = vid.resolve(db, services.settings, shown)
        except vid.VidNotUsable:
            return None, f"vid:{shown[-4:]}"
        if presented is None:
            return None, shown
        active = presented.identity.status == "active"
        return (presented.identity.id if active else None), presented.identity.uin


def _method_locked(services: IdpServices, identity_id: int, photo_hash: str) -> bool:
    """Whether the identity's owner locked face login (the refusal is audited, not counted as a failure). The
    matched photo is spent all the same: replayed after an unlock, it must not sign anyone in."""
    with services.sessions.begin() as db:
        identity = db.get(Identity, identity_id)
        assert identity is not None
        try:
            auth_method_locks.refuse_if_locked(db, identity, auth_method_locks.FACE)
        except auth_method_locks.MethodLocked as refusal:
            auth_method_locks.record_refusal(db, sessions.citizen(identity), refusal)
            db.add(FaceProbe(photo_hash=photo_hash, identity_id=identity.id))
            return True
    return False


def _interaction(request: Request, services: IdpServices, uid: str | None) -> AuthorizationRequest | None:
    """The live interaction (detached), refusing face login when the portal demands a passkey."""
    if uid is None:
        return None
    with services.sessions() as db:
        interaction = interactions.load(db, uid)
        db.expunge(interaction)
    if FACE not in login_methods.of(request).allowed(interaction.params.get("acr_values") or []):
        raise FaceNotAllowed("this service requires a passkey; face login is not accepted")
    return interaction


def _best_score(services: IdpServices, db: Session, identity_id: int, vector: NDArray[np.float32]) -> float | None:
    """The highest cosine similarity between the probe and the identity's enrolled face templates."""
    # The record's templates only: a face decided a duplicate of this identity is an attempt against it
    # (enrollment.record), never a way to sign in as it.
    record = issuing_enrolment(db, identity_id)
    enrolments = [record] if record is not None else []
    descriptors = [
        open_descriptor(services.keyring, row, e.public_id)
        for e in enrolments
        # The faces in force: one replaced by a biometric update no longer signs anyone in.
        for row in db.scalars(select(FaceTemplate).where(FaceTemplate.enrolment_id == e.id, FaceTemplate.in_gallery))
    ]
    if not descriptors:
        return None
    return float((np.stack(descriptors) @ vector).max())


def _fail(services: IdpServices, identity_id: int | None, source: str, reason: str) -> None:
    """Record a failed attempt in its own committed transaction (lockout counts it; it is audited)."""
    with services.sessions.begin() as db:
        identity = db.get(Identity, identity_id) if identity_id is not None else None
        lockout.record(db, services.settings, identity, source, METHOD, False, reason)


def _locked(db: Session, settings: Settings, identity_id: int | None, source: str) -> lockout.LoginLocked | None:
    try:
        lockout.check(db, settings, identity_id, source)
    except lockout.LoginLocked as exc:
        return exc
    return None


def _audit_locked(services: IdpServices, uin: str, source: str) -> None:
    with services.sessions.begin() as db:
        audit.record(
            db, Actor(None, "anonymous", "citizen"), "login.locked_out", "login", "face", uin_typed=uin, source=source
        )


def _audit_rejected_photo(services: IdpServices, uin: str, source: str, exc: CividError) -> None:
    codes = [issue["code"] for issue in (exc.extra.get("quality") or {}).get("issues", [])]
    with services.sessions.begin() as db:
        # The actor is what was typed: never say here whether the UIN exists.
        audit.record(
            db,
            Actor(None, "anonymous", "citizen"),
            "login.photo_rejected",
            "login",
            "face",
            uin_typed=uin,
            source=source,
            problem=exc.type_slug,
            quality_issues=codes,
        )


def photo_problem(exc: CividError) -> str:
    """The i18n key for why a photo could not be used."""
    codes = [issue["code"] for issue in (exc.extra.get("quality") or {}).get("issues", [])]
    for code in codes:
        if f"face.quality.{code}" in i18n.catalogue():
            return f"face.quality.{code}"
    if codes:
        return "face.quality.other"
    return "face.photo_too_large" if exc.status == 413 else "face.photo_unreadable"


def _succeed(
    request: Request,
    services: IdpServices,
    identity_id: int,
    source: str,
    uid: str | None,
    photo_hash: str,
    score: float,
    again: Any,
) -> Response:
    response = authorization_response.redirect(sessions.after_login_url(uid))
    try:
        with services.sessions.begin() as db:
            identity = db.get(Identity, identity_id)
            assert identity is not None
            db.add(FaceProbe(photo_hash=photo_hash, identity_id=identity.id))
            db.flush()  # the unique hash: a concurrent replay of the same file loses here
            lockout.record(db, services.settings, identity, source, METHOD, True)
            sessions.establish(request, response, db, services, identity, FACE, uid, face_score=round(score, 4))
    except IntegrityError:
        _fail(services, identity_id, source, "photo_replayed")
        return again("face.photo_replayed", 403)
    return response


def _page_context(db: Session, settings: Settings, uid: str | None) -> Mapping[str, Any]:
    """The face form's one-time challenge and where it posts."""
    return {
        "face_challenge": face_challenges.issue(db, settings.face_challenge_ttl_s, "login", uid),
        "face_action": f"/login/{uid}/face" if uid else "/login/face",
    }


def _prune(settings: Settings, now: datetime) -> Mapping[str, Delete]:
    """Expired challenges, and photo hashes once a replay of that file no longer matters."""
    return {
        "face_challenges": delete(FaceChallenge).where(FaceChallenge.expires_at < now),
        "face_probes": delete(FaceProbe).where(FaceProbe.used_at < now - FACE_PROBE_RETENTION),
    }


FACE = LoginMethod(
    name=METHOD,
    acr=ACR,
    level=1,
    amr=("face",),
    router=router,
    fragment="face_login_form.html",
    scripts=("/static/idp/face-capture.js",),
    page_context=_page_context,
    prune=_prune,
)
