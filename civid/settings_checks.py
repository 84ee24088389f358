"""The rules a ``Settings`` object must satisfy before civid starts, each problem named by its variable.

Ranges hold everywhere (a threshold outside [0, 1] or a zero lifetime is a typo, never a policy).
Production adds the settings that are fine on a developer's machine and unsafe in front of citizens
(the FastAPI template's habit of refusing a default secret in production). civid has no secret in its
settings: its secrets live in key files that are generated under the data folder when none is named,
so production must name them (supplied from a secret store), and must not run on the SQLite default.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit


class ProductionView(Protocol):
    """The settings production rules read (``Settings`` has them; a protocol keeps this module below it)."""

    issuer: str | None
    cookie_secure: bool | None
    template_keys_file: Path | None
    idp_secrets_file: Path | None
    audit_key_file: Path | None
    audit_checkpoint_file: Path | None
    data_dir: Path
    abis_datashare_urls: list[str]
    sms_gateway_url: str | None

    @property
    def keys_backend(self) -> str: ...
    @property
    def resolved_issuer(self) -> str: ...
    @property
    def resolved_database_url(self) -> str: ...


# Cosine similarities of L2-normalised descriptors and MCC similarities: a threshold means something in [0, 1].
UNIT_INTERVAL = (
    "dedup_threshold",
    "verify_threshold",
    "identify_threshold",
    "same_person_threshold",
    "finger_verify_threshold",
)
# Sizes, counts, lifetimes and limits where zero would refuse everything or never expire a thing.
POSITIVE = (
    "wallet_offer_ttl_s",
    "wallet_tx_code_max_attempts",
    "wallet_nonce_ttl_s",
    "wallet_access_token_ttl_s",
    "wallet_proof_max_age_s",
    "wallet_credential_validity_days",
    "max_upload_bytes",
    "max_image_pixels",
    "min_image_side",
    "max_photos_per_enrolment",
    "detection_max_side",
    "min_inter_eye_px",
    "min_sharpness",
    "max_yaw_deg",
    "max_pitch_deg",
    "max_roll_deg",
    "dedup_max_candidates",
    "smtp_timeout_s",
    "sms_gateway_timeout_s",
    "gallery_ivf_nprobe",
    "gallery_persist_every",
    "gallery_milvus_timeout_s",
    "gallery_milvus_nlist",
    "gallery_milvus_nprobe",
    "gallery_milvus_hnsw_m",
    "gallery_milvus_hnsw_ef_construction",
    "gallery_milvus_ef",
    "finger_min_side",
    "finger_max_pixels",
    "finger_shortlist",
    "signing_key_lifetime_days",
    "code_ttl_s",
    "dpop_proof_max_age_s",
    "dpop_nonce_ttl_s",
    "par_ttl_s",
    "interaction_ttl_s",
    "id_token_ttl_s",
    "access_token_ttl_s",
    "refresh_token_ttl_s",
    "login_session_ttl_s",
    "consent_ttl_days",
    "client_assertion_max_age_s",
    "face_challenge_ttl_s",
    "passkey_binding_ttl_s",
    "passkey_binding_face_max_age_s",
    "resident_data_login_max_age_s",
    "vid_temporary_ttl_s",
    "vid_temporary_max_live",
    "passkey_ceremony_ttl_s",
    "login_max_failures_per_identity",
    "login_max_failures_per_source",
    "login_failure_window_s",
    "login_lockout_s",
    "backchannel_logout_timeout_s",
    "backchannel_logout_attempts",
    "attestation_ttl_s",
    "credential_validity_days",
    "status_list_size",
    "status_list_ttl_s",
    "status_list_validity_s",
    "presentation_ttl_s",
    "presentation_max_wait_s",
    "presentation_kb_max_age_s",
    "console_idle_timeout_s",
    "console_session_max_s",
    "batch_max_archive_bytes",
    "batch_max_uncompressed_bytes",
    "batch_max_members",
    "batch_max_packages",
    "batch_max_compression_ratio",
    "batch_stale_after_s",
    # MOSIP ABIS: a zero timeout or size limit fails every insert; a negative maxResults would drop the best candidates.
    "abis_datashare_timeout_s",
    "abis_max_cbeff_bytes",
    "abis_max_results",
    "child_face_only_below_age",
    "age_of_majority",
)
# Zero is meaningful here: exact_max 0 is an IVF index at any size (benchmarks), a zero lead or delay is "at once".
NON_NEGATIVE = (
    "gallery_exact_max",
    "finger_ppi_tolerance",
    "finger_min_minutiae",
    "signing_key_publish_lead_s",
    "backchannel_logout_retry_delay_s",
    "dpop_clock_skew_s",
)


def variable(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"CIVID_{field.upper()}"


def range_problems(settings: Any) -> list[str]:
    """Every value outside its range, as 'CIVID_X must be …, not …' sentences (``settings``: a ``Settings``)."""
    problems: list[str] = []
    for field in UNIT_INTERVAL:
        value = getattr(settings, field)
        if value is not None and not 0.0 <= value <= 1.0:
            problems.append(f"{variable(field)} must be between 0 and 1 (a similarity threshold), not {value}")
    for field in POSITIVE:
        value = getattr(settings, field)
        if value <= 0:
            problems.append(f"{variable(field)} must be greater than 0, not {value}")
    for field in NON_NEGATIVE:
        value = getattr(settings, field)
        if value < 0:
            problems.append(f"{variable(field)} must not be negative, not {value}")
    if not 0 <= settings.finger_min_nfiq2 <= 100:
        problems.append(
            f"CIVID_FINGER_MIN_NFIQ2 must be an NFIQ 2 score between 0 and 100, not {settings.finger_min_nfiq2}"
        )
    if not 0.0 <= settings.finger_min_frame_coverage <= 1.0:
        problems.append(
            "CIVID_FINGER_MIN_FRAME_COVERAGE must be a share of the declared frame between 0 and 1, not "
            f"{settings.finger_min_frame_coverage}"
        )
    low, high = settings.finger_min_minutiae_per_cm2, settings.finger_max_minutiae_per_cm2
    if not 0.0 <= low < high:
        problems.append(
            "CIVID_FINGER_MIN_MINUTIAE_PER_CM2 and CIVID_FINGER_MAX_MINUTIAE_PER_CM2 must be 0 <= min < max "
            f"(minutiae per cm²), not {low} and {high}"
        )
    durations = settings.auth_method_unlock_durations_s
    if not durations or any(seconds < 60 for seconds in durations):
        problems.append(
            "CIVID_AUTH_METHOD_UNLOCK_DURATIONS_S must offer at least one temporary unlock, each of 60 seconds or "
            f"more, not {list(durations)}"
        )
    if settings.child_face_only_below_age >= settings.age_of_majority:
        problems.append(
            f"CIVID_CHILD_FACE_ONLY_BELOW_AGE ({settings.child_face_only_below_age}) must be below "
            f"CIVID_AGE_OF_MAJORITY ({settings.age_of_majority}): a face-only child is a minor with a guardian"
        )
    if not 1 <= settings.port <= 65535:
        problems.append(f"CIVID_PORT must be a TCP port between 1 and 65535, not {settings.port}")
    if not settings.gallery_backend.strip():
        problems.append("CIVID_GALLERY_BACKEND must name a gallery backend (faiss, milvus), not be empty")
    problems.extend(milvus_problems(settings))
    return problems


# Milvus names collections with letters, digits and underscores, first a letter or underscore, 255 at most; the
# prefix leaves room for "_fingers_<19-digit time>".
MILVUS_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")
# Milvus caps nlist at 65,536 and HNSW's M at 2..2048 (efConstruction and ef at 1..2^31, in practice far less).
MILVUS_LIMITS = {"gallery_milvus_nlist": 65_536, "gallery_milvus_hnsw_m": 2048}


def milvus_problems(settings: Any) -> list[str]:
    """What Milvus itself would refuse later, said at start in the variables' names."""
    problems = []
    if not MILVUS_PREFIX.fullmatch(settings.gallery_milvus_collection_prefix):
        problems.append(
            "CIVID_GALLERY_MILVUS_COLLECTION_PREFIX must be letters, digits and underscores starting with a letter "
            f"or underscore (at most 201), not {settings.gallery_milvus_collection_prefix!r}"
        )
    uri = urlsplit(settings.gallery_milvus_uri)
    if uri.scheme not in ("http", "https", "tcp", "grpc") or not uri.hostname:
        problems.append(
            "CIVID_GALLERY_MILVUS_URI must be the Milvus proxy's address as http://host:port (https:// with TLS), "
            f"not {settings.gallery_milvus_uri!r}"
        )
    for field, limit in MILVUS_LIMITS.items():
        if getattr(settings, field) > limit:
            problems.append(
                f"{variable(field)} must be at most {limit} (a Milvus limit), not {getattr(settings, field)}"
            )
    if settings.gallery_milvus_nprobe > settings.gallery_milvus_nlist:
        problems.append(
            f"CIVID_GALLERY_MILVUS_NPROBE ({settings.gallery_milvus_nprobe}) must not exceed "
            f"CIVID_GALLERY_MILVUS_NLIST ({settings.gallery_milvus_nlist}): a search cannot visit more lists than exist"
        )
    return problems


