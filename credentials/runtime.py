"""What the credentials package needs from the process's services (the server assembles the real object)."""

from __future__ import annotations

from typing import Protocol

from idp.runtime import IdpServices


class CredentialServices(IdpServices, Protocol):
    """The OpenID provider's services: a wallet signs in through it, and its ``credential_keys`` sign what a citizen
    carries (the ID card's QR and wallet credentials)."""
