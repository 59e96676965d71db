"""A lock file shared by processes that build in the same place (test workers, sweep tasks)."""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path

__all__ = ["exclusive"]


@contextlib.contextmanager
def exclusive(lock_file: Path):
    """Hold an exclusive lock on ``lock_file`` (created if missing): processes that build or
    run in the same place wait for each other."""
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
