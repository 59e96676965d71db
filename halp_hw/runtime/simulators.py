"""Run cocotb testbenches on built designs, for pytest and ``halp-hw verify``.

:func:`run_testbench` runs a cocotb test module from ``sim/`` on a design built by
:func:`~halp_hw.runtime.builds.build_design` (an Amaranth component) or
:func:`~halp_hw.runtime.builds.build_verilog` (Verilog text), with parameters passed through the
environment, and returns the parsed results; :func:`run_testbench_cases` runs several parameter
sets in one simulator process. The build functions and the toolchain names are
re-exported here, so that this module is the one entry point to RTL simulation.

The testbenches await edges of the clock the build generates (see :mod:`~halp_hw.runtime.builds`),
or a status signal such as ``busy``: the simulator runs the design at its own speed and calls
into Python only when a testbench waits for something (a block testbench that steps per cycle
awaits every edge; the core's host loop waits for ``busy`` to fall, once per command). Neither
knows anything of the design but its ``clk`` port, so any top (a core, or a core next to a
memory model) is clocked the same way.

Runs may go on in several processes at once (parallel test workers, sweep tasks): a run holds
its run directory (see :func:`run_testbench`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from halp_hw.flow.toolchain import (DEFAULT_SIMULATOR, SIMULATORS, VERILATOR_LINT_WAIVERS,
                                    SimulatorUnavailable, check_simulator,
                                    simulator_unavailable_reason, verilator_bin_dir,
                                    verilator_executable)

from .builds import (CCACHE_DIR_NAME, DEFAULT_BUILD_ROOT, SIM_DIR, TIMESCALE,
                     VERILATED_MAKEFLAGS, VERILATOR_OPTIMIZATION, VERILATOR_SIMULATION_OPTIONS,
                     BuiltDesign, SimulationError, build_design, build_verilog, ccache_executable,
                     toolchain_environment)

__all__ = [
    "SIMULATORS", "DEFAULT_SIMULATOR", "DEFAULT_BUILD_ROOT", "WAVES_FILES", "SIM_ENV_VAR",
    "PARAMS_ENV_VAR", "CASES_KEY", "SIM_DIR", "TIMESCALE", "VERILATED_MAKEFLAGS",
    "VERILATOR_SIMULATION_OPTIONS", "VERILATOR_OPTIMIZATION", "CCACHE_DIR_NAME",
    "VERILATOR_LINT_WAIVERS", "SimulatorUnavailable", "SimulationError", "TestOutcome",
    "TestbenchResults", "BuiltDesign", "verilator_bin_dir", "verilator_executable",
    "check_simulator", "simulator_unavailable_reason", "default_simulator", "ccache_executable",
    "toolchain_environment", "build_design", "build_verilog",
    "run_testbench", "run_testbench_cases", "problem_file",
]

#: Environment variable that selects the simulator when no ``--sim`` is given.
SIM_ENV_VAR = "HALP_SIM"
#: Environment variable through which a testbench receives its parameters (JSON).
PARAMS_ENV_VAR = "HALP_TB_PARAMS"
#: The key of those parameters that lists the parameter sets of :func:`run_testbench_cases`.
CASES_KEY = "cases"
#: The files whose ``assert`` statements cocotb has pytest rewrite in the simulator
#: (``COCOTB_REWRITE_ASSERTION_FILES``): the testbenches. cocotb's default, ``*.py``, rewrites
#: every module the simulator imports (NumPy, numba, SciPy, Amaranth), compiled from source on
#: every run because the runner also turns off bytecode caching: about 6 CPU-seconds per run.
REWRITTEN_ASSERTION_FILES = "tb_*.py"
#: Environment of every simulator process besides the testbench's parameters: the assertion
#: rewriting above; no pytest plugins loaded from entry points (cocotb starts pytest's
#: configuration for the rewriting alone; loading pytest-xdist, pytest-benchmark and the rest
#: cost about 0.1 CPU-second a run); and one OpenBLAS thread, as Dask gives its workers (the
#: testbench does no large linear algebra, and NumPy's import starting a thread per core cost
#: about 0.2 CPU-second a run).
SIMULATION_ENV = {"COCOTB_REWRITE_ASSERTION_FILES": REWRITTEN_ASSERTION_FILES,
                  "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "OPENBLAS_NUM_THREADS": "1"}
#: The waveform each simulator's cocotb runner writes (VCD in the run directory from Verilator's
#: ``--trace``, FST in the build directory from Icarus, named after the simulation top).
WAVES_FILES = {"verilator": "dump.vcd", "icarus": "{toplevel}.fst"}


def default_simulator() -> str:
    """The simulator named by :data:`SIM_ENV_VAR`, else :data:`DEFAULT_SIMULATOR`."""
    return os.environ.get(SIM_ENV_VAR) or DEFAULT_SIMULATOR


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
        report_path = run_dir / f"{name}.report.json"
        tests, results_xml, waves_file = _simulate(
            run_dir, built, module=module, params={**params, "report": str(report_path)},
            reports=[report_path], testcase=testcase, seed=seed, name=name,
            on_progress=on_progress)
        return TestbenchResults(tests, results_xml, waves_file, _read_report(report_path))


def run_testbench_cases(built: BuiltDesign, *, module: str, cases: dict, seed: int = 0,
                        name: str = "results") -> dict:
    """Run ``sim/<module>.py`` once per parameter set of ``cases``, all in one simulator
    process: a simulator process costs about a CPU-second to start (Python, cocotb, the golden
    model's imports) before its first cycle, more than a short case takes.

    The module runs one cocotb test per case, in order (``tb_support.case_params()`` lists
    them); each case has its own report, and a build with waveforms records one waveform of
    them all. :func:`run_testbench` takes the other parameters.

    Returns
    -------
    dict
        ``{case: TestbenchResults}``, each holding that case's test and report.
    """
    with _run_directory(built.build_dir, name) as run_dir:
        reports = {case: run_dir / f"{name}.{case}.report.json" for case in cases}
        params = {CASES_KEY: [{**case_params, "report": str(reports[case])}
                              for case, case_params in cases.items()]}
        tests, results_xml, waves_file = _simulate(
            run_dir, built, module=module, params=params, reports=list(reports.values()),
            testcase=None, seed=seed, name=name, on_progress=None)
        if len(tests) != len(cases):
            raise SimulationError(f"{len(cases)} cases were given to {module}, {len(tests)} "
                                  f"tests ran (see {results_xml})")
        return {case: TestbenchResults([test], results_xml, waves_file, _read_report(path))
                for test, (case, path) in zip(tests, reports.items())}


def _read_report(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _simulate(run_dir: Path, built: BuiltDesign, *, module: str, params: dict, reports: list,
              testcase, seed: int, name: str, on_progress) -> tuple:
    """Run the simulator in ``run_dir`` (after deleting the ``reports`` of any earlier run);
    returns the test outcomes, the results file and the waveform file."""
    from cocotb_tools.runner import get_runner

    results_xml = run_dir / f"{name}.xml"
    for stale in (results_xml, *reports):  # a failed run must not read an earlier run's files
        stale.unlink(missing_ok=True)
    following = contextlib.nullcontext()
    if on_progress is not None:
        params = {**params, "progress": str(run_dir / f"{name}.progress")}
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
                extra_env={PARAMS_ENV_VAR: json.dumps(params), **SIMULATION_ENV},
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
    return _parse_results(results_xml), results_xml, waves_file
