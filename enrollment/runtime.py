"""What the enrolment workflow needs from the process's services (the server assembles the real object)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from civid.deps import CoreServices

if TYPE_CHECKING:  # the face and index modules load dlib and FAISS; a type hint must not
    from civid.events import EventBus
    from civid.keyring import KeyRing
    from enrollment.face import FaceEngine
    from enrollment.gallery_store import FingerGalleryStore, GalleryStore
    from matcher.fusion import Fusion


class EnrolmentServices(CoreServices, Protocol):
    """Settings and sessions, plus the key ring sealing templates, the face engine, both indexes and fusion, and
    the bus on which enrollment publishes what it does to identities (``civid.events``)."""

    keyring: KeyRing
    faces: FaceEngine
    gallery: GalleryStore
    fingers: FingerGalleryStore
    fusion: Fusion
    events: EventBus
