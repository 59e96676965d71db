"""Results are never lost: when a command stops early, what it finished is written.

A command wraps its work in :func:`keep_partial_results`. On Ctrl-C (exit status 130) or a
failure (exit status 1) the result file is written from the command's snapshot of what is done,
marked ``"complete": false`` with the reason, the failure's traceback goes to ``traceback.txt``
beside it, and :class:`RunStopped` carries one line to the command line. A bad input
(:class:`~halp_hw.golden.validation.HalpInputError`) passes through: it is checked before any work.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import traceback
from pathlib import Path

from halp_hw.golden.validation import HalpInputError

__all__ = ["INTERRUPTED_STATUS", "FAILED_STATUS", "RunStopped", "json_safe", "write_json",
           "keep_partial_results"]

INTERRUPTED_STATUS = 130  # 128 + SIGINT, as shells report a Ctrl-C
FAILED_STATUS = 1


class RunStopped(Exception):
    """A command stopped before the end; ``status`` is its exit status, the message one line."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def json_safe(value):
    """JSON has no inf/nan: non-finite floats (a diverged run's values) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    return value


def write_json(path: Path, content: dict) -> None:
    """``content`` as indented, strict JSON (NaN/inf as null)."""
    path.write_text(json.dumps(json_safe(content), indent=1, allow_nan=False) + "\n")


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _save(path: Path, snapshot, reason: str) -> str:
    """Write the snapshot marked incomplete; say what was written."""
    try:
        content = dict(snapshot() or {})
    except Exception as error:  # the snapshot itself needs state the stop interrupted
        content = {"snapshot_error": _one_line(f"{type(error).__name__}: {error}")}
    content.update(complete=False, incomplete_reason=reason)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, content)
    except OSError as error:
        return f"could not write {path}: {error.strerror}"
    return f"wrote what was finished to {path}"


@contextlib.contextmanager
def keep_partial_results(path, snapshot):
    """Run the body; if it stops early, write ``snapshot()`` to ``path`` and raise RunStopped.

    Parameters
    ----------
    path : pathlib.Path
        The command's result file (``results.json``, ``verify.json``).
    snapshot : callable
        Returns the result content finished so far (a JSON-ready dict).
    """
    path = Path(path)
    with _ctrl_c_recorded() as ctrl_c:
        try:
            yield
        except HalpInputError:
            raise
        except KeyboardInterrupt:
            _interrupted(path, snapshot)
        except Exception as error:
            if ctrl_c:  # the interrupt surfaced as another exception (inside a numba dispatch)
                _interrupted(path, snapshot)
            _failed(path, snapshot, error)


def _interrupted(path: Path, snapshot):
    written = _save(path, snapshot, "interrupted (Ctrl-C)")
    raise RunStopped(INTERRUPTED_STATUS, f"interrupted; {written}") from None


def _failed(path: Path, snapshot, error: Exception):
    reason = _one_line(f"{type(error).__name__}: {error}")
    written = _save(path, snapshot, f"failed: {reason}")
    log = path.parent / "traceback.txt"
    with contextlib.suppress(OSError):
        log.write_text(traceback.format_exc())
        written += f" (traceback in {log})"
    raise RunStopped(FAILED_STATUS, f"error: {reason}; {written}") from None


@contextlib.contextmanager
def _ctrl_c_recorded():
    """Inside, a Ctrl-C raises KeyboardInterrupt as usual and is also recorded in the list
    yielded: compiled code can turn the interrupt into another exception on its way out."""
    received = []

    def on_sigint(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: signals stay as they are
        yield received
        return
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)
