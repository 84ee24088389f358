"""Authentication context classes: what a login proved, how strongly, and what a client may demand.

The levels are those of the login methods civid offers (``BUILT_IN``, in login-page order; each method
declares its ``acr``, level and ``amr`` in its own module). A face check compares a photo with the enrolled
template; civid has no presentation-attack detection yet, so a good printed photo or screen replay of the
person may pass: it is the lower level. A passkey proves possession of a hardware-bound key with user
verification (PIN or biometric on the device): the higher level. A client asking (``acr_values`` or an
essential ``acr`` claim) for the passkey level never gets a face-only login.

The functions answer from ``BUILT_IN`` unless given an application's registry (``idp.login_methods.of``).
"""

from __future__ import annotations

from collections.abc import Sequence

from idp import face_login, passkeys
from idp.login_methods import LoginMethods

# The registration of civid's login methods: one line per method; the login page lists them in this order.
BUILT_IN = LoginMethods((passkeys.PASSKEY, face_login.FACE))

ACR_FACE = face_login.FACE.acr
ACR_PASSKEY = passkeys.PASSKEY.acr
LEVELS = BUILT_IN.levels
ACR_VALUES_SUPPORTED = BUILT_IN.acr_values_supported
# RFC 8176 authentication method references, by method name.
AMR = {method.name: list(method.amr) for method in BUILT_IN}


def required_level(requested: Sequence[str], methods: LoginMethods = BUILT_IN) -> int:
    """The lowest level that satisfies a client's request (acr values are alternatives); 0 if none known."""
    return methods.required_level(requested)


def satisfies(acr: str, requested: Sequence[str], methods: LoginMethods = BUILT_IN) -> bool:
    """Whether a session authenticated at ``acr`` meets ``requested`` (a higher level meets a lower one)."""
    return methods.satisfies(acr, requested)


def allowed_methods(requested: Sequence[str], methods: LoginMethods = BUILT_IN) -> tuple[str, ...]:
    """The names of the login methods a citizen may use for this request, in login-page order."""
    return tuple(method.name for method in methods.allowed(requested))
