"""The lock of a run folder: one writer at a time, and a second one told who holds it."""

import contextlib
import fcntl
import json
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from fsdiff.errors import CheckpointError

LOCK = ".lock"

_log = logging.getLogger(__name__)


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``<run>/.lock`` while the body writes the run folder.

    The lock is an ``flock`` on that file, which the kernel releases when its holder dies however it dies, so a
    lock can never outlive its process; the file also records the holder (PID, host, command) for the message a
    second writer gets (``CheckpointError``, at once, nothing touched). A record left by a dead holder is stale: it
    is taken over with a warning naming it. The record is emptied when the body ends; the file stays (removing it
    would let two writers lock two different files of the same name).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CheckpointError(
                f"{run_dir} is in use by {_describe(_holder(handle))}; wait for it to finish"
            ) from None
        stale = _holder(handle)
        if stale:
            _log.warning("%s: taking over the stale lock of %s (no longer running)", run_dir, _describe(stale))
        record = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv)}
        os.ftruncate(handle, 0)
        os.pwrite(handle, json.dumps(record).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(handle, 0)
    finally:
        os.close(handle)


def _holder(handle: int) -> dict:
    text = os.pread(handle, 4096, 0).decode(errors="replace")
    try:
        record = json.loads(text) if text.strip() else {}
    except ValueError:
        return {"command": f"an unreadable lock record {text[:40]!r}"}
    return record if isinstance(record, dict) else {}


def _describe(holder: dict) -> str:
    if not holder:
        return "another process"
    return f"PID {holder.get('pid', '?')} on {holder.get('host', '?')} ({holder.get('command', '?')})"