def production_problems(settings: ProductionView) -> list[str]:
    """What CIVID_ENVIRONMENT=production refuses: defaults that are safe only on a developer's machine."""
    problems: list[str] = []
    if not settings.issuer or not settings.issuer.startswith("https://"):
        problems.append(
            "CIVID_ISSUER must be the public https URL in production (tokens, cookies and passkeys "
            f"are bound to it), not {settings.issuer or 'the default ' + settings.resolved_issuer}"
        )
    if settings.cookie_secure is False:
        problems.append("CIVID_COOKIE_SECURE must not be off in production: session cookies would travel over http")
    if settings.resolved_database_url.startswith("sqlite"):
        problems.append("CIVID_DATABASE_URL must name the production database (postgresql+psycopg://…), not SQLite")
    in_token = ("template_keys_file", "audit_key_file") if settings.keys_backend == "pkcs11" else ()
    for field, what in (
        ("template_keys_file", "the template key ring"),
        ("idp_secrets_file", "the identity provider's secrets (pairwise salt, cookie key)"),
        ("audit_key_file", "the audit log's checkpoint signing key"),
    ):
        # With keys in a token those two files hold only wrapped data keys and public keys: the default is fine.
        if getattr(settings, field) is None and field not in in_token:
            problems.append(
                f"{variable(field)} must name {what} supplied from the secret store in production, not "
                f"the default file that is generated anew under {settings.data_dir}/keys when missing"
            )
    if settings.audit_checkpoint_file is None:
        problems.append(
            "CIVID_AUDIT_CHECKPOINT_FILE must name the append-only file a witness keeps outside the database "
            f"administrator's reach in production (docs/audit-log.md), not the default under {settings.data_dir}"
        )
    plain = [url for url in settings.abis_datashare_urls if not url.startswith("https://")]
    if plain:
        problems.append(
            "CIVID_ABIS_DATASHARE_URLS must be https in production (biometric data travels on them): "
            + ", ".join(plain)
        )
    if settings.sms_gateway_url and not settings.sms_gateway_url.startswith("https://"):
        problems.append(
            "CIVID_SMS_GATEWAY_URL must be https in production (its bearer token and the messages travel on it), "
            f"not {settings.sms_gateway_url}"
        )
    return problems
