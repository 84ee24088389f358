"""Fixtures of the credentials tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner, Result

from civid.settings import get_settings


@pytest.fixture
def civid(services) -> Iterator[Callable[..., Result]]:  # type: ignore[no-untyped-def]
    """Run ``civid ARGS`` on the test's own data folder and database (settings are read once per process, so each
    command clears them first); wide enough that tables show whole key ids."""
    from server.cli import app

    env = {
        "CIVID_DATA_DIR": str(services.settings.data_dir),
        "CIVID_DATABASE_URL": services.settings.resolved_database_url,
        "COLUMNS": "200",
    }

    def run(*args: str) -> Result:
        get_settings.cache_clear()
        return CliRunner().invoke(app, list(args), env=env)

    yield run
    get_settings.cache_clear()
