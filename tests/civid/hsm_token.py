"""A SoftHSM2 token directory for the HSM tests: made once per test process, before the PKCS#11 module loads.

SoftHSM2 reads its configuration (SOFTHSM2_CONF) and its token list once, at C_Initialize, so every token the
tests use is initialised here first: ``civid-test`` holds the deployment's keys, ``civid-other`` is the empty
token of someone who copied the data folder. Tests keep apart by their keys' random labels.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN = "civid-test"
OTHER_TOKEN = "civid-other"
PIN = "314159"
SO_PIN = "27182818"


@dataclass(frozen=True)
class SoftHsm:
    module: str
    pin_file: Path

    def env(self, label: str = TOKEN) -> dict[str, str]:
        """The CIVID_* settings of a deployment whose keys are in token ``label``."""
        return {
            "CIVID_KEYS_BACKEND": "pkcs11",
            "CIVID_PKCS11_MODULE": self.module,
            "CIVID_PKCS11_TOKEN_LABEL": label,
            "CIVID_PKCS11_PIN_FILE": str(self.pin_file),
        }

    def settings(self, label: str = TOKEN) -> dict[str, object]:
        """The same as Settings keyword arguments."""
        return {
            "keys_backend": "pkcs11",
            "pkcs11_module": self.module,
            "pkcs11_token_label": label,
            "pkcs11_pin_file": self.pin_file,
        }


def start(root: Path) -> SoftHsm:
    """Write a SoftHSM2 configuration under ``root``, point SOFTHSM2_CONF at it and initialise both tokens."""
    util = shutil.which("softhsm2-util")
    if util is None or not Path(MODULE).exists():
        raise RuntimeError("SoftHSM2 is not installed (apt-get install softhsm2; .ci/run installs it)")
    tokens = root / "tokens"
    tokens.mkdir(parents=True)
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in (TOKEN, OTHER_TOKEN):
        subprocess.run(
            [util, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN],
            check=True,
            capture_output=True,
        )
    pin_file = root / "pin"
    pin_file.write_text(PIN + "\n")
    pin_file.chmod(0o600)
    return SoftHsm(MODULE, pin_file)
