"""What the ABIS needs from the process's services (the server assembles the real object)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from civid.deps import CoreServices

if TYPE_CHECKING:  # the face module loads dlib; a type hint must not
    from civid.keyring import KeyRing
    from enrollment.face import FaceEngine
    from matcher.fusion import Fusion


class AbisServices(CoreServices, Protocol):
    """Settings and sessions, plus the key ring sealing templates, the face engine and fusion."""

    keyring: KeyRing
    faces: FaceEngine
    fusion: Fusion
