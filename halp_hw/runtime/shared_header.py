"""Verilator's runtime headers, precompiled once for every build of a build root.

A Verilator build compiles its model as one C++ file (``Vtop__ALL.cpp``, see
:data:`~halp_hw.runtime.builds.VERILATED_MAKEFLAGS`) that starts with ``verilated.h`` and
``verilated_dpi.h``, the same for every design. Reading them is a large part of each model's
compile at ``-O0``: 0.4 of 0.8 CPU-seconds for a small block, 0.55 of 1.6 for the full-gradient
core. They are precompiled once per build root, Verilator and C++ flags, in
``<build_root>/pch/<key>/``, and the model's compile takes them with ``-include``, as
Verilator's own precompiled headers do (``Vtop__pch.h.fast``), but across builds. Builds with
waveforms (``VM_TRACE``, another header) go without: one is rarely followed by many more.

The header is compiled by the first build's own makefile (``verilated.mk``'s ``%.fast.gch``
rule), so with exactly the flags of the model's compile. GCC checks that a precompiled header
matches the options and macros of a compile and reads the text header otherwise (so does a
compiler whose precompiled headers go by another name): a mismatch costs time, never
correctness.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from halp_hw.flow.toolchain import verilator_executable

from .locks import exclusive

__all__ = ["SHARED_HEADER_DIR_NAME", "MODEL_OPT_FAST", "SharedHeader", "shared_header"]

#: The directory of the shared headers in a build root, ``<build_root>/<this>/<key>``.
SHARED_HEADER_DIR_NAME = "pch"
#: ``verilated.mk``'s ``OPT_FAST``, kept in the model's compile and the header's, which name it
#: again to add the ``-include``.
MODEL_OPT_FAST = "-Os"
#: The headers of Verilator's runtime that every model includes first (its ``Vtop__pch.h``
#: without the model's own).
_HEADER_TEXT = '#include "verilated.h"\n#include "verilated_dpi.h"\n'
#: The header's name; the model includes ``<name>.fast``, precompiled as ``<name>.fast.gch``
#: (the names of ``verilated.mk``'s rule).
_HEADER_NAME = "verilated_runtime.h"
#: Written once the header is precompiled whole (a compile stopped half-way is made again).
_DONE_MARKER = "precompiled"
#: Left next to the header when it could not be precompiled (the compile log is in the build's
#: log): later builds include the text header without trying again.
_FAILED_MARKER = "not-precompiled"


@dataclass(frozen=True)
class SharedHeader:
    """The precompiled runtime headers of one Verilator and set of C++ flags.

    Attributes
    ----------
    directory : pathlib.Path
        ``<build_root>/pch/<key>``.
    """

    directory: Path

    @property
    def include(self) -> Path:
        """The header the model's compile includes (GCC reads ``<include>.gch`` instead)."""
        return self.directory / f"{_HEADER_NAME}.fast"

    @property
    def precompiled(self) -> Path:
        """The precompiled header, made by ``verilated.mk``'s rule."""
        return self.directory / f"{_HEADER_NAME}.fast.gch"

    @property
    def make_variable(self) -> str:
        """The ``make`` argument that includes the header in the model's compile."""
        return f"OPT_FAST={MODEL_OPT_FAST} -include {self.include}"

    def ensure(self, run_make) -> None:
        """Precompile the header unless a build did already, one process at a time.

        ``run_make(arguments)`` runs the build's ``make`` with more arguments: here the
        model's ``OPT_FAST``, no ccache (the header is made once and would only fill the
        cache) and the target. A failure (``RuntimeError``) leaves the text header, which
        later builds include instead.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        with exclusive(self.directory / "lock"):
            if any((self.directory / marker).is_file()
                   for marker in (_DONE_MARKER, _FAILED_MARKER)):
                return
            self.precompiled.unlink(missing_ok=True)  # what an interrupted compile left
            for path in (self.directory / _HEADER_NAME, self.include):
                path.write_text(_HEADER_TEXT)
            try:
                run_make([f"OPT_FAST={MODEL_OPT_FAST}", "OBJCACHE=", str(self.precompiled)])
            except RuntimeError:  # the runner's error for a failed command
                self.precompiled.unlink(missing_ok=True)
                (self.directory / _FAILED_MARKER).touch()
            else:
                (self.directory / _DONE_MARKER).touch()


@functools.cache
def _verilator_version() -> str:
    """What the Verilator on PATH says of its version (one call per process)."""
    return subprocess.run([verilator_executable(), "--version"], capture_output=True,
                          text=True, check=True).stdout


def shared_header(build_root: Path, *, cflags: list) -> SharedHeader:
    """The shared header of the builds without waveforms under ``build_root`` with the C++
    flags ``cflags`` (Verilator's ``-CFLAGS``)."""
    key = hashlib.sha256("\n".join([_verilator_version(), *cflags]).encode())
    return SharedHeader(Path(build_root) / SHARED_HEADER_DIR_NAME / key.hexdigest()[:16])
