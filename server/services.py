"""The long-lived objects one civid process shares: settings, database, key ring, models, indexes, events."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from civid import metrics, vid
from civid.audit_log import AuditLog
from civid.envelope import load_keyring
from civid.errors import ConfigurationError
from civid.events import EventBus
from civid.keyring import KeyRing
from civid.pkcs11_token import Token
from civid.settings import Settings
from credentials import subscriptions as credential_subscriptions
from enrollment.face import FaceEngine, default_engine
from enrollment.gallery_store import FingerGalleryStore, GalleryStore
from idp import subscriptions as idp_subscriptions
from idp.backchannel_logout import BackchannelLogouts
from idp.keys import SigningKeys
from idp.server_secrets import ServerSecrets
from kyc import subscriptions as kyc_subscriptions
from matcher.fusion import Fusion
from models.db import make_engine, make_session_factory, upgrade
from notifications import outbox as notification_outbox
from server.health import GallerySizeCache


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: KeyRing
    faces: FaceEngine
    gallery: GalleryStore
    fingers: FingerGalleryStore
    fusion: Fusion
    signing_keys: SigningKeys
    credential_keys: SigningKeys  # what a citizen carries: the ID card's QR and wallet credentials (credentials/)
    idp_secrets: ServerSecrets
    backchannel_logout: BackchannelLogouts  # the sender of logout tokens to portals (a thread, once woken)
    events: EventBus  # identity events (civid.events): kyc and idp react to what enrollment does
    audit_log: AuditLog  # the audit trail's sequencer, checkpoints and proofs (civid/audit_log.py)
    gallery_size: GallerySizeCache  # what /healthz reports (server/health.py)

    def close(self) -> None:
        """Persist the indexes and release connections (called at shutdown)."""
        self.audit_log.stop()  # a last sequencing pass and checkpoint: a clean stop leaves no event unsequenced
        self.backchannel_logout.stop()  # undelivered logout tokens stay queued for the next start
        self.gallery.save()
        self.fingers.save()
        self.engine.dispose()


# The backend of a process that serves no gallery (``civid serve --role idp``): in memory, never opened nor saved.
NO_GALLERY_BACKEND = "faiss"


def build_services(
    settings: Settings, *, open_gallery: bool = True, show_progress: bool = False, serve_gallery: bool = True
) -> Services:
    """Create the data folder, migrate the schema, load keys and models, and bring the gallery up to date.

    ``serve_gallery=False`` (the identity provider: face login is 1:1) builds the galleries on an in-memory backend
    that is never opened: the process then needs no Milvus server, and writes nothing where the galleries live."""
    fusion = load_fusion(settings)  # first: a calibration unfit for the thresholds stops the start at once
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    metrics.install(sessions)  # counts the audit events its transactions commit (civid/metrics.py)
    token = Token.from_settings(settings) if settings.keys_backend == "pkcs11" else None
    # The key ring first: a data folder whose keys cannot be opened stops here, before the sequencer starts.
    keyring = load_keyring(settings.resolved_template_keys_file, token)
    audit_log = AuditLog(settings, sessions, token)  # before anything records an event: its commits wake the sequencer
    backend = None if serve_gallery else NO_GALLERY_BACKEND
    gallery = GalleryStore(settings, keyring, sessions, backend)
    fingers = FingerGalleryStore(settings, keyring, sessions, backend)
    if open_gallery and serve_gallery:
        gallery.open(show_progress=show_progress)
        fingers.open(show_progress=show_progress)
    signing_keys = SigningKeys(settings, keyring, sessions, token)
    # Keys exist before the first request: made lazily inside a request, SQLite's writer lock would be
    # held by that request's own transaction.
    signing_keys.ensure()
    credential_keys = SigningKeys(settings, keyring, sessions, token, purpose="credential")
    credential_keys.ensure()
    idp_secrets = ServerSecrets.load_or_create(settings.resolved_idp_secrets_file)
    vid.ensure_key(settings)  # before any backup: a VID's digest is useless without it
    backchannel_logouts = BackchannelLogouts(settings, sessions, signing_keys, idp_secrets)
    events = subscribed_event_bus(backchannel_logouts)
    notification_outbox.subscribe(events, settings)  # last: a person is told only of what the others did not refuse
    return Services(
        settings,
        engine,
        sessions,
        keyring,
        default_engine(),
        gallery,
        fingers,
        fusion,
        signing_keys,
        credential_keys,
        idp_secrets,
        backchannel_logouts,
        events,
        audit_log,
        GallerySizeCache(settings.healthz_gallery_cache_s),
    )


def load_fusion(settings: Settings) -> Fusion:
    """The shipped calibration, refused when it would let one finger alone clear ``dedup_llr_threshold``."""
    fusion = Fusion.load()
    problem = fusion.threshold_problem(settings.dedup_llr_threshold)
    if problem:
        raise ConfigurationError(problem)
    return fusion


def subscribed_event_bus(backchannel_logouts: BackchannelLogouts | None = None) -> EventBus:
    """A bus with every package's reaction to identity events. Subscribed here, with the services, so every
    process that changes identities — the app, the command line, a batch worker — revokes the same way."""
    events = EventBus()
    # Handlers run in subscription order, and that is the audit order of a withdrawal: the fact first (enrollment
    # records identity.withdrawn, then publishes), then its consequences, kyc's attestations revoked before idp's
    # grants (the order the two revocations had before events; tests/enrollment/test_withdrawal_events.py).
    kyc_subscriptions.subscribe(events)
    credential_subscriptions.subscribe(events)  # cards and wallet credentials, like attestations
    idp_subscriptions.subscribe(events, backchannel_logouts)
    return events
