"""SQLAlchemy models and database setup. Imports none of civid's other packages."""

from models.access import ROLES, ApiKey
from models.audit import AuditEvent
from models.base import Base, utcnow
from models.batch import BatchJob, BatchRecord, BatchStatus, RecordStatus
from models.case import CaseCandidate, CaseDecision, CaseStatus, Decision, DedupCase
from models.dedup_job import DedupJob, JobStatus
from models.fingerprint import FingerSource, FingerTemplate
from models.identity import Enrolment, EnrolmentStatus, FaceTemplate, Identity, Photo
from models.kyc import Attestation, DataRelease, IdentityDocument
from models.oidc import (
    AccessToken,
    AuthorizationCode,
    AuthorizationRequest,
    BackchannelLogout,
    Client,
    ClientAssertion,
    Consent,
    FaceChallenge,
    FaceProbe,
    Grant,
    LoginAttempt,
    LoginSession,
    Passkey,
    PasskeyBinding,
    RefreshToken,
    SigningKey,
    WebAuthnChallenge,
)
from models.staff import ConsoleSession, StaffAccount

__all__ = [
    "ROLES",
    "ApiKey",
    "AuditEvent",
    "Base",
    "utcnow",
    "CaseCandidate",
    "CaseDecision",
    "CaseStatus",
    "DedupCase",
    "DedupJob",
    "JobStatus",
    "Decision",
    "Enrolment",
    "EnrolmentStatus",
    "FaceTemplate",
    "FingerSource",
    "FingerTemplate",
    "Identity",
    "Photo",
    "AccessToken",
    "AuthorizationCode",
    "AuthorizationRequest",
    "BackchannelLogout",
    "Client",
    "ClientAssertion",
    "Consent",
    "FaceChallenge",
    "FaceProbe",
    "Grant",
    "LoginAttempt",
    "LoginSession",
    "Passkey",
    "PasskeyBinding",
    "RefreshToken",
    "SigningKey",
    "WebAuthnChallenge",
    "Attestation",
    "DataRelease",
    "IdentityDocument",
    "StaffAccount",
    "ConsoleSession",
    "BatchJob",
    "BatchRecord",
    "BatchStatus",
    "RecordStatus",
]
