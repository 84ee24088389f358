"""Saving an index file and its JSON sidecar as one pair, safe against a crash and against other savers.

``civid serve --workers N`` runs N processes over one data folder, and each saves its indexes at shutdown,
often at the same moment. So each save writes temp files of its own (pid and a random suffix in the name:
two savers never write into one file) and renames them into place under a lock file beside the index, so
the index and sidecar on disk always come from the same save. A crash leaves the previous pair.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temp_beside(path: Path) -> Path:
    """A temp file name in ``path``'s folder (so the rename stays atomic) that no other save picks."""
    return path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


@contextmanager
def saving_pair(path: Path, meta_path: Path) -> Iterator[tuple[Path, Path]]:
    """Yield temp paths for the index and its sidecar; when the block ends well, rename both into place.

    The temp files are removed whatever happens, so a failed save leaves nothing behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, meta_tmp = temp_beside(path), temp_beside(meta_path)
    try:
        yield tmp, meta_tmp
        # flock, not a thread lock: the other savers are other processes (and threads, each with its own open).
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            os.replace(tmp, path)
            os.replace(meta_tmp, meta_path)
    finally:
        tmp.unlink(missing_ok=True)
        meta_tmp.unlink(missing_ok=True)
