"""HALP end to end on the accelerator: backends, the report, and its plots.

The host loop is :class:`halp_hw.golden.hardware.HalpHost` on every backend; what changes is the
accelerator behind it. ``model`` is the golden :class:`halp_hw.golden.hardware.AcceleratorModel` (fast);
``verilator``, ``icarus`` and ``amaranth`` run the RTL of :class:`halp_hw.hdl.core.HALPCore` with
its off-chip memory models (:class:`halp_hw.hdl.system.HALPSystem`), both of the same
:class:`halp_hw.golden.memory.MemoryTiming` as the golden model's cycle count.
Every backend returns the same record (trace, and ``z`` after every epoch), so the same seed must
give the same ``results.json`` numbers whatever the backend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from halp_hw.golden.diagnosis import any_diverged, diagnose
from halp_hw.golden.hardware import AcceleratorModel, HalpHost, HardwareConfig, HardwareRun
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.problems import Problem
from halp_hw.golden.trace import Trace
from halp_hw.golden.validation import HalpInputError

from halp_hw.models import perf
from halp_hw.models.baseline import BASELINE_DTYPES, BASELINE_LOOPS, svrg_baseline

__all__ = ["BACKENDS", "RTL_BACKENDS", "HostLoopRecord", "AcceleratorRun", "drive_halp",
           "ModelAccelerator", "AmaranthAccelerator", "SimulationOutcome", "run_backend", "simulate",
           "write_report"]

#: The accelerators ``halp-hw simulate`` can run on.
BACKENDS = ("model", "verilator", "icarus", "amaranth")
#: The backends that simulate the RTL.
RTL_BACKENDS = BACKENDS[1:]
#: Memory bandwidths (bytes per cycle) of the roofline plot.
ROOFLINE_BANDWIDTHS = (1, 2, 4, 8, 16, 32, 64)


@dataclasses.dataclass(frozen=True)
class HostLoopRecord:
    """What :func:`drive_halp` measured.

    Attributes
    ----------
    z : list of list of int
        The accelerator's offset ``z`` (integers) at the end of every epoch.
    host_seconds : float
        Wall time of the host's per-epoch float64 work (full gradient, scale, ``G``).
    run_seconds : float
        Wall time of the run commands: the simulation of the inner loops alone.
    run_cpu_seconds : float
        CPU time of the process that simulates (``time.process_time``) during the run
        commands: the simulation's cost independent of what else the machine runs.
    """

    z: list
    host_seconds: float
    run_seconds: float
    run_cpu_seconds: float


@dataclasses.dataclass(frozen=True)
class AcceleratorRun:
    """What a backend returns.

    Attributes
    ----------
    trace : halp_hw.golden.trace.Trace
        The host's record: suboptimality, scale, saturations and cycles per epoch.
    loop : HostLoopRecord
        ``z`` per epoch and the host-loop timings.
    build_seconds : float
        Wall time spent building the simulation (elaboration, Verilog, C++ compile).
    total_seconds : float
        Wall time of the whole backend run, the build included.
    host_load_seconds : float
        Wall time of the host's one-time work before the run: checking the run and quantizing
        the data (:class:`~halp_hw.golden.hardware.HalpHost`), not the transfer to the memories.
    """

    trace: Trace
    loop: HostLoopRecord
    build_seconds: float
    total_seconds: float
    host_load_seconds: float


@dataclasses.dataclass(frozen=True)
class SimulationOutcome:
    """What :func:`simulate` produced.

    Attributes
    ----------
    results : dict
        The ``results.json`` content.
    traces : dict of str to halp_hw.golden.trace.Trace
        The accelerator run (``halp_hw``) and the golden references (``svrg``, ``halp``), in
        plotting order.
    """

    results: dict
    traces: dict


def _progress(total: int, backend: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"HALP on {backend}", unit="epoch", file=sys.stderr,
                leave=False)


async def drive_halp(host: HalpHost, accelerator, on_epoch=None) -> HostLoopRecord:
    """The host loop of hardware-mode HALP, the same for every backend.

    ``accelerator`` has async ``load_gradient(grad_ints)``, ``recenter(exponent)``,
    ``run(steps)``, ``read_z()`` and ``counters() -> (saturations, cycles)`` (counted since
    reset); its data, step mantissa and seed are loaded already. ``on_epoch(k)`` is called after
    each epoch.
    """
    host.problem.optimum  # solved once for the trace's suboptimality: reporting, not host work
    z_per_epoch, host_seconds, run_seconds, run_cpu_seconds = [], 0.0, 0.0, 0.0
    for epoch in range(1, host.run.epochs + 1):
        start = time.perf_counter()
        inputs = host.begin_epoch()
        host_seconds += time.perf_counter() - start
        saturations, cycles = await accelerator.counters()
        await accelerator.load_gradient(inputs.grad_ints)
        await accelerator.recenter(inputs.exponent)
        start, cpu_start = time.perf_counter(), time.process_time()
        await accelerator.run(host.run.epoch_length)
        run_seconds += time.perf_counter() - start
        run_cpu_seconds += time.process_time() - cpu_start
        z = await accelerator.read_z()
        saturations_after, cycles_after = await accelerator.counters()
        host.end_epoch(np.array(z, dtype=np.int64), saturations_after - saturations,
                       cycles_after - cycles)
        z_per_epoch.append([int(value) for value in z])
        if on_epoch is not None:
            on_epoch(epoch)
    return HostLoopRecord(z_per_epoch, host_seconds, run_seconds, run_cpu_seconds)


class ModelAccelerator:
    """The golden :class:`~halp_hw.golden.hardware.AcceleratorModel` behind :func:`drive_halp`.

    Parameters
    ----------
    model : AcceleratorModel
        The model, loaded with the run's data, step mantissa and seed.
    """

    def __init__(self, model: AcceleratorModel):
        self.model = model

    async def load_gradient(self, grad_ints) -> None:
        self.model.load_gradient(grad_ints)

    async def recenter(self, exponent: int) -> None:
        self.model.recenter(exponent)

    async def run(self, steps: int) -> None:
        self.model.run(steps)

    async def read_z(self) -> list:
        return self.model.z.tolist()

    async def counters(self) -> tuple[int, int]:
        return self.model.saturations, self.model.cycles


class AmaranthAccelerator:
    """:class:`halp_hw.hdl.system.HALPSystem` in Amaranth's simulator behind :func:`drive_halp`.

    Parameters
    ----------
    driver : halp_hw.hdl.host.SystemDriver
        The host port of the simulated system.
    d : int
        Features of the problem (the words of ``z`` read back).
    """

    def __init__(self, driver, d: int):
        self.driver, self.d = driver, d

    @classmethod
    async def loaded(cls, driver, host: HalpHost) -> "AmaranthAccelerator":
        """Program the problem size, step mantissa and sample order, preload the memories and
        seed, as a host does once."""
        from halp_hw.hdl.core import Command

        system, ctx = driver.system, driver.ctx
        ctx.set(system.n, host.problem.n)
        ctx.set(system.d, host.problem.d)
        ctx.set(system.mantissa, host.mantissa)
        ctx.set(system.host_order, host.order is not None)
        await driver.load_data(host.x_ints)
        if host.order is not None:
            await driver.load_order(host.order)
        await driver.command(Command.SEED, host.run.seed)
        return cls(driver, host.problem.d)

    async def load_gradient(self, grad_ints) -> None:
        await self.driver.load_gradient(grad_ints)

    async def recenter(self, exponent: int) -> None:
        from halp_hw.hdl.core import Command

        await self.driver.command(Command.RECENTER, exponent)

    async def run(self, steps: int) -> None:
        from halp_hw.hdl.core import Command

        await self.driver.command(Command.RUN, steps)

    async def read_z(self) -> list:
        return await self.driver.read_z(self.d)

    async def counters(self) -> tuple[int, int]:
        status = self.driver.status()
        return status["saturations"], status["cycles"]


def _run_model(host: HalpHost, on_epoch) -> tuple[Trace, HostLoopRecord, float]:
    accelerator = ModelAccelerator(host.make_model())
    # Not asyncio.run: its Ctrl-C handler only cancels the task at an await that suspends,
    # and the model's never do, so the run would go on; a plain loop lets the interrupt out.
    loop = asyncio.new_event_loop()
    try:
        return host.trace, loop.run_until_complete(drive_halp(host, accelerator, on_epoch)), 0.0
    finally:
        loop.close()


def _run_amaranth(host: HalpHost, on_epoch) -> tuple[Trace, HostLoopRecord, float]:
    from amaranth.sim import Simulator

    from halp_hw.hdl.host import SystemDriver

    start = time.perf_counter()
    system = _system(host)
    outcome = []

    async def bench(ctx):
        accelerator = await AmaranthAccelerator.loaded(SystemDriver(ctx, system), host)
        outcome.append(await drive_halp(host, accelerator, on_epoch))

    simulator = Simulator(system)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    build_seconds = time.perf_counter() - start
    simulator.run()
    return host.trace, outcome[0], build_seconds


def _system(host: HalpHost):
    """The simulation top for ``host``'s run: the core and memories holding its data."""
    from halp_hw.hdl.system import system_for_run

    return system_for_run(host.config, host.memory, n=host.problem.n, d=host.problem.d,
                          order_entries=0 if host.order is None else len(host.order))


def _run_cocotb(backend: str, host: HalpHost, work_dir: Path,
                on_epoch) -> tuple[Trace, HostLoopRecord, float]:
    """The run in a cocotb testbench (``sim/tb_halp_run.py``) on a Verilator or Icarus build;
    the host loop runs inside the simulator process, which reports back as JSON."""
    from halp_hw.golden.datasets import save_problem
    from .simulators import SimulationError, build_design, run_testbench

    work_dir = Path(work_dir).resolve()  # the simulator process runs in another directory
    work_dir.mkdir(parents=True, exist_ok=True)
    problem_file = work_dir / "problem.npz"
    save_problem(host.problem, problem_file)
    print(f"building HALPSystem for {backend} in {work_dir} (cached per design)",
          file=sys.stderr)
    start = time.perf_counter()
    built = build_design(_system(host), simulator=backend, build_root=work_dir)
    build_seconds = time.perf_counter() - start
    params = {"config": dataclasses.asdict(host.config), "run": dataclasses.asdict(host.run),
              "memory": dataclasses.asdict(host.memory), "problem": str(problem_file)}
    results = run_testbench(built, module="tb_halp_run", params=params, name="simulate",
                            on_progress=on_epoch)
    if not results.passed or results.report is None:
        raise SimulationError(f"the {backend} run failed: {results.summary()}")
    report = results.report
    return Trace(**report["trace"]), HostLoopRecord(**report["loop"]), build_seconds


def run_backend(backend: str, problem: Problem, config: HardwareConfig, run: HardwareRun,
                *, memory: MemoryTiming | None = None, work_dir: Path | None = None,
                on_host=None) -> AcceleratorRun:
    """HALP in hardware mode on ``backend``, with a progress bar on stderr.

    Parameters
    ----------
    backend : str
        One of :data:`BACKENDS`.
    problem : Problem
        The least-squares problem (the host's float64 data).
    config : HardwareConfig
        The accelerator build; must hold the problem.
    run : HardwareRun
        Step size, mu, T, epochs, seed and sample order.
    memory : MemoryTiming, optional
        The off-chip memory (default ``MemoryTiming()``).
    work_dir : pathlib.Path, optional
        Where the Verilator/Icarus builds and the simulator process's files go (required for
        those two backends).
    on_host : callable, optional
        Called with the :class:`~halp_hw.golden.hardware.HalpHost` before the run, so that a
        caller can keep its trace (filled as epochs finish on the model and amaranth backends)
        if the run stops early.
    """
    if backend not in BACKENDS:
        raise HalpInputError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend in ("verilator", "icarus"):
        from .simulators import simulator_unavailable_reason

        reason = simulator_unavailable_reason(backend)
        if reason is not None:
            raise HalpInputError(f"backend {backend} cannot run on this machine: {reason}")
    start = time.perf_counter()
    host = HalpHost(problem, config, run, memory)
    host_load_seconds = time.perf_counter() - start
    if on_host is not None:
        on_host(host)
    start = time.perf_counter()
    with _progress(run.epochs, backend) as bar:
        def on_epoch(epoch):
            bar.update(epoch - bar.n)

        if backend == "model":
            outcome = _run_model(host, on_epoch)
        elif backend == "amaranth":
            outcome = _run_amaranth(host, on_epoch)
        elif work_dir is None:
            raise ValueError(f"the {backend} backend needs a work_dir for its build")
        else:
            outcome = _run_cocotb(backend, host, work_dir, on_epoch)
    return AcceleratorRun(*outcome, total_seconds=time.perf_counter() - start,
                          host_load_seconds=host_load_seconds)


def _reference_traces(problem: Problem, config: HardwareConfig, run: HardwareRun) -> dict:
    """Float64 SVRG and real-valued HALP with the accelerator run's hyperparameters."""
    from halp_hw.golden.solvers import HALP, SVRG

    shared = {"step_size": run.step_size, "epoch_length": run.epoch_length}
    solvers = {"svrg": SVRG(**shared), "halp": HALP(bits=config.bits, mu=run.mu, **shared)}
    return {key: solver.run(problem, run.epochs, run.seed) for key, solver in solvers.items()}


def simulate(problem: Problem, config: HardwareConfig, run: HardwareRun, *, backend: str,
             clock_mhz: float, clock_source: str, work_dir: Path,
             on_host=None, memory: MemoryTiming | None = None) -> SimulationOutcome:
    """Run HALP on ``backend``, the performance model, the CPU baseline and the references.

    Parameters
    ----------
    problem, config, run, backend, work_dir, on_host, memory
        As for :func:`run_backend`.
    clock_mhz : float
        The clock of the modeled times.
    clock_source : str
        Where the clock came from (recorded in the report).
    """
    memory = MemoryTiming() if memory is None else memory
    accelerator = run_backend(backend, problem, config, run, memory=memory, work_dir=work_dir,
                              on_host=on_host)
    trace = accelerator.trace
    model = perf.performance_report(config, problem.d, run.epoch_length, run.epochs, clock_mhz,
                                    memory, run.order)
    counted = sum(trace.cycles)
    loop = accelerator.loop
    modeled_run_seconds = model["modeled_seconds"] + loop.host_seconds
    inner_steps = run.epochs * run.epoch_length
    baselines = {(kind, dtype): svrg_baseline(problem, dtype=dtype, step_size=run.step_size,
                                              epoch_length=run.epoch_length, epochs=run.epochs,
                                              seed=run.seed, loop=kind)
                 for kind in BASELINE_LOOPS for dtype in BASELINE_DTYPES}
    references = _reference_traces(problem, config, run)
    findings = diagnose(trace, problem.d, references["svrg"])
    diverged = any_diverged(findings)
    epochs = [
        {"epoch": k, "rel_subopt": trace.rel_subopt[k], "subopt": trace.subopt[k],
         "dist": trace.dist[k], "scale": trace.scale[k], "cycles": trace.cycles[k],
         "saturations": trace.saturations[k], "z": loop.z[k - 1],
         **({trace.test_metric["name"]: trace.test_metric["values"][k]}
            if trace.test_metric else {})}
        for k in range(1, run.epochs + 1)
    ]
    results = {
        "configuration": {
            "problem": problem.name, "n": problem.n, "d": problem.d, "backend": backend,
            "epochs": run.epochs, "epoch_length": run.epoch_length, "step_size": run.step_size,
            "mu": run.mu, "seed": run.seed, "sample_order": run.order, "bits": config.bits, "data_bits": config.data_bits,
            "frac_bits": config.frac_bits, "lanes": config.lanes, "n_max": config.n_max,
            "d_max": config.d_max, "clock_mhz": clock_mhz, "clock_source": clock_source,
            "data_exponent": trace.hyperparameters["data_exponent"],
            "step_mantissa": trace.hyperparameters["step_mantissa"],
        },
        "cycles_per_inner_step": model["cycles_per_inner_step"],
        "bound": model["bound"],
        "roofline": perf.roofline(config, problem.d, memory, clock_mhz, ROOFLINE_BANDWIDTHS,
                                  run.order),
        "initial": {"rel_subopt": trace.rel_subopt[0], "subopt": trace.subopt[0],
                    "dist": trace.dist[0], "scale": trace.scale[0]},
        "epochs": epochs,
        "totals": {
            "inner_steps": inner_steps, "cycles": counted,
            "cycles_match_model": counted == model["cycles_total"],
            "saturations": sum(trace.saturations), "final_rel_subopt": trace.rel_subopt[-1],
            "best_rel_subopt": min(trace.rel_subopt),
            "test_metric": (None if trace.test_metric is None else
                            {"name": trace.test_metric["name"],
                             "final": trace.test_metric["values"][-1]}),
            "build_seconds": accelerator.build_seconds,
            "backend_seconds": accelerator.total_seconds,
            "run_command_seconds": loop.run_seconds,
            "simulated_cycles_per_second": (counted / loop.run_seconds if loop.run_seconds > 0
                                            else None),
        },
        "performance": {
            **model,
            "host_seconds": loop.host_seconds,
            "host_seconds_per_epoch": loop.host_seconds / run.epochs,
            "host_load_seconds": accelerator.host_load_seconds,
            "modeled_run_seconds": modeled_run_seconds,
        },
        "baseline": {
            **{dtype: baselines["numpy", dtype].to_dict() for dtype in BASELINE_DTYPES},
            "compiled": {dtype: baselines["compiled", dtype].to_dict()
                         for dtype in BASELINE_DTYPES},
            # a run that diverged did not do the work the baseline does: no speedup
            "speedup_over_float64_run": (None if diverged else
                                         baselines["numpy", "float64"].seconds
                                         / modeled_run_seconds),
            "speedup_over_float64_inner_steps": (None if diverged else
                                                 model["inner_steps_per_second"]
                                                 / baselines["numpy", "float64"].steps_per_second),
            "speedup_over_compiled_float32_run": (None if diverged else
                                                  baselines["compiled", "float32"].seconds
                                                  / modeled_run_seconds),
        },
        "references": {key: ref.rel_subopt for key, ref in references.items()},
        "diagnosis": [finding.to_dict() for finding in findings],
        "diverged": diverged,
    }
    return SimulationOutcome(results, {"halp_hw": trace, **references})


