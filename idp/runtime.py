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
    idp_secrets: ServerSecrets
    backchannel_logout: BackchannelLogouts


def answers_on_event_loop(services: IdpServices) -> bool:
    """Whether /token and /userinfo do their database work on the event loop instead of in the thread pool.

    On SQLite, yes: its statements are calls into a local file that never wait on another process, and one writer
    at a time means threads would only queue on its busy timeout (the long p99 of the thread-pool version); the two
    hops through the pool were a third of a refresh's CPU. On a database server, no: each statement waits for the
    server's answer, and while one request waits the pool lets the others run (measured: the event-loop version
    answered 8.7 refreshes/s on PostgreSQL against 14 for the thread-pool one on a loaded machine)."""
    return services.engine.dialect.name == "sqlite"
