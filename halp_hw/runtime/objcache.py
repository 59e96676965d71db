"""A compiler wrapper that reuses Verilator's runtime objects across builds (Verilator's OBJCACHE).

Every Verilator build compiles the same runtime library (``verilated.cpp``, ``verilated_vpi.cpp``,
...) from the wheel's ``include/`` directory: about 19 of the 22 s a small design takes on the
2-core CI machine. Those objects depend only on the compiler command and the runtime sources, not
on the design, so :mod:`halp_hw.runtime.simulators` sets ``OBJCACHE`` to this module: a compile of a
source in :data:`SOURCES_ENV_VAR`'s directory is keyed by its full command line and the source's
size and modification time, and the object and its ``.d`` file are copied from the cache when
the key was built before. Every other compile (the design's own C++) runs unchanged.

Usage (what ``make`` runs): ``python -m halp_hw.runtime.objcache g++ <flags> -c -o verilated.o <src>``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["CACHE_ENV_VAR", "SOURCES_ENV_VAR", "main"]

#: Directory of the cached objects.
CACHE_ENV_VAR = "HALP_OBJCACHE_DIR"
#: Only sources in this directory (Verilator's runtime ``include/``) are cached.
SOURCES_ENV_VAR = "HALP_OBJCACHE_SOURCES"


def _cache_key(command: list, source: Path) -> str:
    stat = source.stat()
    text = "\0".join([*command, str(stat.st_size), str(stat.st_mtime_ns)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _cacheable_source(command: list) -> Path | None:
    sources_dir = os.environ.get(SOURCES_ENV_VAR)
    if not sources_dir or not os.environ.get(CACHE_ENV_VAR) or "-o" not in command:
        return None
    source = Path(command[-1])
    if source.suffix != ".cpp" or source.resolve().parent != Path(sources_dir).resolve():
        return None
    return source


def main(command: list) -> int:
    """Run ``command`` (a compile) or restore its outputs from the cache; return its status."""
    source = _cacheable_source(command)
    if source is None:
        return subprocess.call(command)
    output = Path(command[command.index("-o") + 1])
    outputs = (output, output.with_suffix(".d"))
    entry = Path(os.environ[CACHE_ENV_VAR]) / _cache_key(command, source)
    if all((entry / item.name).is_file() for item in outputs):
        for item in outputs:
            shutil.copyfile(entry / item.name, item)
        return 0
    status = subprocess.call(command)
    if status == 0 and all(item.is_file() for item in outputs):
        staging = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
        staging.mkdir(parents=True, exist_ok=True)
        for item in outputs:
            shutil.copyfile(item, staging / item.name)
        try:
            staging.rename(entry)
        except OSError:  # another build stored the same entry first
            shutil.rmtree(staging, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
