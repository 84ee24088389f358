"""What ``/healthz`` reports about the gallery, counted at most once per ``CIVID_HEALTHZ_GALLERY_CACHE_S``.

A load balancer checks every instance every few seconds; on the Milvus backend each count is a query to the shared
server, so N instances checked every second would load Milvus with counts that say nothing new. The count kept
is at most that old (a health figure, not an audit one); FAISS counts in memory and is cached the same way, so
both backends answer alike.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sized


class GallerySizeCache:
    """The size of a gallery, asked of it again only once the last count is ``max_age_s`` old."""

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._lock = threading.Lock()  # health checks arrive on several threads: one count at a time
        self._size: int | None = None
        self._counted_at = 0.0

    def size(self, gallery: Sized) -> int:
        """The gallery's size, counted now if the kept count is missing or too old."""
        with self._lock:
            now = time.monotonic()
            if self._size is None or now - self._counted_at >= self.max_age_s:
                self._size, self._counted_at = len(gallery), now
            return self._size
