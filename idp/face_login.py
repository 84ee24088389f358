"""Face login: a photo (camera or upload) compared 1:1 with the enrolled templates of the UIN typed.

Order of checks, each before the next costs anything or reveals anything:
CSRF token → one-time challenge (a replayed POST fails) → lockout (per identity and per source, before any
comparison) → the photo's SHA-256 was never used for a login (the same file presented twice is a replay) →
decode and quality gate → 1:1 at ``verify_threshold``. A failed match is recorded (and committed) against
the identity and the source; an unknown UIN fails exactly like a wrong face (same message, counted against
the source), so the form cannot be used to learn whether a UIN exists.

Limits, said plainly in the UI: no presentation-attack detection (a printed photo or a screen may pass),
and the photo-hash check only catches byte-identical replays. Hence the lower assurance level (``idp.acr``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.deps import get_services
from civid.errors import CividError, Forbidden, InvalidUin
from idp.runtime import IdpServices
from civid.settings import Settings
from enrollment.record import issuing_enrolment
from enrollment.templates import open_descriptor
from civid.uin import normalise_uin
from enrollment.verification import probe_descriptor
from enrollment.workflow import PhotoUpload
from idp import acr, authorization_response, face_challenges, i18n, interactions, lockout, pages, sessions
from idp.login import render_login
from models import AuthorizationRequest, FaceProbe, FaceTemplate, Identity

router = APIRouter(tags=["citizen pages"], dependencies=[Depends(pages.html_page)])
METHOD = "face"


class FaceNotAllowed(Forbidden):
    """The portal asked for a level face login cannot reach (``acr_values``)."""

    message_key = "face.not_allowed"


@router.post("/login/face")
def face_login(request: Request, csrf_token: str = Form(""), challenge: str = Form(""), uin: str = Form(""),
               photo: UploadFile | None = File(None), services: IdpServices = Depends(get_services)) -> Response:
    """Face login to civid itself (then the account page)."""
    return _attempt(request, services, None, csrf_token, challenge, uin, photo)


@router.post("/login/{uid}/face")
def interaction_face_login(uid: str, request: Request, csrf_token: str = Form(""), challenge: str = Form(""),
                           uin: str = Form(""), photo: UploadFile | None = File(None),
                           services: IdpServices = Depends(get_services)) -> Response:
    """Face login for a portal's authorization request (then back to ``/authorize/resume/{uid}``)."""
    return _attempt(request, services, uid, csrf_token, challenge, uin, photo)


def _attempt(request: Request, services: IdpServices, uid: str | None, csrf: str, challenge: str, uin_text: str,
             photo: UploadFile | None) -> Response:
    settings = services.settings
    sessions.check_csrf(request, csrf)
    interaction = _interaction(services, uid)
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
        uin = normalise_uin(uin_text)
    except InvalidUin:
        return again("face.uin_invalid", 422)  # checkable by anyone (check digit): reveals nothing
    data = photo.file.read(settings.max_upload_bytes + 1) if photo is not None else b""
    if photo is None or not data:
        return again("face.photo_missing", 422, uin)
    with services.sessions() as db:
        identity_id = db.scalar(select(Identity.id).where(Identity.uin == uin, Identity.status == "active"))
        locked = _locked(db, settings, identity_id, source)
        photo_hash = hashlib.sha256(data).hexdigest()
        replayed = db.scalar(select(FaceProbe.id).where(FaceProbe.photo_hash == photo_hash)) is not None
    if locked is not None:
        _audit_locked(services, uin, source)
        raise locked  # a 429 page with Retry-After, before anything is compared
    if replayed:
        _fail(services, identity_id, source, "photo_replayed")
        return again("face.photo_replayed", 403, uin)
    try:
        vector, _ = probe_descriptor(services, PhotoUpload(data, photo.filename or "photo", photo.content_type))
    except CividError as exc:
        # Decision: a photo the quality gate refuses does NOT count as a failed login. It is refused
        # before any comparison with the enrolled template, so it tells the sender nothing about the
        # person (probing needs scores, and every compared photo counts); counting it would lock out
        # honest citizens with a poor camera or light. It is audited, and the challenge is spent.
        _audit_rejected_photo(services, uin, source, exc)
        return again(_photo_problem(exc), 422, uin)
    with services.sessions() as db:
        score = _best_score(services, db, identity_id, vector) if identity_id is not None else None
    if score is None or score < settings.verify_threshold:
        _fail(services, identity_id, source, "no_match" if score is not None else "unknown_identity")
        return again("face.not_verified", 403, uin)
    return _succeed(request, services, identity_id, source, uid, photo_hash, score, again)  # type: ignore[arg-type]


