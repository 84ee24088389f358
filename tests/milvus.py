"""A real Milvus standalone server for the gallery tests: one per test session, started on first use.

CI must run these (``CI=true``: a server that cannot start fails the tests); elsewhere they skip with the reason
when the server package ``milvus`` is missing or its server does not start. Each test gets collections of its own
(a fresh prefix), so tests never see each other's rows. CIVID_TEST_MILVUS_URI names a running server instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from tools.milvus_server import MilvusStandalone, MilvusUnavailable

# A Strong search waits for the proxy's next time tick: 50 ms instead of Milvus's 200 keeps the suite quick.
TEST_TIME_TICK_MS = 50
START_ATTEMPTS = 2


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URI of a running Milvus server (started for this session and stopped at its end)."""
    given = os.environ.get("CIVID_TEST_MILVUS_URI")
    if given:
        yield given
        return
    # A second try in a fresh folder: once, with two test sessions' servers on one loaded machine, a start
    # crashed (a Go fatal error) that the next start in the same session did not repeat.
    for attempt in range(START_ATTEMPTS):
        server = MilvusStandalone(tmp_path_factory.mktemp("milvus"), time_tick_ms=TEST_TIME_TICK_MS)
        try:
            server.start()
            break
        except MilvusUnavailable as error:
            if attempt + 1 < START_ATTEMPTS and "is not installed" not in str(error):
                continue
            if os.environ.get("CI"):
                pytest.fail(f"the Milvus tests must run in CI, but the server did not start: {error}")
            pytest.skip(f"Milvus tests need the server package 'milvus' (pip install -e '.[test]'): {error}")
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture
def milvus_prefix() -> str:
    """A collection prefix no other test uses."""
    return "t_" + secrets.token_hex(6)


def drop_collections(uri: str, prefix: str) -> None:
    """Drop every collection (and alias) a test made under ``prefix``, keeping the session's server small."""
    from pymilvus import MilvusClient

    client = MilvusClient(uri=uri, timeout=30)
    for alias in client.list_aliases().get("aliases", []):
        if alias.startswith(prefix):
            client.drop_alias(alias)
    for name in client.list_collections():
        if name.startswith(prefix):
            client.drop_collection(name)
    client.close()
