"""What the OpenID provider needs from the process's services (the server assembles the real object)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from enrollment.runtime import EnrolmentServices

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from idp.backchannel_logout import BackchannelLogouts
    from idp.keys import SigningKeys
    from idp.server_secrets import ServerSecrets


class IdpServices(EnrolmentServices, Protocol):
    """Enrolment's services (face login probes a photo with them), plus the signing keys, the server's own
    secrets, the back-channel logout sender and the database engine (its dialect decides some queries)."""

    engine: Engine
    signing_keys: SigningKeys
    credential_keys: SigningKeys  # the ID card's QR and wallet credentials (credentials/); rotated by `civid keys`
    idp_secrets: ServerSecrets
    backchannel_logout: BackchannelLogouts