def _interaction(services: IdpServices, uid: str | None) -> AuthorizationRequest | None:
    """The live interaction (detached), refusing face login when the portal demands a passkey."""
    if uid is None:
        return None
    with services.sessions() as db:
        interaction = interactions.load(db, uid)
        db.expunge(interaction)
    if METHOD not in acr.allowed_methods(interaction.params.get("acr_values") or []):
        raise FaceNotAllowed("this service requires a passkey; face login is not accepted")
    return interaction


def _best_score(services: IdpServices, db: Session, identity_id: int, vector: NDArray[np.float32]) -> float | None:
    """The highest cosine similarity between the probe and the identity's enrolled face templates."""
    # The record's templates only: a face decided a duplicate of this identity is an attempt against it
    # (enrollment.record), never a way to sign in as it.
    record = issuing_enrolment(db, identity_id)
    enrolments = [record] if record is not None else []
    descriptors = [open_descriptor(services.keyring, row, e.public_id) for e in enrolments
                   for row in db.scalars(select(FaceTemplate).where(FaceTemplate.enrolment_id == e.id))]
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
        audit.record(db, Actor(None, "anonymous", "citizen"), "login.locked_out", "login", "face", uin_typed=uin,
                     source=source)


def _audit_rejected_photo(services: IdpServices, uin: str, source: str, exc: CividError) -> None:
    codes = [issue["code"] for issue in (exc.extra.get("quality") or {}).get("issues", [])]
    with services.sessions.begin() as db:
        # The actor is what was typed: never say here whether the UIN exists.
        audit.record(db, Actor(None, "anonymous", "citizen"), "login.photo_rejected", "login", "face",
                     uin_typed=uin, source=source, problem=exc.type_slug, quality_issues=codes)


def _photo_problem(exc: CividError) -> str:
    """The i18n key for why a photo could not be used."""
    codes = [issue["code"] for issue in (exc.extra.get("quality") or {}).get("issues", [])]
    for code in codes:
        if f"face.quality.{code}" in i18n.catalogue():
            return f"face.quality.{code}"
    if codes:
        return "face.quality.other"
    return "face.photo_too_large" if exc.status == 413 else "face.photo_unreadable"


def _succeed(request: Request, services: IdpServices, identity_id: int, source: str, uid: str | None,
             photo_hash: str, score: float, again: Any) -> Response:
    response = authorization_response.redirect(sessions.after_login_url(uid))
    try:
        with services.sessions.begin() as db:
            identity = db.get(Identity, identity_id)
            assert identity is not None
            db.add(FaceProbe(photo_hash=photo_hash, identity_id=identity.id))
            db.flush()  # the unique hash: a concurrent replay of the same file loses here
            lockout.record(db, services.settings, identity, source, METHOD, True)
            sessions.establish(request, response, db, services, identity, METHOD, uid, face_score=round(score, 4))
    except IntegrityError:
        _fail(services, identity_id, source, "photo_replayed")
        return again("face.photo_replayed", 403)
    return response


