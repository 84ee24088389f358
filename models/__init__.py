"""SQLAlchemy models and database setup. Imports none of civid's other packages."""

from models.abis import AbisModality, AbisReference, AbisTemplate
from models.access import ROLES, ApiKey
from models.audit import AuditCheckpoint, AuditEvent, AuditTreeNode
from models.auth_method_lock import AuthMethodLock
from models.base import Base, utcnow
from models.batch import BatchJob, BatchRecord, BatchStatus, RecordStatus
from models.bulk_dedup import BulkDedupPair, BulkDedupRun, RunStatus
from models.case import (
    CaseCandidate,
    CaseDecision,
    CaseKind,
    CaseStatus,
    Decision,
    DedupCase,
    enrolment_case_key,
    pair_key,
)
from models.civil_registration import CivilRegistration
from models.credential import CredentialStatus
from models.dedup_job import DedupJob, JobStatus
from models.fingerprint import FingerSource, FingerTemplate
from models.guardianship import GuardianRelationship, Guardianship
from models.id_card import CARD_STATES, IdCard
from models.identity import Enrolment, EnrolmentStatus, FaceTemplate, Identity, Photo
from models.identity_event_delivery import IdentityEventDelivery
from models.identity_record import IdentityRecordVersion, RecordVersionStatus
from models.identity_status import IdentityStatusChange
from models.kyc import Attestation, DataRelease, IdentityDocument
from models.notification import Notification
from models.oidc import (
    AccessToken,
    AuthorizationCode,
    AuthorizationRequest,
    BackchannelLogout,
    Client,
    ClientAssertion,
    Consent,
    DpopProof,
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
from models.presentation import PresentationTransaction
from models.staff import ConsoleSession, StaffAccount
from models.virtual_id import VirtualId
from models.wallet import WalletCredential, WalletNonce, WalletOffer

__all__ = [
    "CARD_STATES",
    "IdCard",
    "WalletCredential",
    "WalletNonce",
    "WalletOffer",
    "CredentialStatus",
    "PresentationTransaction",
    "Notification",
    "AbisModality",
    "AbisReference",
    "AbisTemplate",
    "ROLES",
    "ApiKey",
    "AuditCheckpoint",
    "AuditTreeNode",
    "AuditEvent",
    "Base",
    "utcnow",
    "BulkDedupPair",
    "BulkDedupRun",
    "RunStatus",
    "CaseCandidate",
    "CaseKind",
    "enrolment_case_key",
    "pair_key",
    "CaseDecision",
    "CaseStatus",
    "DedupCase",
    "DedupJob",
    "JobStatus",
    "Decision",
    "Enrolment",
    "GuardianRelationship",
    "Guardianship",
    "EnrolmentStatus",
    "FaceTemplate",
    "FingerSource",
    "FingerTemplate",
    "Identity",
    "CivilRegistration",
    "IdentityStatusChange",
    "IdentityEventDelivery",
    "IdentityRecordVersion",
    "RecordVersionStatus",
    "AuthMethodLock",
    "Photo",
    "AccessToken",
    "AuthorizationCode",
    "AuthorizationRequest",
    "BackchannelLogout",
    "Client",
    "ClientAssertion",
    "DpopProof",
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
    "VirtualId",
]
