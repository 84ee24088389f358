"""The database a migration test starts from: an empty one on SQLite and on PostgreSQL (each test runs on both).
Import ``engine`` (and ``postgres_schema_url``, which it uses) into the test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.db import make_engine
from tests.postgres import postgres_schema_url

__all__ = ["engine", "postgres_schema_url"]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    url = (
        f"sqlite:///{tmp_path / 'civid.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_schema_url")
    )
    built = make_engine(url)
    yield built
    built.dispose()
