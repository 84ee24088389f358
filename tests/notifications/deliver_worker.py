"""A delivery process for the two-process test: ``python -m tests.notifications.deliver_worker URL GATEWAY DATA_DIR``
sends every due notification once (``Deliverer.deliver_due``) and prints how many it sent."""

from __future__ import annotations

import sys
from pathlib import Path

from civid.settings import Settings
from models.db import make_engine, make_session_factory
from notifications.delivery import Deliverer


def main(url: str, gateway_url: str, data_dir: str) -> None:
    settings = Settings(data_dir=Path(data_dir), database_url=url, sms_gateway_url=gateway_url)
    engine = make_engine(url)
    try:
        print(Deliverer(settings, make_session_factory(engine)).deliver_due())
    finally:
        engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:4])