i18n.register({
    "face.uin": {"en": "Your UIN (national identity number)", "es": "Su NUI (número de identidad nacional)"},
    "face.uin_hint": {"en": "10 digits, as printed on your identity card.",
                      "es": "10 dígitos, como aparece en su tarjeta de identidad."},
    "face.photo": {"en": "A photo of your face", "es": "Una foto de su rostro"},
    "face.photo_hint": {
        "en": "Take it now, facing the camera in good light, alone in the picture, without glasses or hat.",
        "es": "Tómela ahora, mirando a la cámara con buena luz, solo en la foto, sin lentes ni sombrero."},
    "face.camera_start": {"en": "Use the camera", "es": "Usar la cámara"},
    "face.camera_take": {"en": "Take the photo", "es": "Tomar la foto"},
    "face.camera_retake": {"en": "Take another", "es": "Tomar otra"},
    "face.camera_taken": {"en": "Photo taken. You can now sign in.", "es": "Foto tomada. Ya puede iniciar sesión."},
    "face.camera_unavailable": {"en": "The camera could not be opened. Choose a photo instead.",
                                "es": "No se pudo abrir la cámara. Elija una foto en su lugar."},
    "face.camera_label": {"en": "Camera preview", "es": "Vista de la cámara"},
    "face.submit": {"en": "Sign in with my face", "es": "Iniciar sesión con mi rostro"},
    "face.not_verified": {
        "en": "We could not verify you with this UIN and photo. Check the number and take a new photo.",
        "es": "No pudimos verificarle con este NUI y esta foto. Revise el número y tome una foto nueva."},
    "face.uin_invalid": {"en": "This is not a valid UIN: it has 10 digits and does not start with 0. Check it.",
                         "es": "Este no es un NUI válido: tiene 10 dígitos y no empieza con 0. Revíselo."},
    "face.photo_missing": {"en": "Choose or take a photo of your face.", "es": "Elija o tome una foto de su rostro."},
    "face.photo_unreadable": {"en": "This file could not be read as a photo (use JPEG or PNG).",
                              "es": "Este archivo no se pudo leer como una foto (use JPEG o PNG)."},
    "face.photo_too_large": {"en": "This photo is too large. Use a smaller one (at most a few megabytes).",
                             "es": "Esta foto es demasiado grande. Use una más pequeña (unos pocos megabytes como "
                                   "máximo)."},
    "face.photo_replayed": {"en": "This photo was already used to sign in. Take a new photo.",
                            "es": "Esta foto ya se usó para iniciar sesión. Tome una foto nueva."},
    "face.challenge_invalid": {
        "en": "This form expired or was already sent. Please try again with a new photo.",
        "es": "Este formulario caducó o ya se envió. Inténtelo de nuevo con una foto nueva."},
    "face.not_allowed": {
        "en": "This service requires a passkey. Face sign-in is not accepted here.",
        "es": "Este servicio exige una llave de acceso. Aquí no se acepta el inicio de sesión con el rostro."},
    "face.quality.no_face": {"en": "No face was found in the photo. Face the camera in good light.",
                             "es": "No se encontró un rostro en la foto. Mire a la cámara con buena luz."},
    "face.quality.multiple_faces": {"en": "Several faces are in the photo. Be alone in the picture.",
                                    "es": "Hay varios rostros en la foto. Debe aparecer solo usted."},
    "face.quality.face_too_small": {"en": "Your face is too small in the photo. Come closer to the camera.",
                                    "es": "Su rostro se ve muy pequeño en la foto. Acérquese a la cámara."},
    "face.quality.blurred": {"en": "The photo is blurred. Hold still and try again.",
                             "es": "La foto está borrosa. Quédese quieto e inténtelo de nuevo."},
    "face.quality.pose_yaw": {"en": "Your head is turned. Look straight at the camera.",
                              "es": "Su cabeza está girada. Mire directamente a la cámara."},
    "face.quality.pose_pitch": {"en": "Your head is tilted up or down. Look straight at the camera.",
                                "es": "Su cabeza está inclinada hacia arriba o abajo. Mire directamente a la cámara."},
    "face.quality.pose_roll": {"en": "Your head is tilted to one side. Hold it straight.",
                               "es": "Su cabeza está inclinada hacia un lado. Manténgala recta."},
    "face.quality.other": {"en": "This photo cannot be used. Face the camera in good light and try again.",
                           "es": "Esta foto no se puede usar. Mire a la cámara con buena luz e inténtelo de nuevo."},
})
