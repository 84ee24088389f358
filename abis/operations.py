"""The six ABIS operations behind one entry point: a decoded MOSIP message in, MOSIP's response out, audited.

Insert stores without searching (MOSIP asks that "de-duplication must not be performed in this operation"), so
an identify that follows finds every reference inserted before it. Each request, answered or failed, appends one
``abis.<operation>`` event to the audit trail with the requestId, referenceId, return value and failure reason
(never a template or a URL's token).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from abis import cbeff, datashare, messages
from abis.extraction import extract
from abis.identify import Match, identify
from abis.messages import AbisFailure, FailureReason
from abis.mosip_auth import MosipToken
from abis.references import ReferenceGallery, find, seal_templates
from civid import audit
from civid.actor import Actor
from civid.keyring import KeyRing
from civid.settings import Settings
from enrollment.face import FaceEngine
from matcher.fusion import Fusion
from models import AbisReference, AbisTemplate

log = logging.getLogger("civid.abis")


class Abis:
    """civid as MOSIP's ABIS: the reference store, its indexes and the operations on them."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        keyring: KeyRing,
        faces: FaceEngine,
        fusion: Fusion,
    ) -> None:
        self.settings, self.sessions, self.keyring, self.faces, self.fusion = settings, sessions, keyring, faces, fusion
        self.gallery = ReferenceGallery(
            keyring, exact_max=settings.gallery_exact_max, nprobe=settings.gallery_ivf_nprobe
        )
        self.token = MosipToken(settings)  # the data share's Authorization cookie, when MOSIP's auth manager is set
        self._in_flight = 0
        self._count_lock = threading.Lock()

    def handle(self, body: Any, actor: Actor) -> dict[str, Any]:
        """Answer one decoded message (any JSON value) as MOSIP expects, recording it in the audit trail."""
        operation, request_id = messages.request_identity(body)
        with self._count_lock:
            self._in_flight += 1
        try:
            request = messages.parse_request(body)
            response, extracted = self._dispatch(request)
            self._audit(actor, operation, request_id, body, response, None, extracted)
            return messages.wire(response)
        except AbisFailure as failure:
            log.info("ABIS %s %s failed with reason %d: %s", operation, request_id, failure.reason, failure.detail)
            response = messages.failure(operation, request_id, failure.reason)
            self._audit(actor, operation, request_id, body, response, failure.detail, {})
            return messages.wire(response)
        finally:
            with self._count_lock:
                self._in_flight -= 1

    def _dispatch(self, request: messages.AbisRequest) -> tuple[messages.AbisResponse, dict[str, Any]]:
        """The response, and what an insert extracted (for the audit event)."""
        if isinstance(request, messages.InsertRequest):
            return self._success(request), self.insert(request)
        if isinstance(request, messages.IdentifyRequest):
            return self.identify(request), {}
        if isinstance(request, messages.DeleteRequest):
            self.delete(request)
            return self._success(request), {}
        if request.id == messages.PING:
            with self.sessions() as session:
                session.execute(text("SELECT 1"))  # alive means able to answer from the reference database
            return self._success(request), {}
        if request.id == messages.PENDING_JOBS:
            # Requests are served as they arrive; those still being served by this process are what is pending.
            with self._count_lock:
                pending = self._in_flight - 1
            return messages.PendingJobsResponse(**self._envelope(request), jobscount=str(pending)), {}
        with self.sessions() as session:
            count = session.scalar(select(func.count()).select_from(AbisReference)) or 0
        return messages.ReferenceCountResponse(**self._envelope(request), count=str(count)), {}

    def insert(self, request: messages.InsertRequest) -> dict[str, Any]:
        """Fetch, extract, seal and index one reference; reason 10 if its referenceId is already held. Returns
        what was kept and left out, for the audit event."""
        with self.sessions() as session:
            if find(session, request.referenceId) is not None:
                raise AbisFailure(FailureReason.REFERENCE_ID_EXISTS, "the referenceId is already in the ABIS")
        document = datashare.fetch(request.referenceURL, self.settings, self.token)
        extraction = extract(cbeff.parse(document), self.faces, self.settings)
        try:
            with self.sessions.begin() as session:
                reference = AbisReference(reference_id=request.referenceId, request_id=request.requestId)
                session.add(reference)
                session.flush()
                session.add_all(seal_templates(self.keyring, reference, extraction.templates))
        except IntegrityError as exc:  # the same referenceId inserted by a concurrent request
            raise AbisFailure(FailureReason.REFERENCE_ID_EXISTS, "the referenceId is already in the ABIS") from exc
        with self.sessions() as session:
            self.gallery.catch_up(session)
        return {
            "faces": len(extraction.templates.faces),
            "fingers": sorted(extraction.templates.fingers),
            "left_out": extraction.rejected,
        }

    def identify(self, request: messages.IdentifyRequest) -> messages.IdentifyResponse:
        """Search the request's reference against all references or only ``gallery.referenceIds``."""
        flags = request.flags or messages.IdentifyFlags()
        restrict = [r.referenceId for r in request.gallery.referenceIds] if request.gallery else None
        max_results = flags.maxResults or self.settings.abis_max_results
        with self.sessions() as session:
            probe = find(session, request.referenceId)
            if probe is None:
                raise AbisFailure(FailureReason.REFERENCE_ID_NOT_FOUND, "the referenceId is not in the ABIS")
            matches, threshold = identify(
                session,
                self.keyring,
                self.gallery,
                self.fusion,
                probe,
                restrict or None,
                flags.targetFPIR,
                self.settings.dedup_llr_threshold,
                max_results,
            )
        candidates = [_candidate(match) for match in matches]
        return messages.IdentifyResponse(
            **self._envelope(request),
            candidateList=messages.CandidateList(
                count=str(len(candidates)), candidates=candidates, analytics={"threshold": f"{threshold:.2f}"}
            ),
        )

    def delete(self, request: messages.DeleteRequest) -> None:
        """Remove the reference and its templates (row and index); reason 12 if it is not held."""
        with self.sessions.begin() as session:
            reference = find(session, request.referenceId)
            if reference is None:
                raise AbisFailure(FailureReason.REFERENCE_ID_NOT_FOUND, "the referenceId is not in the ABIS")
            template_ids = list(
                session.scalars(select(AbisTemplate.id).where(AbisTemplate.reference_pk == reference.id))
            )
            session.execute(delete(AbisTemplate).where(AbisTemplate.reference_pk == reference.id))
            session.delete(reference)
        self.gallery.remove(template_ids)

    def _envelope(self, request: messages.AbisRequest) -> dict[str, str]:
        return {
            "id": request.id,
            "requestId": request.requestId,
            "responsetime": messages.response_time(),
            "returnValue": messages.SUCCESS,
        }

    def _success(self, request: messages.AbisRequest) -> messages.AbisResponse:
        return messages.AbisResponse(**self._envelope(request))

    def _audit(
        self,
        actor: Actor,
        operation: str | None,
        request_id: str | None,
        body: Any,
        response: messages.AbisResponse,
        why: str | None,
        extracted: dict[str, Any],
    ) -> None:
        reference_id = body.get("referenceId") if isinstance(body, dict) else None
        detail: dict[str, Any] = {"request_id": request_id, "return_value": response.returnValue, **extracted}
        if response.failureReason is not None:
            detail["failure_reason"] = response.failureReason
            detail["why"] = why
        if isinstance(response, messages.IdentifyResponse) and response.candidateList is not None:
            detail["candidates"] = [c.referenceId for c in response.candidateList.candidates]
            detail["gallery"] = "given" if isinstance(body, dict) and body.get("gallery") else "all"
        action = operation.removeprefix("mosip.abis.") if operation in messages.OPERATIONS else "invalid"
        subject = reference_id if isinstance(reference_id, str) else request_id
        with self.sessions.begin() as session:
            audit.record(session, actor, f"abis.{action}", "abis_reference", str(subject)[:64], **detail)


def _candidate(match: Match) -> messages.Candidate:
    """One candidate in MOSIP's shape. ``internalScore`` is 10 x the fused LLR, on targetFPIR's scale (30 = LLR 3)."""
    fused = match.fused
    modalities = []
    if fused.face_score is not None:
        modalities.append(
            messages.ModalityResult(
                biometricType="FID",
                analytics={"internalScore": str(round(10 * fused.face_llr)), "score": f"{fused.face_score:.4f}"},
            )
        )
    if fused.finger_scores:
        modalities.append(
            messages.ModalityResult(
                biometricType="FIR",
                analytics={
                    "internalScore": str(round(10 * fused.finger_llr)),
                    "fingersCompared": str(len(fused.finger_scores)),
                },
            )
        )
    return messages.Candidate(
        referenceId=match.reference_id,
        analytics={"internalScore": str(round(10 * fused.llr)), "llr": f"{fused.llr:.3f}"},
        modalities=modalities,
    )
