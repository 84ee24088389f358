"""Read-only groups of settings, each the parameter object of one stage (SourceAFIS's habit).

A stage such as the face quality gate takes its own small frozen object instead of the whole
``Settings``: a reviewer sees at the signature which limits it obeys, and a benchmark or a test builds
one without a deployment. ``Settings`` builds them from its flat ``CIVID_*`` fields (``settings.face_gate``,
``settings.finger_quality``, ``settings.dedup``, ``settings.gallery``), so the environment stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class UploadLimits:
    """What an uploaded photo may be, checked before any pixel is decoded."""

    max_upload_bytes: int
    max_image_pixels: int
    min_image_side: int
    max_photos_per_enrolment: int


@dataclass(frozen=True)
class FaceGateParams:
    """The face quality gate's limits (enrollment/quality.py): detection, size, sharpness and pose."""

    detection_max_side: int
    detection_min_confidence: float
    min_inter_eye_px: float
    min_sharpness: float
    max_yaw_deg: float
    max_pitch_deg: float
    max_roll_deg: float


@dataclass(frozen=True)
class FingerQualityParams:
    """The finger gate's limits (enrollment/fingerprint.py): file checks, NFIQ 2 minimum, minutiae count, and the
    geometry a finger's minutiae must fit (matcher/record_fitness.py)."""

    max_upload_bytes: int
    max_pixels: int
    min_side: int
    ppi_tolerance: int
    min_nfiq2: int
    require_nfiq2: bool
    min_minutiae: int
    min_frame_coverage: float  # share of the declared frame the minutiae's bounding box covers
    min_minutiae_per_cm2: float  # over that bounding box
    max_minutiae_per_cm2: float
    extractor: str  # matcher.extraction.Extractor's value: how minutiae are taken from an image


@dataclass(frozen=True)
class DedupThresholds:
    """When a search lists a candidate (enrollment/dedup.py): the fused evidence and how many are shown."""

    face_threshold: float  # cosine; FMR 1e-3 per comparison on LFW
    same_person_threshold: float  # photos of one enrolment must match each other at this cosine
    llr_threshold: float  # log10 likelihood ratio of the fused face and finger evidence
    max_candidates: int
    finger_shortlist: int  # fingers the index pre-selects per probe finger for the 1:1 matcher


@dataclass(frozen=True)
class DedupQueueConfig:
    """Who takes the deduplication jobs (this process or workers), how long a request waits, the lease and retries."""

    inline: bool
    wait_s: float
    lease_s: float
    max_attempts: int
    poll_s: float


@dataclass(frozen=True)
class MilvusConfig:
    """Where the Milvus backends keep the collections and how they index and search them (CIVID_GALLERY_MILVUS_*).

    The same fields as ``matcher.gallery.MilvusOptions``, which the gallery store builds from this (the core sits
    below matcher and cannot name it)."""

    uri: str
    collection_prefix: str
    timeout_s: float
    face_index: str
    nlist: int
    nprobe: int
    hnsw_m: int
    hnsw_ef_construction: int
    ef: int
    finger_index: str
    consistency: str


@dataclass(frozen=True)
class GalleryConfig:
    """The gallery's engine (by registered name), its index options and where its cache files live."""

    backend: str
    exact_max: int
    ivf_nprobe: int
    persist_every: int
    directory: Path
    faiss_parallel_mode: int
    faiss_threads: int
    milvus: MilvusConfig


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each kind of personal data is kept before `civid retention run` deletes it; None keeps it forever."""

    photo_days: int | None
    deactivated_template_days: int | None
    release_days: int | None
    login_history_days: int | None


@dataclass(frozen=True)
class AgePolicy:
    """The ages a child's enrolment and a guardian's rights turn on, in completed years (enrollment.guardianship)."""

    face_only_below: int  # younger: the face only, fingers owed at a later biometric update
    majority: int  # younger: a guardian verified at the desk, who may act for them online
