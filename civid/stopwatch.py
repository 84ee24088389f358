"""Per-stage wall-clock timing for the enrolment pipeline (benchmarks and operational metrics)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Stopwatch:
    """Accumulates seconds per named stage. ``NULL`` is the one that records nothing."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


class _NullStopwatch(Stopwatch):
    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        yield


NULL = _NullStopwatch()
