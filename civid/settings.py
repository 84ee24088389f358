"""All of civid's configuration, in one object read from ``CIVID_*`` environment variables.

Defaults run the embedded deployment: a SQLite file, key files and the gallery cache under
``./var``. Production sets ``CIVID_DATABASE_URL`` to PostgreSQL and supplies keys from a secret store.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from civid.settings_checks import production_problems, range_problems
from civid.settings_groups import (
    AgePolicy,
    DedupQueueConfig,
    DedupThresholds,
    FaceGateParams,
    FingerQualityParams,
    GalleryConfig,
    MilvusConfig,
    RetentionPolicy,
    UploadLimits,
)

# Listening on these, the service is reached as localhost from the same machine (or a mapped container port).
LOCAL_LISTEN_HOSTS = frozenset({"localhost", "0.0.0.0", "::", "::1", ""})


class Settings(BaseSettings):
    """Configuration of one civid deployment. Each option says what it means, not only what it is."""

    model_config = SettingsConfigDict(env_prefix="CIVID_", env_file=None, extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development",
        description="production refuses settings that are only safe on a developer's machine: an "
        "http or default issuer, cookies without the Secure flag, the SQLite default, key files generated under "
        "the data folder instead of supplied (settings_checks.py lists them). development (the default) runs "
        "`make run` as it is.",
    )

    # --- storage -------------------------------------------------------------------------
    data_dir: Path = Field(Path("var"), description="Folder for the SQLite file, key files and the gallery cache.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/civid.db. PostgreSQL: postgresql+psycopg://…"
    )
    template_keys_file: Path | None = Field(
        None, description="JSON key ring for templates at rest; default <data_dir>/keys/template-keys.json (0600)."
    )
    # --- keys in an HSM (civid/pkcs11_token.py, civid/envelope.py; docs/keys.md) -------------
    keys_backend: Literal["file", "pkcs11"] = Field(
        "file",
        description="file (the default): key files under <data_dir>/keys. pkcs11: the template key ring's data keys "
        "are stored wrapped by a master key in a PKCS#11 token, and new OpenID and audit signing keys are made and "
        "used inside the token (private halves never leave it).",
    )
    pkcs11_module: str | None = Field(
        None, description="Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so (keys_backend=pkcs11)."
    )
    pkcs11_token_label: str | None = Field(None, description="Label of the PKCS#11 token that holds civid's keys.")
    pkcs11_pin: SecretStr | None = Field(None, description="The token's user PIN (prefer pkcs11_pin_file).")
    pkcs11_pin_file: Path | None = Field(None, description="File whose first line is the token's user PIN.")
    # --- the audit log (civid/audit*.py; docs/audit-log.md) ---------------------------------
    audit_key_file: Path | None = Field(
        None,
        description="JSON with the Ed25519 keys that sign the audit log's checkpoints; default "
        "<data_dir>/keys/audit-keys.json (0600), created on first run. Keep it where the database administrator "
        "cannot write.",
    )
    audit_log_origin: str | None = Field(
        None,
        description="The audit log's name in its checkpoints and the signing key's name (C2SP tlog-checkpoint "
        "origin); default <issuer host>/audit.",
    )
    audit_checkpoint_file: Path | None = Field(
        None,
        description="Append-only file that receives every signed checkpoint (and, beside it as <file>.leaves, "
        "the log's leaf hashes) for a witness outside the database administrator's reach; default "
        "<data_dir>/audit/checkpoints.",
    )
    audit_sequence_interval_s: float = Field(
        1.0,
        gt=0,
        description="At most this long between sequencer passes when no commit woke it (it is woken by every "
        "commit that wrote an event; this catches events of a process that stopped before sequencing them).",
    )
    audit_checkpoint_interval_s: float = Field(
        10.0,
        gt=0,
        description="A new checkpoint is signed at most this often while the log grows (and on demand, at "
        "GET /v1/audit/checkpoint). Events not yet in a checkpoint the witness holds are the ones a database "
        "administrator could still rewrite unseen.",
    )
    audit_retention_days: int | None = Field(
        None,
        ge=1,
        description="Delete audit event bodies (they hold personal data) this many days after they occurred; "
        "their leaf hashes stay, so proofs and verification still work. None (the default): keep them.",
    )
    keep_photos: bool = Field(
        True,
        description="Keep enrolment photos, AES-256-GCM encrypted under the template key ring and bound to "
        "their enrolment like templates. On by default because adjudicators must compare the applicant's and the "
        "candidates' faces to decide a possible duplicate, and scores alone do not show a twin or a swapped "
        "photo; the console shows them only to adjudicators and only while the case is open. Off: only "
        "templates are kept, and case pages show no photos.",
    )

    # --- retention of personal data (server/retention.py, `civid retention run`; docs/retention.md) ----------
    # Each: days after which the rows go, or None (empty, "none", "forever") to keep them forever.
    retention_photo_days: int | None = Field(
        None,
        ge=1,
        description="Delete enrolment photos this many days after their enrolment. None (the default): kept, "
        "because a photo is the evidence an adjudicator or a court compares a disputed identity against; photos "
        "of an enrolment in an open case (applicant or candidate) or not yet decided are never deleted.",
    )
    retention_deactivated_template_days: int | None = Field(
        365,
        ge=1,
        description="Delete the face and finger templates of an identity deactivated for any reason but death "
        "(duplicate, voluntary renunciation) this many days after its deactivation. A deceased person's templates "
        "are always kept, whatever this says, so a new enrolment using a dead person's face or fingers is still "
        "caught by deduplication. Merged UINs hold no templates (their enrolment belongs to the identity that "
        "stays); templates of a candidate in an open case are kept until it is decided.",
    )
    retention_release_days: int | None = Field(
        1825,
        ge=1,
        description="Delete the records of claims released to portals and banks (data_releases, listed on the "
        "resident's account page) this many days after the release. Consents and attestations are not touched.",
    )
    retention_login_history_days: int | None = Field(
        365,
        ge=1,
        description="Delete login attempts, and login sessions that ended or expired, this many days after; a "
        "session a grant, an authorization request or a pending back-channel logout still names is kept.",
    )

    @field_validator(
        "retention_photo_days",
        "retention_deactivated_template_days",
        "retention_release_days",
        "retention_login_history_days",
        mode="before",
    )
    @classmethod
    def _keep_forever_words(cls, value: object) -> object:
        """An empty value, ``none`` or ``forever`` in the environment means keep forever (None)."""
        if isinstance(value, str) and value.strip().lower() in {"", "none", "forever", "never"}:
            return None
        return value

    # --- children and guardians (enrollment/guardianship.py; docs/guardians.md) ------------------
    child_face_only_below_age: int = Field(
        5,
        description="A child younger than this (years) is enrolled with the face only: no fingers are taken, "
        "since a small child's ridges are too small and change too fast to deduplicate on (Aadhaar's Baal Aadhaar "
        "model), and the record is marked as owing its fingers at a later biometric update.",
    )
    age_of_majority: int = Field(
        18,
        description="A person younger than this (years) is enrolled only with a guardian who is verified at the "
        "desk, and that guardian may act for them online (their history, their data) until they reach it.",
    )

    # --- input limits (checked before any pixel is decoded) --------------------------------
    max_upload_bytes: int = Field(8 * 1024 * 1024, description="Largest accepted image file.")
    max_image_pixels: int = Field(
        40_000_000, description="Largest width×height; a larger header is refused as a decompression bomb."
    )
    min_image_side: int = Field(160, description="Smallest accepted width or height in pixels.")
    max_photos_per_enrolment: int = Field(5)

    # --- quality gate --------------------------------------------------------------------
    detection_max_side: int = Field(
        1024, description="Photos are downscaled to this longest side for face detection only (speed)."
    )
    detection_min_confidence: float = Field(
        0.5, description="dlib HOG detector score below which a detection is not counted as a face."
    )
    min_inter_eye_px: float = Field(
        40.0,
        description="Minimum distance between eye centres. dlib aligns faces to 150x150 chips with ~45 px "
        "between the eyes: fewer source pixels than that means the descriptor is computed on upsampled detail.",
    )
    min_sharpness: float = Field(
        60.0, description="Minimum variance of the Laplacian of the face crop resized to 160x160 (blur check)."
    )
    max_yaw_deg: float = Field(30.0, description="Largest head turn left/right estimated from landmarks.")
    max_pitch_deg: float = Field(30.0, description="Largest head tilt up/down estimated from landmarks.")
    max_roll_deg: float = Field(20.0, description="Largest in-plane head rotation (eye line angle).")
    same_person_threshold: float | None = Field(
        None,
        description="Photos of one enrolment must match each other at this score; default dedup_threshold (FMR 1e-3).",
    )

    # --- matching thresholds (cosine similarity of L2-normalised dlib descriptors) ----------
    # Calibrated on LFW (deep-funneled, persons A-L) by benchmarks/face_accuracy.py; see README.
    dedup_threshold: float = Field(
        0.9251,
        description="A gallery hit at or above this opens a deduplication case. Set at FMR 1e-3 per comparison "
        "on LFW, so a search over N people yields about N/1000 false candidates for an adjudicator.",
    )
    verify_threshold: float = Field(
        0.9400,
        description="1:1 verification accepts at or above this. Set at FMR 1e-4 per comparison on LFW.",
    )
    identify_threshold: float = Field(
        0.9251, description="1:N identification reports candidates at or above this (same meaning as dedup)."
    )
    dedup_max_candidates: int = Field(10, description="At most this many candidates are listed in a case.")

    # --- the deduplication queue (models/dedup_job.py, enrollment/dedup_queue.py) -------------
    dedup_inline: bool = Field(
        True,
        description="The registration process deduplicates each enrolment it stores itself, in the request, as "
        "the embedded deployment always did. false leaves the queue to `civid abis worker` processes (one or more, "
        "on any machine sharing the PostgreSQL database).",
    )
    dedup_wait_s: float = Field(
        30.0,
        ge=0,
        description="How long an enrolment request waits for its deduplication result before it answers 202 "
        "pending_dedup with a URL to poll; 0 answers at once. A desk sees the outcome in the same request while "
        "the queue is short.",
    )
    dedup_lease_s: float = Field(
        60.0,
        gt=0,
        description="A claimed job is a worker's for this long, renewed every third of it while the job runs "
        "(enrollment/dedup_queue.py Heartbeat); a worker that dies mid-job stops renewing and loses it when the lease "
        "expires, and another takes it again. Several database round trips long, so a busy moment does not lose it.",
    )
    dedup_max_attempts: int = Field(
        5, ge=1, description="A job that failed this many times is marked failed (its error kept) and not retried."
    )
    dedup_poll_s: float = Field(
        0.2, gt=0, description="An idle worker looks for new jobs this often (and a waiting request for its result)."
    )

    # --- gallery (FAISS cache of the templates in the database) ----------------------------
    gallery_backend: str = Field(
        "faiss",
        description="The gallery engine of faces and fingers, by its registered name (matcher/gallery_backends.py): "
        "faiss, indexes in this process saved under <data_dir>/gallery; milvus, collections on the Milvus server at "
        "CIVID_GALLERY_MILVUS_URI shared by every civid process (docs/milvus.md). An unknown name refuses to start.",
    )
    gallery_exact_max: int = Field(
        100_000,
        description="Up to this many templates the gallery is an exact IndexFlatIP; above it an IVF index "
        "(benchmarks/gallery_speed.py measured the cross-over and the recall).",
    )
    gallery_ivf_nprobe: int = Field(
        512, description="IVF lists visited per search: at 1M templates and 2,048 lists, 512 gave recall@10 0.996."
    )
    gallery_persist_every: int = Field(
        100, description="Write the index file after this many additions (the database is the truth anyway)."
    )
    gallery_faiss_parallel_mode: Literal[0, 1] = Field(
        1,
        description="How a FAISS IVF search uses threads: 1 splits one query's lists across them (faster on an idle "
        "machine), 0 gives each query one thread (less overhead when many searches run at once). "
        "benchmarks/gallery_speed.py --parallel-modes 0,1 measures both.",
    )
    gallery_faiss_threads: int = Field(
        1,
        ge=0,
        description="OpenMP threads one FAISS search (faces or fingers) may use; 0 is FAISS's default, one per core. "
        "1 because searches already run side by side (workers, request threads, processes): a 10k flat search "
        "took 24 ms with 2 threads and 0.10 ms with 1 on 2 loaded cores, its extra thread spinning for a busy core "
        "(matcher/faiss_threads.py). 0 suits one search at a time on an idle many-core machine.",
    )
    # --- gallery on Milvus (CIVID_GALLERY_BACKEND=milvus; docs/milvus.md) -------------------------
    gallery_milvus_uri: str = Field(
        "http://127.0.0.1:19530",
        description="The Milvus proxy (standalone or cluster) the gallery collections live on.",
    )
    gallery_milvus_collection_prefix: str = Field(
        "civid",
        description="Collections are <prefix>_faces and <prefix>_fingers (aliases of the live ones): one prefix per "
        "deployment sharing a Milvus. Letters, digits and underscores, starting with a letter or underscore.",
    )
    gallery_milvus_timeout_s: float = Field(10.0, description="Longest wait for one Milvus call (search, insert).")
    gallery_milvus_face_index: Literal["FLAT", "IVF_FLAT", "HNSW"] = Field(
        "HNSW",
        description="The face vectors' index: FLAT exact, IVF_FLAT or HNSW approximate (recall measured by "
        "benchmarks/milvus_gallery.py). Changing it makes the next start rebuild the collection.",
    )
    gallery_milvus_nlist: int = Field(
        1024, description="IVF lists per Milvus segment (IVF_FLAT, BIN_IVF_FLAT); a segment holds up to ~1M faces."
    )
    gallery_milvus_nprobe: int = Field(64, description="IVF lists a Milvus search visits (IVF_FLAT, BIN_IVF_FLAT).")
    gallery_milvus_hnsw_m: int = Field(16, description="HNSW: links per node (more: better recall, more memory).")
    gallery_milvus_hnsw_ef_construction: int = Field(200, description="HNSW: candidates kept while building.")
    gallery_milvus_ef: int = Field(
        128, description="HNSW: candidates kept while searching (raised to k when k is larger)."
    )
    gallery_milvus_finger_index: Literal["BIN_FLAT", "BIN_IVF_FLAT"] = Field(
        "BIN_FLAT", description="The MCC cylinders' index, Hamming distance: BIN_FLAT exact, BIN_IVF_FLAT approximate."
    )
    gallery_milvus_consistency: Literal["Strong", "Bounded", "Session", "Eventually"] = Field(
        "Strong",
        description="Strong: every search sees every write acknowledged before it by any civid process, which "
        "deduplication needs; it waits for Milvus's next time tick (proxy.timeTickInterval, 200 ms by default). "
        "Bounded or Eventually answer at once but may miss the last seconds of enrolments (a duplicate enrolled "
        "twice within them would get two UINs). Session sees this process's inserts, not on Milvus 2.3 its deletes.",
    )

    # --- fingerprints ----------------------------------------------------------------------
    finger_min_nfiq2: int = Field(
        20,
        description="A finger image below this NFIQ 2 score (0-100) is rejected; the officer retakes it or "
        "records why the finger cannot be given.",
    )
    finger_require_nfiq2: bool = Field(
        True, description="Reject a finger whose NFIQ 2 score cannot be computed (the reason is reported)."
    )
    finger_min_minutiae: int = Field(12, description="A finger with fewer minutiae is rejected as unusable.")
    finger_extractor: Literal["mindtct", "masked", "enhanced"] = Field(
        "mindtct",
        description="How minutiae are taken from a finger image (matcher/extraction.py): 'mindtct' as NIST MINDTCT "
        "finds them; 'masked' without those outside the print or near its edge; 'enhanced' from the Gabor-enhanced "
        "image, likewise masked. benchmarks/finger_lodo.py (eight FVC databases, leave-one-database-out) measured "
        "'enhanced' at a mean EER of 4.24% against 5.99% for 'mindtct' (lower on seven of eight databases, not on "
        "FVC2002 DB1), at about twice the extraction time, "
        "and with fewer minutiae per finger, so more fingers fall under finger_min_minutiae: it stays opt-in until "
        "that gate is refitted for it. Templates have the same format whichever is chosen; a gallery is best "
        "enrolled with one.",
    )
    finger_min_side: int = Field(150, description="Finger images smaller than this on a side are refused.")
    finger_max_pixels: int = Field(2_000 * 2_000, description="Finger images above this pixel count are refused.")
    finger_ppi_tolerance: int = Field(
        50,
        description="Images whose file states a resolution more than this far from 500 ppi are refused, and so are "
        "imported ISO records that declare one (the matchers measure in 500 ppi pixels).",
    )
    # The three geometry limits below (matcher/record_fitness.py) refuse imported records only (an image's minutiae
    # are in its own 500 ppi pixels by construction). They sit outside every value of FVC2002's 320 SecuGen ISO
    # records by a margin, and the density limits outside those of MINDTCT on the 640 FVC2000 + FVC2002 images too
    # (benchmarks/finger_lodo.py prints the distributions), so no real record seen here is refused. Fitted on
    # FVC2002 B (one vendor's extractor, four sensors) and FVC2000 B images: other vendors may need them widened.
    finger_min_frame_coverage: float = Field(
        0.08,
        description="An imported record's minutiae must span at least this share of the frame it declares (their "
        "bounding box over width x height): minutiae in a corner were rescaled or cropped from another frame. "
        "FVC2002's SecuGen records span 0.10-0.77 of theirs (median 0.41).",
    )
    finger_min_minutiae_per_cm2: float = Field(
        6.0,
        description="An imported record with fewer minutiae per cm² of the area they span (in its declared "
        "resolution) is refused: stretched coordinates, or too few minutiae for the area. Real templates: 8.1-64.",
    )
    finger_max_minutiae_per_cm2: float = Field(
        65.0,
        description="An imported record with more minutiae per cm² of the area they span is refused: shrunk "
        "coordinates (a larger sensor's minutiae rescaled into a smaller frame). Real templates: 8.1-64; 65 is the "
        "tightest multiple of 5 that refuses none of them, and it refuses about half of FVC2002's records rescaled "
        "as from a 640x480 frame into 300x400 (a median fingertip's 25 per cm² becomes 64: the rest pass).",
    )
    finger_shortlist: int = Field(
        20, description="Fingers the index pre-selects per probe finger; they are re-ranked by the 1:1 matcher."
    )
    # Fitted on the eight FVC databases pooled; its held-out meaning is the leave-one-database-out figure, because a
    # deployment meets sensors it was never fitted on (benchmarks/finger_lodo.py, "Thresholds to ship").
    finger_verify_threshold: float = Field(
        0.025,
        description="1:1 fingerprint verification accepts a finger at or above this MCC similarity: the FMR 1e-3 "
        "threshold fitted on all eight FVC2000 + FVC2002 DB1-4 B image sets pooled (MINDTCT + MCC, 23,040 impostor "
        "pairs; benchmarks/finger_lodo.py). Leave-one-database-out (the same target fitted on seven databases, "
        "measured on the eighth) it gave FMR 1.1e-3 mean, 3.5e-3 worst (FVC2000 DB4), and FNMR 19.9% mean, 60.4% "
        "worst (FVC2000 DB3). Imported ISO records match strangers more often: 5.0e-3 at this threshold (FVC2002 "
        "records, in-sample).",
    )
    dedup_llr_threshold: float = Field(
        3.0,
        description="Deduplication (and fingerprint identification) lists a candidate when the fused evidence "
        "(the sum of the log10 likelihood ratios of the face and every finger compared, matcher/fusion.py) is at or "
        "above this: 1,000 times likelier if same person. One finger alone never reaches it: its LLR is capped at "
        "matcher/calibration.json's finger_llr_cap (2.75; start-up refuses a threshold at or below the cap). "
        "Measured leave-one-database-out on eight FVC databases (benchmarks/finger_lodo.py): no held-out impostor "
        "pair reached finger LLR 2 (0 of 34,560, claimed <= 6.8e-3); two independent fingers: FMR 7.5e-8 mean, "
        "FNMR 30.1% mean (93.4% on FVC2000 DB3). Per comparison (benchmarks/fusion.py, fingers out of fold, by "
        "independence): face only FMR 1e-4 at LLR 2.67, face and two fingers 1e-6 at LLR 2.81 (FNMR 2.8%). "
        "Across sensors one finger's impostors reach the cap (at least 17 of 16,590 chimeric comparisons), so the "
        "cap, not the table, keeps one finger below this. Raise it as the population grows.",
    )
    verify_required_modalities: list[Literal["face", "finger"]] = Field(
        default_factory=list,
        description="Modalities a /v1/verify call must present. Every modality presented must match; with the "
        "empty default, any one presented modality is enough.",
    )

    # --- OpenID Connect provider (idp/) -------------------------------------------------------
    issuer: str | None = Field(
        None,
        description="The OP's issuer URL (https in production); default http://localhost:<port> when the "
        "service listens on a loopback or every address, else http://<host>:<port>. Tokens, discovery and "
        "WebAuthn's relying-party id (its host) derive from it, so its host must be a name: browsers refuse "
        "passkeys for an IP address, and `civid serve` refuses to start with one.",
    )
    redirect_to_issuer_host: bool = Field(
        True,
        description="A browser page (GET or HEAD asking for text/html) requested at a loopback variant of a "
        "loopback issuer's host (http://127.0.0.1:8000 or http://[::1]:8000 for http://localhost:8000, same port) "
        "is redirected there, where its cookies and passkeys work. Any other host is served as it is, unless "
        "trust_forwarded_host says which host the browser used: a proxy may rewrite Host, and a redirect it sends "
        "back with the same Host would loop.",
    )
    trust_forwarded_host: bool = Field(
        False,
        description="Take the host the browser asked for from X-Forwarded-Host, its last value (the one the "
        "nearest proxy added; earlier values are the client's own), and redirect pages asked for at another host "
        "than the issuer's. Only behind a proxy that sets it on every request: otherwise a client names any host. "
        "Separate from trust_forwarded_for, since a proxy may set one header and not the other.",
    )
    signing_alg: Literal["ES256", "RS256"] = Field(
        "ES256",
        description="Default algorithm for ID tokens, access tokens and attestations; a client may ask "
        "for the other one (id_token_signed_response_alg).",
    )
    signing_key_lifetime_days: int = Field(90, description="`civid keys rotate` is due after this many days.")
    signing_key_publish_lead_s: int = Field(
        3600,
        description="A rotated-in key is published in the JWKS this long before it signs anything, so "
        "relying parties that cache the JWKS already know it.",
    )
    code_ttl_s: int = Field(60, description="Authorization codes expire after this (single use).")
    par_ttl_s: int = Field(90, description="A pushed authorization request's request_uri expires after this.")
    interaction_ttl_s: int = Field(900, description="A citizen must finish logging in and consenting within this.")
    id_token_ttl_s: int = Field(300)
    access_token_ttl_s: int = Field(600)
    refresh_token_ttl_s: int = Field(30 * 24 * 3600, description="A refresh-token family ends this long after login.")
    login_session_ttl_s: int = Field(8 * 3600, description="Single sign-on session lifetime at civid.")
    consent_ttl_days: int = Field(365, description="Remembered consent expires after this; the citizen is asked again.")
    client_assertion_max_age_s: int = Field(
        300,
        description="private_key_jwt assertions must expire within this of now (their jti is remembered "
        "until then, so a replay is refused).",
    )
    dpop_proof_max_age_s: int = Field(
        300,
        description="A DPoP proof (RFC 9449) older than this (by its iat) is refused; its jti is remembered this "
        "long, so a replay within it is refused too.",
    )
    dpop_clock_skew_s: int = Field(
        30, description="How far in the future a DPoP proof's iat may be (the client's clock running ahead)."
    )
    dpop_require_nonce: bool = Field(
        False,
        description="DPoP proofs must carry a nonce the server gave (RFC 9449 §8, the DPoP-Nonce header): a "
        "proof made in advance, even by a client whose key leaked briefly, is then useless later.",
    )
    dpop_nonce_ttl_s: int = Field(
        300, description="A server-provided DPoP nonce is accepted for between one and two of these periods."
    )
    face_challenge_ttl_s: int = Field(300, description="A face-login challenge must be used within this, once.")
    passkey_binding_ttl_s: int = Field(
        900, description="A passkey binding code issued by an officer at the desk is valid this long, once."
    )
    passkey_binding_face_max_age_s: int = Field(
        600, description="Binding a passkey online needs a face verification at most this old."
    )
    resident_data_login_max_age_s: int = Field(
        900,
        description="Downloading everything civid holds about oneself (/account/my-data) needs a login at most "
        "this old; an older session signs in again first.",
    )
    auth_method_unlock_durations_s: tuple[int, ...] = Field(
        (600, 3600),
        description="The temporary unlocks a resident may choose on the account page for a locked method, seconds.",
    )
    vid_temporary_ttl_s: int = Field(
        1800,
        description="A temporary Virtual ID expires this long after it is created (and is spent by its first use).",
    )
    vid_temporary_max_live: int = Field(
        5, description="How many unused, unexpired temporary Virtual IDs one resident may hold at once."
    )
    vid_key_file: Path | None = Field(
        None,
        description="JSON with the key of Virtual ID digests; default <data_dir>/keys/vid-key.json (0600), created "
        "on first run. Losing it makes every VID unusable (residents create new ones); back it up with the keys.",
    )
    passkey_ceremony_ttl_s: int = Field(
        300,
        description="A WebAuthn registration or login must finish within this (the browser's timeout too); "
        "its challenge is then spent.",
    )
    login_max_failures_per_identity: int = Field(
        5, description="Failed logins for one identity within login_failure_window_s before it is locked."
    )
    login_max_failures_per_source: int = Field(
        20, description="Failed logins from one client address within login_failure_window_s before it is locked."
    )
    login_failure_window_s: int = Field(900)
    login_lockout_s: int = Field(900, description="How long a locked identity or source must wait.")
    cookie_secure: bool | None = Field(
        None, description="Secure flag on civid's cookies; default: on when the issuer is https."
    )
    outbound_allow_private: bool = Field(
        False,
        description="Let civid fetch a client's jwks_uri (and POST to its backchannel_logout_uri) on "
        "loopback, private or link-local addresses. "
        "Off: only public addresses, so a client registration cannot aim civid at its own network (SSRF); "
        "turn on for a relying party on a private network or a developer's machine.",
    )
    backchannel_logout_timeout_s: float = Field(
        5.0,
        description="How long civid waits for a portal's backchannel_logout_uri to answer one logout token "
        "(OIDC Back-Channel Logout 1.0); sent in the background, so a slow portal never delays a citizen's logout.",
    )
    backchannel_logout_attempts: int = Field(
        4,
        ge=1,
        description="Attempts to deliver one logout token (a portal answering 5xx, 429 or not at all is "
        "tried again; a 4xx refusal is final). Every attempt is audited.",
    )
    backchannel_logout_retry_delay_s: float = Field(
        10.0, description="Wait before the second attempt; doubled before each further one (10 s, 20 s, 40 s)."
    )
    smtp_host: str | None = Field(None, description="SMTP server for notification email; unset: no email is sent.")
    smtp_port: int = Field(25, description="SMTP server port.")
    smtp_user: str | None = Field(None, description="SMTP login (with smtp_password), if the server wants one.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS before sending.")
    smtp_from: str = Field("civid@localhost", description="The From address of notification email.")
    smtp_timeout_s: float = Field(10.0, description="How long one SMTP conversation may take.")
    sms_gateway_url: str | None = Field(
        None,
        description="The SMS gateway's HTTP endpoint: civid POSTs {to, sender, text, reference} as JSON "
        "(docs/notifications.md); unset: no SMS is sent.",
    )
    sms_gateway_token: SecretStr | None = Field(None, description="Bearer token for the SMS gateway, if it wants one.")
    sms_sender: str = Field("civid", max_length=11, description="The sender name or number SMS show (11 at most).")
    sms_gateway_timeout_s: float = Field(10.0, description="How long one request to the SMS gateway may take.")
    notification_templates_dir: Path | None = Field(
        None,
        description="A folder of <lang>/<kind>.txt templates overriding the shipped ones (first line: Subject:).",
    )
    notification_default_language: Literal["en", "es"] = Field(
        "en", description="The language of a person's notifications when none is stored for them."
    )
    notification_attempts: int = Field(5, ge=1, description="Attempts to deliver one notification before failed.")
    notification_retry_delay_s: float = Field(
        30.0, description="Wait before the second delivery attempt; doubled before each further one."
    )
    notification_lease_s: float = Field(
        120.0, description="How long a claimed notification is its claimant's; after that another process retries."
    )
    trust_forwarded_for: bool = Field(
        False,
        description="Use X-Forwarded-For as the client address (only behind a proxy that sets it): its "
        "last value, the one the nearest proxy appended.",
    )
    idp_secrets_file: Path | None = Field(
        None,
        description="JSON with the pairwise-subject salt and the cookie/CSRF key; default "
        "<data_dir>/keys/idp-secrets.json (0600), created on first run.",
    )

    # --- MOSIP ABIS (abis/) ------------------------------------------------------------------
    abis_datashare_urls: list[str] = Field(
        default_factory=list,
        description="URL prefixes an ABIS insert's referenceURL must start with (scheme, host, port and path, e.g. "
        '["https://datashare.mosip.example/v1/datashare/get/"], a JSON list): the data-share service and nothing '
        "else, so a forged message cannot make civid fetch from another host. Empty (the default): every insert "
        "is refused with failure reason 7 until the data-share host is named.",
    )
    abis_datashare_allow_private: bool = Field(
        False,
        description="Let the data-share host resolve to a loopback, private or link-local address (MOSIP inside "
        "the same private network). Off: public addresses only, checked at connect time (civid/outbound.py), so "
        "even an allowed name cannot be re-pointed at the registration network by DNS.",
    )
    abis_datashare_timeout_s: float = Field(
        10.0, description="Longest wait for the data share to answer one read; the whole fetch at most twice this."
    )
    abis_max_cbeff_bytes: int = Field(
        16 * 1024 * 1024,
        description="Largest CBEFF document fetched from a referenceURL (ten finger images, two irises and a "
        "face as JPEG 2000 are about 2 MB); a larger answer is cut off and refused (failure reason 7).",
    )
    abis_mosip_auth_url: str | None = Field(
        None,
        description="MOSIP's auth manager (https://<base_url>/v1/authmanager/authenticate/clientidsecretkey): "
        "civid signs in there with the client id and secret key the system integrator gave its ABIS partner, and "
        "sends the token it gets as the Authorization cookie the data share asks for. Unset: no token is sent.",
    )
    abis_mosip_app_id: str = Field("regproc", description="The appId civid's ABIS client signs in with.")
    abis_mosip_client_id: str | None = Field(None, description="The clientId of civid's ABIS client at MOSIP.")
    abis_mosip_secret_key_file: Path | None = Field(
        None, description="File holding that client's secretKey (from the secret store; read when signing in)."
    )
    abis_max_results: int = Field(
        50,
        description="Candidates an identify answers at most when its flags carry no maxResults (MOSIP asks for "
        "every candidate above the threshold; this bounds a pathological search).",
    )

    # --- KYC (kyc/) -------------------------------------------------------------------------
    kyc_trust_framework: str = Field(
        "bz_nid",
        description="The trust_framework of verified_claims (OIDC4IDA): the national rules under "
        "which enrolment verifies identity. Published in discovery.",
    )
    kyc_assurance_level_document: str = Field(
        "high",
        description="assurance_level when an officer examined an identity document and the person "
        "was deduplicated biometrically.",
    )
    kyc_assurance_level_biometric_only: str = Field(
        "substantial",
        description="assurance_level when no document was recorded (biometric deduplication only).",
    )
    attestation_ttl_s: int = Field(
        90 * 24 * 3600, description="A KYC attestation expires after this; signing keys stay published that long."
    )
    credential_validity_days: int = Field(
        3650,
        description="What a citizen carries (the ID card and its signed QR, a wallet credential) is valid this "
        "long; a retired credential key stays published that long after it stops signing, so every card it signed "
        "still verifies.",
    )
    card_identifier: Literal["uin", "vid"] = Field(
        "uin",
        description="What the printed ID card and its QR state as the holder's number: the UIN, or a perpetual VID "
        "made for the card (it replaces the resident's live perpetual VID; reporting the card lost revokes it), so "
        "a photocopy of the card does not spread the UIN.",
    )
    status_list_size: int = Field(
        131_072, description="Entries of the attestation status list (a bit each); indexes are drawn at random."
    )
    status_list_ttl_s: int = Field(300, description="How long a bank may cache the signed status list.")
    kyc_register_name: str = Field(
        "National Identity Register",
        description="The authority whose officers check documents and whose register "
        "the 1:N deduplication searches: named in verified_claims evidence (organization, record source).",
    )
    kyc_register_country: str = Field(
        "BLZ", pattern=r"^[A-Z]{2,3}$", description="ISO 3166-1 country code of that register (evidence source)."
    )
    status_list_validity_s: int = Field(
        86_400,
        description="A signed status list expires (its `exp`) this long after it was signed: a bank that "
        "could not fetch a fresh one for longer must treat attestations' status as unknown.",
    )
    # OpenID4VP verifier (credentials/presentations.py): a relying party asks civid to request a wallet presentation.
    presentation_vct_values: list[str] = Field(
        default_factory=lambda: ["urn:civid:vct:pid:1"],  # credentials.pid.VCT: the PID civid issues
        min_length=1,
        description="The SD-JWT VC types (vct) of civid's own credentials a relying party may ask a wallet to "
        "present (DCQL meta.vct_values); a presented credential of another type is refused.",
    )
    presentation_ttl_s: int = Field(
        300, le=3600, description="A presentation request is answerable by the wallet for this long, then expires."
    )
    presentation_max_wait_s: int = Field(
        25, le=60, description="The longest a relying party's status poll may wait for the wallet's answer."
    )
    presentation_kb_max_age_s: int = Field(
        300,
        le=3600,
        description="A Key Binding JWT signed longer ago than this (its iat) is refused as stale; as much ahead "
        "of civid's clock is refused too.",
    )
    presentation_client_id: str = Field(
        "",
        max_length=200,
        description="civid's client identifier in its presentation requests (the wallet's pre-registered "
        "verifier, and the Key Binding JWT's aud); empty: the issuer's host name.",
    )
    # --- wallet credentials (credentials/: OpenID4VCI) ------------------------------------------------
    wallet_offer_ttl_s: int = Field(
        600,
        le=3600,
        description="A credential offer made at a desk (its pre-authorized code and transaction code) must be "
        "redeemed by the citizen's wallet within this many seconds.",
    )
    wallet_tx_code_max_attempts: int = Field(
        5,
        le=20,
        description="Wrong transaction codes tried against one offer before it is locked (six digits: a million "
        "guesses would be needed; five leave a 1 in 200,000 chance).",
    )
    wallet_nonce_ttl_s: int = Field(
        300, le=3600, description="A c_nonce from the nonce endpoint is accepted in a key proof this long, once."
    )
    wallet_access_token_ttl_s: int = Field(
        300,
        le=3600,
        description="The access token of a redeemed pre-authorized code fetches one credential within this long.",
    )
    wallet_proof_max_age_s: int = Field(
        300, le=3600, description="A wallet's key proof (its iat) may be at most this old, or this far ahead."
    )
    wallet_credential_validity_days: int = Field(
        365,
        le=3650,
        description="A wallet credential (the PID SD-JWT VC) expires this many days after issuance; the wallet "
        "asks for a fresh one, with the record as it then stands.",
    )

    # --- officer console (console/) ------------------------------------------------------------
    console_idle_timeout_s: int = Field(
        900, description="A console session with no request for this long ends (an unattended desk)."
    )
    console_session_max_s: int = Field(12 * 3600, description="A console session ends this long after sign-in.")
    console_require_passkey: bool = Field(
        True,
        description="Staff sign in to the console with a passkey (acr urn:civid:acr:passkey); face-only "
        "sign-in is refused.",
    )
    # Registration drives (console/batch/, enrollment/batch/): one ZIP of per-person packages. The limits refuse a
    # ZIP bomb before anything is decompressed, from the sizes in the archive's directory (which zipfile enforces).
    batch_max_archive_bytes: int = Field(
        512 * 1024 * 1024, description="Largest uploaded batch ZIP (the request body limit for /console/batch)."
    )
    batch_max_uncompressed_bytes: int = Field(
        2 * 1024 * 1024 * 1024, description="Largest total uncompressed size of a batch ZIP's members."
    )
    batch_max_members: int = Field(20_000, description="Most files (and folders) in one batch ZIP.")
    batch_max_packages: int = Field(2_000, description="Most people (package folders) in one batch.")
    batch_max_compression_ratio: float = Field(
        100.0,
        description="A member that expands more than this many times is refused (photos and fingerprint "
        "images barely compress; a high ratio is a decompression bomb).",
    )
    batch_stale_after_s: int = Field(
        120,
        description="A running batch whose runner (in another process) has not finished a record for this long "
        "is treated as interrupted and may be resumed; one run by a process that is gone can be resumed at once.",
    )

    # --- HTTP ----------------------------------------------------------------------------
    host: str = Field("127.0.0.1")
    port: int = Field(8000)
    role: Literal["all", "registration", "idp"] = Field(
        "all",
        description="What this process serves (`civid serve --role`): idp is the OpenID provider, KYC and admin, "
        "with no gallery in memory; registration is enrolment, its console (with the provider's staff sign-in) and "
        "admin, holding the galleries; all is both.",
    )
    bootstrap_admin_key_file: Path | None = Field(
        None, description="Where the first admin API key is written on first start; default <data_dir>/admin-api-key."
    )
    log_format: Literal["json", "text"] | None = Field(
        None,
        description="json: one JSON object per line (time, level, logger, message, request_id), for a log pipeline; "
        "text: for a person. Default json in production, text in development.",
    )
    trust_request_id: bool = Field(
        False,
        description="Take a well-formed X-Request-ID from the request (only behind a proxy that sets it) instead of "
        "making one; either way it is answered in X-Request-ID and written into logs and audit events.",
    )
    backup_dir: Path | None = Field(
        None, description="Where `civid backup` archives are kept; `civid doctor` looks there for the newest one."
    )
    backup_max_age_days: float = Field(
        1.5, gt=0, description="`civid doctor` fails when the newest backup is older (a daily backup, with slack)."
    )
    key_max_age_days: int = Field(
        365,
        gt=0,
        description="`civid doctor` warns when the template key ring or the audit key was last rotated longer ago.",
    )
    metrics_token_file: Path | None = Field(
        None,
        description="The bearer token Prometheus scrapes /metrics with (its first line); default "
        "<data_dir>/metrics-token (0600), created on first start. /metrics answers no one without it.",
    )
    healthz_gallery_cache_s: float = Field(
        5.0,
        ge=0,
        description="/healthz reports the gallery's size as counted at most this long ago: a load balancer checking "
        "every second would otherwise ask Milvus for a count at every check; 0 counts at each call.",
    )

    @model_validator(mode="after")
    def _refuse_unusable_values(self) -> Settings:
        """Refuse out-of-range values, and in production the defaults that are unsafe there, all at once."""
        problems = range_problems(self)
        if self.keys_backend == "pkcs11":
            missing = [
                name
                for name, value in (
                    ("CIVID_PKCS11_MODULE", self.pkcs11_module),
                    ("CIVID_PKCS11_TOKEN_LABEL", self.pkcs11_token_label),
                    ("CIVID_PKCS11_PIN_FILE or CIVID_PKCS11_PIN", self.pkcs11_pin_file or self.pkcs11_pin),
                )
                if not value
            ]
            if missing:
                problems.append(f"CIVID_KEYS_BACKEND=pkcs11 needs {', '.join(missing)} (docs/keys.md)")
        if self.environment == "production":
            problems += production_problems(self)
        if problems:
            raise ValueError("invalid civid settings:\n- " + "\n- ".join(problems))
        return self

    # --- groups: read-only views of the flat fields, each one stage's parameters ----------------
    @property
    def upload_limits(self) -> UploadLimits:
        return UploadLimits(
            self.max_upload_bytes, self.max_image_pixels, self.min_image_side, self.max_photos_per_enrolment
        )

    @property
    def face_gate(self) -> FaceGateParams:
        return FaceGateParams(
            self.detection_max_side,
            self.detection_min_confidence,
            self.min_inter_eye_px,
            self.min_sharpness,
            self.max_yaw_deg,
            self.max_pitch_deg,
            self.max_roll_deg,
        )

    @property
    def finger_quality(self) -> FingerQualityParams:
        return FingerQualityParams(
            self.max_upload_bytes,
            self.finger_max_pixels,
            self.finger_min_side,
            self.finger_ppi_tolerance,
            self.finger_min_nfiq2,
            self.finger_require_nfiq2,
            self.finger_min_minutiae,
            self.finger_min_frame_coverage,
            self.finger_min_minutiae_per_cm2,
            self.finger_max_minutiae_per_cm2,
            self.finger_extractor,
        )

    @property
    def dedup(self) -> DedupThresholds:
        return DedupThresholds(
            self.dedup_threshold,
            self.resolved_same_person_threshold,
            self.dedup_llr_threshold,
            self.dedup_max_candidates,
            self.finger_shortlist,
        )

    @property
    def dedup_queue(self) -> DedupQueueConfig:
        return DedupQueueConfig(
            self.dedup_inline, self.dedup_wait_s, self.dedup_lease_s, self.dedup_max_attempts, self.dedup_poll_s
        )

    @property
    def gallery(self) -> GalleryConfig:
        return GalleryConfig(
            self.gallery_backend,
            self.gallery_exact_max,
            self.gallery_ivf_nprobe,
            self.gallery_persist_every,
            self.gallery_dir,
            self.gallery_faiss_parallel_mode,
            self.gallery_faiss_threads,
            self.milvus,
        )

    @property
    def ages(self) -> AgePolicy:
        """The ages of the children-and-guardians rules (enrollment/guardianship.py)."""
        return AgePolicy(self.child_face_only_below_age, self.age_of_majority)

    @property
    def retention(self) -> RetentionPolicy:
        """How long each kind of personal data is kept (server/retention.py)."""
        return RetentionPolicy(
            self.retention_photo_days,
            self.retention_deactivated_template_days,
            self.retention_release_days,
            self.retention_login_history_days,
        )

    @property
    def milvus(self) -> MilvusConfig:
        """Where and how the Milvus backends keep the gallery (used when CIVID_GALLERY_BACKEND=milvus)."""
        return MilvusConfig(
            uri=self.gallery_milvus_uri,
            collection_prefix=self.gallery_milvus_collection_prefix,
            timeout_s=self.gallery_milvus_timeout_s,
            face_index=self.gallery_milvus_face_index,
            nlist=self.gallery_milvus_nlist,
            nprobe=self.gallery_milvus_nprobe,
            hnsw_m=self.gallery_milvus_hnsw_m,
            hnsw_ef_construction=self.gallery_milvus_hnsw_ef_construction,
            ef=self.gallery_milvus_ef,
            finger_index=self.gallery_milvus_finger_index,
            consistency=self.gallery_milvus_consistency,
        )

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'civid.db').resolve()}"

    @property
    def resolved_template_keys_file(self) -> Path:
        return self.template_keys_file or self.data_dir / "keys" / "template-keys.json"

    @property
    def resolved_audit_key_file(self) -> Path:
        return self.audit_key_file or self.data_dir / "keys" / "audit-keys.json"

    @property
    def resolved_audit_checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit" / "checkpoints"

    @property
    def resolved_audit_log_origin(self) -> str:
        return self.audit_log_origin or f"{urlsplit(self.resolved_issuer).netloc}/audit"

    @property
    def json_logs(self) -> bool:
        return (self.log_format or ("json" if self.environment == "production" else "text")) == "json"

    @property
    def resolved_metrics_token_file(self) -> Path:
        return self.metrics_token_file or self.data_dir / "metrics-token"

    @property
    def resolved_admin_key_file(self) -> Path:
        return self.bootstrap_admin_key_file or self.data_dir / "admin-api-key"

    @property
    def resolved_presentation_client_id(self) -> str:
        """civid's OpenID4VP client identifier: a pre-registered one (no Client Identifier Prefix)."""
        return self.presentation_client_id or (urlsplit(self.resolved_issuer).hostname or "civid")

    @property
    def resolved_issuer(self) -> str:
        """The issuer URL; by default on ``localhost`` when the service listens on a loopback or every address
        (a WebAuthn relying-party id must be a domain, never an IP address: WebAuthn Level 2 §5.1.3)."""
        if self.issuer:
            return self.issuer.rstrip("/")
        host = "localhost" if self.host in LOCAL_LISTEN_HOSTS or self.host.startswith("127.") else self.host
        return f"http://{host}:{self.port}"

    @property
    def issuer_host_is_ip_address(self) -> bool:
        """Whether the issuer's host is an IP literal, where browsers refuse passkeys (and so staff sign-in)."""
        hostname = urlsplit(self.resolved_issuer).hostname or ""
        try:
            ipaddress.ip_address(hostname)
        except ValueError:
            return False
        return True

    @property
    def resolved_cookie_secure(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else self.resolved_issuer.startswith("https://")

    @property
    def resolved_idp_secrets_file(self) -> Path:
        return self.idp_secrets_file or self.data_dir / "keys" / "idp-secrets.json"

    @property
    def resolved_vid_key_file(self) -> Path:
        return self.vid_key_file or self.data_dir / "keys" / "vid-key.json"

    @property
    def gallery_dir(self) -> Path:
        return self.data_dir / "gallery"

    @property
    def resolved_same_person_threshold(self) -> float:
        return self.same_person_threshold if self.same_person_threshold is not None else self.dedup_threshold


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` and pass it explicitly)."""
    return Settings()
