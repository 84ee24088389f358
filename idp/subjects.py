"""Subject identifiers (OIDC Core §8): pairwise per sector by default, public as a client option.

Neither form is the UIN: a portal learns the UIN only through the ``uin`` claim it is entitled to.
Pairwise: HMAC-SHA256 under a server salt of (sector, UIN), so two portals of different sectors cannot
link their users; public: the same HMAC with a fixed sector, one value for every client that opts in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from idp.server_secrets import ServerSecrets
from models import Client

PUBLIC_SECTOR = "civid:public"


def subject_for(secrets: ServerSecrets, client: Client, uin: str) -> str:
    """The ``sub`` this client sees for the person holding ``uin``."""
    sector = PUBLIC_SECTOR if client.subject_type == "public" else client.sector_identifier
    digest = hmac.new(secrets.pairwise_salt, f"{sector}|{uin}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
