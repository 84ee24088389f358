"""A SoftHSM2 token for the PKCS#11 tests (Debian's ``softhsm2``; ``.ci/run`` installs it).

A PKCS#11 library reads its configuration once per process, when first initialised, and does not see tokens made
after that; so one configuration and two tokens serve the whole test session: ``token`` (civid's) and ``other``
(someone else's, for the stolen-folder test). Tests keep apart by their own master key labels. Outside CI the tests
skip when SoftHSM2 is not installed; in CI they must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MODULES = (Path("/usr/lib/softhsm/libsofthsm2.so"), Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"))
PIN = "4711-2026"


@dataclass(frozen=True)
class SoftHsm:
    module: Path
    token: str
    other: str
    pin_file: Path


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    module = next((path for path in MODULES if path.is_file()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        if os.environ.get("CI"):
            pytest.fail("SoftHSM2 is required in CI (apt-get install softhsm2; .ci/run does)")
        pytest.skip("the PKCS#11 tests need SoftHSM2 (apt-get install softhsm2)")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    config = root / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(config)
    for label in ("civid-test", "someone-else"):
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "so-" + PIN],
            check=True,
            capture_output=True,
        )
    pin_file = root / "pin"
    pin_file.write_text(PIN + "\n")
    pin_file.chmod(0o600)
    try:
        yield SoftHsm(module, "civid-test", "someone-else", pin_file)
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous
