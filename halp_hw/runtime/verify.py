"""A whole HALP training run on the simulated RTL, compared bit for bit with the golden model.

The host loop (full gradient, scale, gradient memory, recenter) runs in Python inside the cocotb
testbench ``sim/tb_core.py``; the inner loops run on :class:`halp_hw.hdl.core.HALPCore` next to
its off-chip memory models (:class:`halp_hw.hdl.system.HALPSystem`), simulated by Verilator or
Icarus, in lockstep with the golden :class:`halp_hw.golden.hardware.AcceleratorModel` of the
same :class:`halp_hw.golden.memory.MemoryTiming`. :func:`verify` returns the report that
``halp-hw verify`` prints and writes.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from halp_hw.golden.hardware import HardwareConfig, HardwareRun, run_halp_hardware
from halp_hw.golden.memory import MemoryTiming, order_lookahead
from halp_hw.golden.problems import Problem
from halp_hw.golden.trace import Trace
from halp_hw.golden.validation import HalpInputError

from halp_hw.hdl.centering import EPOCH_BITS
from halp_hw.hdl.system import system_for_run
from .simulators import (SimulatorUnavailable, build_design, check_simulator, problem_file,
                         run_testbench)

__all__ = ["COMPARE_POINTS", "CORNER_RUN", "RANDOM_RUN", "BOUNDARY_RUN", "LONG_RUN_RECENTERS",
           "LONG_RUN_HOST_STEPS", "MEMORY_FAULT_NAMES", "regression_params", "first_difference",
           "verify", "write_plot"]

#: When ``z`` and the counters are compared: after every inner step, or after every epoch.
COMPARE_POINTS = ("step", "epoch")
#: The corner phase after the training run (``sim/tb_core.py``'s ``extremes`` scenario): data,
#: step and gradients at the extremes of their widths, exponents at both ends of the register.
#: A training run keeps ``z`` inside its range by design, so without it nothing would test the
#: saturation bounds.
CORNER_RUN = {"epochs": 3, "epoch_length": 8}
#: The random phases after it (``sim/tb_core.py``'s ``random`` scenario), one per random stream
#: (L + 1): seeded so that the stream starts from the zero state, on d - 1 features, random
#: data, step and exponents, gradients on rounding boundaries, junk in the memory lanes past
#: d, one RUN of T steps per epoch (compared at its end). Added where the
#: mutation campaign (``halp-hw mutate``) found the training and corner phases blind.
RANDOM_RUN = {"epochs": 2, "epoch_length": 20}
#: The boundary phase (``sim/tb_boundary.py``): epochs of a SEED, a gradient, a recenter and a
#: RUN of 2 steps whose second step sits on the rounding boundary of every lane update and, with
#: the xorshift32 order, of the sample-index product; every third epoch on fresh host-given
#: order entries; n - 1 samples, d - 1 features.
BOUNDARY_RUN = {"epochs": 30, "epoch_length": 2}

#: Recenters of the long phase in the regression with ``long_run`` (the mutation campaign's): the
#: epoch register's top bit set (``2**(EPOCH_BITS - 1)``), and a few more.
LONG_RUN_RECENTERS = (1 << (EPOCH_BITS - 1)) + 8
#: Steps of the long phase's closing RUN on a host-given order in the regression with
#: ``long_run``: the order position past ``2**13``, and its low bits through a few more carries.
LONG_RUN_HOST_STEPS = (1 << 13) + 64

#: Faulty data memories of the verification suite (``halp_hw.testbenches.memory_faults``):
#: ``jitter`` (random extra delays: must stay bit-exact, cycles only grow), ``drop-beat`` and
#: ``duplicate-beat`` (must be caught).
MEMORY_FAULT_NAMES = ("jitter", "drop-beat", "duplicate-beat")


def memory_class(fault: str | None):
    """The data memory model of a memory fault (None: the correct one)."""
    if fault is not None and fault not in MEMORY_FAULT_NAMES:
        raise HalpInputError(f"memory fault must be one of {', '.join(MEMORY_FAULT_NAMES)}, "
                             f"not {fault!r}")
    from halp_hw.testbenches.memory_faults import memory_class as faulty

    return faulty(fault)


def order_entries(run: HardwareRun, config: HardwareConfig, long_run: bool = False) -> int:
    """Entries of a host-given order that the regression reads, at most: the random phase on
    a host-given order, and the training and corner phases when ``run`` uses one, and with
    ``long_run`` the long phase's closing RUN; and the entries the core reads ahead
    (:func:`halp_hw.golden.memory.order_lookahead`)."""
    steps = RANDOM_RUN["epochs"] * RANDOM_RUN["epoch_length"]
    if run.order == "host":
        steps = max(steps, run.epochs * run.epoch_length,
                    CORNER_RUN["epochs"] * CORNER_RUN["epoch_length"])
    if long_run:
        steps = max(steps, LONG_RUN_HOST_STEPS)
    return steps + order_lookahead(config)


def verify(problem: Problem, problem_seed: int, config: HardwareConfig, run: HardwareRun, *,
           simulator: str, memory: MemoryTiming | None = None, compare: str = "step",
           fault: str | None = None, memory_fault: str | None = None, waves: bool = False,
           build_root: Path | str = "sim_build", quiet: bool = False) -> dict:
    """Train on the RTL and the golden model in lockstep; return the comparison report.

    After the training run, the same simulation resets the core and runs the corner phase
    (:data:`CORNER_RUN`) and the random phases (:data:`RANDOM_RUN`), compared the same way;
    ``bit_exact`` covers them all.

    Parameters
    ----------
    problem : Problem
        The least-squares problem; the testbench reads it from an ``.npz`` file written under
        ``build_root`` (:func:`halp_hw.golden.datasets.save_problem`, named by its content).
    problem_seed : int
        The seed that made the data (recorded in the report).
    config : HardwareConfig
        The accelerator build (``n_max``/``d_max`` at least the problem's size).
    run : HardwareRun
        Step size, mu, epoch length, epochs, the accelerator seed and the sample order.
    simulator : str
        ``verilator`` or ``icarus``.
    memory : MemoryTiming, optional
        The off-chip memory (default ``MemoryTiming()``), the same for the RTL and the golden
        cycle count.
    compare : str
        ``step`` (z after every inner step) or ``epoch``.
    fault : str or None
        Build a deliberately broken core (see :mod:`halp_hw.testbenches.faults`).
    memory_fault : str or None
        Use a faulty data memory (:data:`MEMORY_FAULT_NAMES`); with ``jitter`` the cycle
        counter is only checked to be at least the golden count.
    waves : bool
        Record a waveform of the run.
    build_root : path
        Where builds are cached (one directory per design).
    quiet : bool
        No progress messages or bar on stderr.

    Returns
    -------
    dict
        ``bit_exact``, ``iterates_compared``, ``first_mismatch`` (None, or the cycle, signal,
        expected and actual value and the epoch and step), ``cycles`` (the RTL's counter) and
        ``golden_cycles``, ``rel_subopt`` per epoch (RTL run) and ``golden_rel_subopt`` (an
        independent :func:`halp_hw.golden.hardware.run_halp_hardware`), ``coverage`` of the training
        run, ``corners`` (the corner phase's numbers and coverage), ``random_phases`` and
        ``boundary`` (theirs), ``values_compared``,
        ``mismatches``, the run's parameters, timings and, with ``waves``, the waveform file.
    """
    if compare not in COMPARE_POINTS:
        raise HalpInputError(f"compare must be one of {', '.join(COMPARE_POINTS)}, not {compare!r}")
    from halp_hw.testbenches.faults import check_fault, injected

    check_fault(fault)
    memory = MemoryTiming() if memory is None else memory
    data_memory = memory_class(memory_fault)
    try:
        check_simulator(simulator)
    except SimulatorUnavailable as error:
        raise HalpInputError(f"simulator {simulator} cannot run here: {error}") from None
    config.check_problem_size(problem.n, problem.d)
    golden = golden_trace(problem, config, run, memory)  # validates the run too

    start = time.perf_counter()
    say = (lambda text: None) if quiet else (lambda text: print(text, file=sys.stderr))
    faults = ", ".join(f"{kind} {name}" for kind, name in (("fault", fault),
                                                           ("memory fault", memory_fault)) if name)
    say(f"building HALPSystem ({simulator}{', ' + faults if faults else ''}) under "
        f"{build_root} ...")
    with injected(fault):
        system = system_for_run(config, None, n=problem.n, d=problem.d,  # timing: an input
                                order_entries=order_entries(run, config),
                                memory_class=data_memory,
                                full_gradient=run.full_gradient == "accelerator")
        built = build_design(system, simulator=simulator, waves=waves, build_root=build_root)
    build_seconds = time.perf_counter() - start
    say(f"running {run.epochs} epochs x {run.epoch_length} steps on the RTL, comparing every "
        f"{compare}, then the corner and random phases ...")
    start = time.perf_counter()
    params = {**regression_params(problem, problem_seed, config, run, compare),
              "problem": str(problem_file(problem, Path(build_root).resolve())),
              "memory": dataclasses.asdict(memory),
              "cycles": "at_least" if memory_fault == "jitter" else "exact"}
    from tqdm import tqdm

    epochs = run.epochs + CORNER_RUN["epochs"] + RANDOM_RUN["epochs"] * (config.lanes + 2)
    with tqdm(total=epochs, desc=f"verify on {simulator}",
              unit="epoch", file=sys.stderr, leave=False, disable=quiet) as bar:
        results = run_testbench(built, module="tb_core", params=params, name="verify",
                                on_progress=lambda epochs: bar.update(epochs - bar.n))
    sim_seconds = time.perf_counter() - start

    report = results.report or {}
    phases = report.get("phases", {})
    training, corners = phases.get("training", {}), phases.get("extremes", {})
    first = first_difference(results.report, golden,
                             None if results.passed else results.summary(),
                             exact_cycles=memory_fault != "jitter")
    golden_cycles = sum(golden.cycles or [])
    return {
        "bit_exact": bool(results.passed and first is None),
        "iterates_compared": training.get("iterates_compared", 0),
        "first_mismatch": first,
        "cycles": training.get("cycles"),
        "golden_cycles": golden_cycles,
        "rel_subopt": training.get("rel_subopt"),
        "golden_rel_subopt": golden.rel_subopt,
        "coverage": training.get("coverage", {}),
        "corners": corners,
        "random_phases": {name: phase for name, phase in phases.items()
                          if name.startswith("random")},
        "boundary": phases.get("boundary", {}),
        "functional_coverage": report.get("functional_coverage", {}),
        "coverage_missed": {name: [key for key, hits in item["bins"].items() if hits == 0]
                            for name, item in report.get("functional_coverage", {}).items()
                            if item["covered"] < item["size"]},
        "coverage_report": str(results.results_xml.parent / "verify.report.coverage.yml"),
        "values_compared": report.get("compared", 0),
        "mismatches": report.get("mismatches"),
        "compare": compare,
        "simulator": simulator,
        "fault": fault,
        "memory_fault": memory_fault,
        "memory": dataclasses.asdict(memory),
        "cycles_checked": "at least golden" if memory_fault == "jitter" else "equal to golden",
        "problem": {"name": problem.name, "n": problem.n, "d": problem.d, "seed": problem_seed},
        "config": dataclasses.asdict(config),
        "run": dataclasses.asdict(run),
        "build_seconds": round(build_seconds, 2),
        "sim_seconds": round(sim_seconds, 2),
        "waves": None if results.waves_file is None else str(results.waves_file),
        "sim_log": str(results.results_xml.parent / "sim.log"),
    }


def golden_trace(problem: Problem, config: HardwareConfig, run: HardwareRun,
                 memory: MemoryTiming):
    """The golden model's trace of ``run``: :func:`halp_hw.golden.hardware.run_halp_hardware`,
    or with the full gradient on the accelerator the host loop on
    :class:`halp_hw.golden.epoch.EpochAcceleratorModel`."""
    if run.full_gradient != "accelerator":
        return run_halp_hardware(problem, config, run, memory=memory)
    import asyncio

    from halp_hw.golden.epoch import make_host

    from .backends import ModelAccelerator, drive_halp

    host = make_host(problem, config, run, memory)
    asyncio.run(drive_halp(host, ModelAccelerator(host.make_model())))
    return host.trace


def regression_params(problem: Problem, problem_seed: int, config: HardwareConfig,
                      run: HardwareRun, compare: str = "step", long_run: bool = False) -> dict:
    """The parameters of ``sim/tb_core.py`` for the regression: the training run of ``run`` on
    ``problem``, then the corner phase (:data:`CORNER_RUN`), the random phases
    (:data:`RANDOM_RUN`), the boundary phase (:data:`BOUNDARY_RUN`) and the command script
    (every command in every state); with ``long_run`` last the long phase (``sim/tb_long_run.py``:
    the counters' high bits, about 800 000 cycles, :data:`LONG_RUN_RECENTERS` recenters and a
    RUN of :data:`LONG_RUN_HOST_STEPS` on a host-given order)."""
    scenarios = ["training", "extremes", "random", "boundary", "commands"]
    return {"config": dataclasses.asdict(config), "run": dataclasses.asdict(run),
            "n": problem.n, "d": problem.d, "problem_seed": problem_seed,
            "scenarios": scenarios + ["long"] * long_run,
            # the long phase's recenters: every bit of the epoch register; its host-order RUN
            **({"long_recenters": LONG_RUN_RECENTERS, "long_host_steps": LONG_RUN_HOST_STEPS}
               if long_run else {}),
            "extremes_run": CORNER_RUN, "random_run": RANDOM_RUN,
            "boundary_run": BOUNDARY_RUN, "compare": compare}


def first_difference(report: dict | None, golden, failure: str | None = None,
                     exact_cycles: bool = True) -> dict | None:
    """The first difference of a regression run (:func:`regression_params`), None if none.

    Parameters
    ----------
    report : dict or None
        The scoreboard's report (None: the simulation ended before it was written).
    golden : HardwareRun result
        An independent :func:`halp_hw.golden.hardware.run_halp_hardware` of the same run.
    failure : str or None
        Why the testbench failed, if it did.
    exact_cycles : bool
        Compare the training run's cycle count (not with a memory of random delays).

    Returns
    -------
    dict or None
        The scoreboard's first mismatch; else the failure (``{"error": ...}``); else the
        training run's cycle count or ``rel_subopt`` per epoch where it differs from
        ``golden``'s.
    """
    if report is not None and report.get("first_mismatch") is not None:
        return report["first_mismatch"]
    if failure is not None or report is None:
        return {"error": failure or "the testbench wrote no report"}
    training = report.get("phases", {}).get("training", {})
    checks = [("rel_subopt", golden.rel_subopt, training.get("rel_subopt"))]
    if exact_cycles:
        checks.insert(0, ("cycles", sum(golden.cycles or []), training.get("cycles")))
    for signal, expected, actual in checks:
        if actual != expected:
            return {"signal": signal, "expected": expected, "actual": actual,
                    "context": "training, end of the run"}
    return None


def write_plot(report: dict, path) -> Path:
    """``rel_subopt`` per epoch of the RTL run next to the golden model's."""
    from halp_hw.plots import plot_convergence

    hyper = {"bits": report["config"]["bits"]}
    traces = {
        "golden hardware mode": Trace("golden", hyper, rel_subopt=report["golden_rel_subopt"]),
        f"RTL ({report['simulator']})": Trace("rtl", hyper, rel_subopt=report["rel_subopt"] or []),
    }
    verdict = "bit-exact" if report["bit_exact"] else "MISMATCH"
    title = (f"halp-hw verify: {report['problem']['name']} N={report['problem']['n']} "
             f"d={report['problem']['d']}, {report['config']['bits']}-bit, "
             f"{report['config']['lanes']} lanes: {verdict}")
    return plot_convergence(traces, path, title)
