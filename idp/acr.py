"""Authentication context classes: what a login proved, how strongly, and what a client may demand.

Two levels, ordered. A face check compares a photo with the enrolled template; civid has no
presentation-attack detection yet, so a good printed photo or screen replay of the person may pass: it is
the lower level. A passkey proves possession of a hardware-bound key with user verification (PIN or
biometric on the device): the higher level. A client asking (``acr_values`` or an essential ``acr``
claim) for the passkey level never gets a face-only login.
"""

from __future__ import annotations

ACR_FACE = "urn:civid:acr:face"
ACR_PASSKEY = "urn:civid:acr:passkey"
LEVELS = {ACR_FACE: 1, ACR_PASSKEY: 2}
ACR_VALUES_SUPPORTED = [ACR_PASSKEY, ACR_FACE]
# RFC 8176 authentication method references.
AMR = {"passkey": ["hwk", "user"], "face": ["face"]}
ACR_OF_METHOD = {"passkey": ACR_PASSKEY, "face": ACR_FACE}
METHODS_FOR = {ACR_FACE: ("passkey", "face"), ACR_PASSKEY: ("passkey",)}


def required_level(requested: list[str]) -> int:
    """The lowest level that satisfies a client's request (acr values are alternatives); 0 if none known."""
    known = [LEVELS[value] for value in requested if value in LEVELS]
    return min(known) if known else 0


def satisfies(acr: str, requested: list[str]) -> bool:
    """Whether a session authenticated at ``acr`` meets ``requested`` (a higher level meets a lower one)."""
    return LEVELS.get(acr, 0) >= required_level(requested)


def allowed_methods(requested: list[str]) -> tuple[str, ...]:
    """The login methods a citizen may use for this request."""
    level = required_level(requested)
    return ("passkey",) if level >= LEVELS[ACR_PASSKEY] else ("passkey", "face")
