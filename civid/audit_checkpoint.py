"""Signed checkpoints of the audit log: sign the tree's size and root, keep them, hand them to the witness.

Each new checkpoint is stored (``AuditCheckpoint``, so the API can serve it and prove against it) and appended to
the witness file, ``CIVID_AUDIT_CHECKPOINT_FILE``: signed notes one after another. Beside it, ``<file>.leaves``
receives the log's leaf hashes (32 bytes each, in leaf order) up to the checkpoint's size: with it an auditor's
``civid audit verify --checkpoint`` names the first leaf that was rewritten, not only that one was
(docs/audit-log.md). Both files are only ever appended to, under a file lock, after the database commit.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from civid import audit_tree
from civid.audit_key import AuditKeys
from civid.signed_note import Checkpoint
from models import AuditCheckpoint
from models.db import lock_audit_log

LEAF_MIRROR_SUFFIX = ".leaves"
log = logging.getLogger(__name__)


def latest(session: Session) -> AuditCheckpoint | None:
    """The newest checkpoint the log signed."""
    return session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)).first()


def publish(sessions: sessionmaker[Session], keys: AuditKeys, witness_file: Path | None) -> AuditCheckpoint:
    """Sign a checkpoint of the log as it stands, unless one of that size exists; then give it to the witness.

    Returns the newest checkpoint (of the empty log, size 0, before any event)."""
    with sessions.begin() as session:
        lock_audit_log(session)  # the size read here is the size signed: no sequencer moves it in between
        size = audit_tree.tree_size(session)
        newest = latest(session)
        if newest is not None and newest.tree_size >= size:
            return newest
        root = audit_tree.StoredTree(session).root(size)
        note = keys.sign(Checkpoint(keys.name, size, root).text).serialise()
        newest = AuditCheckpoint(tree_size=size, root_hash=root, note=note)
        session.add(newest)
    if witness_file is not None:
        with sessions() as session:
            hand_to_witness(session, newest, witness_file)
    return newest


def leaf_mirror_of(witness_file: Path) -> Path:
    return witness_file.with_name(witness_file.name + LEAF_MIRROR_SUFFIX)


def hand_to_witness(session: Session, checkpoint: AuditCheckpoint, witness_file: Path) -> None:
    """Append the checkpoint's note, and the leaf hashes the mirror lacks up to its size (never rewriting either)."""
    witness_file.parent.mkdir(parents=True, exist_ok=True)
    mirror = leaf_mirror_of(witness_file)
    # One lock for both files: two processes publishing at once append whole notes and leaves in order.
    with open(witness_file, "a", encoding="utf-8") as notes, open(mirror, "ab") as leaves:
        fcntl.flock(notes, fcntl.LOCK_EX)
        try:
            length = os.fstat(leaves.fileno()).st_size
            held = length // 32
            if length % 32:  # a write cut short: appending now would shift every later leaf; a person must look
                log.error(
                    "the audit leaf mirror %s ends in a partial leaf; no leaves appended until it is fixed", mirror
                )
            elif held < checkpoint.tree_size:
                for position, value in audit_tree.leaf_hashes(session, start=held):
                    if position >= checkpoint.tree_size:
                        break
                    leaves.write(value)
                leaves.flush()
                os.fsync(leaves.fileno())
            notes.write(checkpoint.note)
            notes.flush()
            os.fsync(notes.fileno())
        finally:
            fcntl.flock(notes, fcntl.LOCK_UN)
