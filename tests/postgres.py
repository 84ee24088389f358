"""Access to the real PostgreSQL server for concurrency tests: one fresh schema per test.

CI must run these (``.ci/run`` starts PostgreSQL); outside CI they skip with the reason when no
server answers at CIVID_TEST_POSTGRES_URL (default: the local server, database ``test``).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("CIVID_TEST_POSTGRES_URL", DEFAULT_URL)


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A database URL whose connections use a fresh, empty schema (dropped afterwards)."""
    base = postgres_url()
    engine = create_engine(base)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        engine.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {base} is required in CI but not reachable: {exc}")
        pytest.skip(f"PostgreSQL tests need a server at {base} (set CIVID_TEST_POSTGRES_URL); not reachable: {exc}")
    schema = "civid_test_" + secrets.token_hex(4)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        _drop_schema(engine, schema)
        engine.dispose()


def _drop_schema(engine: Engine, schema: str) -> None:
    """Drop the test's schema; a background thread the test left (an audit sequencer pass still reading) can
    deadlock with the drop, and PostgreSQL then cancels one of the two: retry ours."""
    for attempt in range(5):
        try:
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            return
        except OperationalError as exc:
            if "deadlock detected" not in str(exc) or attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
