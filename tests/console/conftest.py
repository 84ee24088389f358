"""Fixtures shared by the console tests (each module seeds its own database with ``seeded_fixtures``)."""

from __future__ import annotations

import pytest

from tests.console.helpers import console_sign_in
from tests.idp.frontchannel import OBAMA_PHOTO


@pytest.fixture
def officer(client, people):  # type: ignore[no-untyped-def]
    """The client, signed in to the console as Officer Obama (modules seeded with ``enrol_staff``)."""
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    return client
