"""Authentication context classes: what a login proved, how strongly, and what a client may demand.

The levels are those of the login methods civid offers (``BUILT_IN``, in login-page order; each method
declares its ``acr``, level and ``amr`` in its own module). A face check compares a photo with the enrolled
template; civid has no presentation-attack detection yet, so a good printed photo or screen replay of the
person may pass: it is the lower level. A passkey proves possession of a hardware-bound key with user
verification (PIN or biometric on the device): the higher level. A client asking (``acr_values`` or an
essential ``acr`` claim) for the passkey level never gets a face-only login.

Level questions (which acr a request needs, whether a session satisfies it, which methods may be offered)
are asked of the application's registry (``idp.login_methods.of``), never of ``BUILT_IN`` directly: an app
may register more methods than these.
"""

from __future__ import annotations

from idp import face_login, passkeys
from idp.login_methods import LoginMethods

# The registration of civid's login methods: one line per method; the login page lists them in this order.
BUILT_IN = LoginMethods((passkeys.PASSKEY, face_login.FACE))

ACR_FACE = face_login.FACE.acr
ACR_PASSKEY = passkeys.PASSKEY.acr
ACR_VALUES_SUPPORTED = BUILT_IN.acr_values_supported
# RFC 8176 authentication method references, by method name.
AMR = {method.name: list(method.amr) for method in BUILT_IN}