def _plot_cycles(results: dict, path: Path) -> None:
    """Counted cycles per epoch against the performance model's prediction."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    config, model = results["configuration"], results["performance"]
    figure = Figure(figsize=(7.0, 4.0), dpi=120, layout="constrained")
    axes = figure.add_subplot()
    axes.bar([e["epoch"] for e in results["epochs"]], [e["cycles"] for e in results["epochs"]],
             color="C3", label=f"counted by the accelerator ({config['backend']})")
    axes.axhline(model["cycles_per_epoch"], color="k", linestyle="--",
                 label=f"performance model: T x {model['cycles_per_inner_step']} cycles")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, 1.3 * model["cycles_per_epoch"])
    axes.set_xlabel("epoch k")
    axes.set_ylabel("accelerator cycles")
    axes.set_title(f"cycles per epoch: d={config['d']}, {config['lanes']} lanes, "
                   f"{model['cycles_per_inner_step']} cycles per inner step, "
                   f"MAC utilization {model['mac_utilization']:.0%}", fontsize=10)
    axes.legend(loc="upper right")
    figure.savefig(path)


def _plot_roofline(results: dict, path: Path) -> None:
    """Inner steps per second against the memory bandwidth, the compute ceiling, and the
    configured memory marked."""
    from matplotlib.figure import Figure

    config, model, line = results["configuration"], results["performance"], results["roofline"]
    memory = model["memory"]
    figure = Figure(figsize=(7.0, 4.2), dpi=120, layout="constrained")
    axes = figure.add_subplot()
    axes.plot(line["bytes_per_cycle"], line["inner_steps_per_second"], "o-", color="C0",
              label=f"model: latency {memory['latency']} cycles, burst {memory['burst_bytes']} B")
    axes.axhline(line["compute_ceiling"], color="k", linestyle="--",
                 label=f"compute ceiling: ceil(d/L) + {model['pipeline_latency']} cycles")
    axes.plot([memory["bytes_per_cycle"]], [model["inner_steps_per_second"]], "*", color="C3",
              markersize=14, label=f"configured: {memory['bytes_per_cycle']} B/cycle "
                                   f"({model['bound']}-bound)")
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("memory bandwidth (bytes per cycle)")
    axes.set_ylabel(f"inner steps / s at {config['clock_mhz']:g} MHz")
    axes.set_title(f"roofline: d={config['d']}, {config['lanes']} lanes x "
                   f"{config['data_bits']}-bit data, {config['sample_order']} sample order",
                   fontsize=10)
    axes.legend(loc="lower right", fontsize=8)
    figure.savefig(path)


def write_report(outcome: SimulationOutcome, out_dir: Path) -> list:
    """Write ``results.json``, ``convergence.png``, ``cycles.png`` and ``roofline.png``; return
    their paths."""
    from halp_hw.plots import plot_convergence

    results, config = outcome.results, outcome.results["configuration"]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "results.json", out_dir / "convergence.png", out_dir / "cycles.png",
             out_dir / "roofline.png"]
    paths[0].write_text(json.dumps(results, indent=1) + "\n")
    plot_convergence(outcome.traces, paths[1],
                     f"HALP on the accelerator ({config['backend']} backend, {config['bits']}-bit, "
                     f"{config['lanes']} lanes)\nvs golden float64 SVRG and real-valued HALP\n"
                     f"{config['problem']} N={config['n']}, d={config['d']}, "
                     f"T={config['epoch_length']}, alpha={config['step_size']:g}, "
                     f"mu={config['mu']:g}, seed {config['seed']}")
    _plot_cycles(results, paths[2])
    _plot_roofline(results, paths[3])
    return paths
