"""The accelerators behind the host loop: the golden model and the RTL on every simulator.

The host loop is :class:`halp_hw.golden.hardware.HalpHost` on every backend; what changes is the
accelerator behind it (:func:`drive_halp` drives each one the same way). ``model`` is the golden
:class:`halp_hw.golden.hardware.AcceleratorModel` (fast); ``verilator``, ``icarus`` and
``amaranth`` run the RTL of :class:`halp_hw.hdl.core.HALPCore` with its off-chip memory models
(:class:`halp_hw.hdl.system.HALPSystem`), both of the same
:class:`halp_hw.golden.memory.MemoryTiming` as the golden model's cycle count. Every backend
returns the same record (trace, and ``z`` after every epoch), so the same seed gives the same
numbers whatever the backend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from halp_hw.golden.epoch import make_host
from halp_hw.golden.hardware import AcceleratorModel, HalpHost, HardwareConfig, HardwareRun
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.problems import Problem
from halp_hw.golden.trace import Trace
from halp_hw.golden.validation import HalpInputError

__all__ = ["BACKENDS", "RTL_BACKENDS", "HostLoopRecord", "AcceleratorRun", "drive_halp",
           "ModelAccelerator", "AmaranthAccelerator", "run_backend"]


#: The accelerators ``halp-hw simulate`` can run on.
BACKENDS = ("model", "verilator", "icarus", "amaranth")



#: The backends that simulate the RTL.
RTL_BACKENDS = BACKENDS[1:]



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
        Wall time of the run commands (and, with the full gradient on the accelerator, its
        FULL_GRADIENT and UPDATE commands): the simulation alone.
    run_cpu_seconds : float
        CPU time of the process that simulates (``time.process_time``) during the run
        commands: the simulation's cost independent of what else the machine runs.
    center : list of float
        The center at the end of the run (with the full gradient on the accelerator, the one
        read back from it); kept here because an RTL run's host lives in the simulator process.
    """

    z: list
    host_seconds: float
    run_seconds: float
    run_cpu_seconds: float
    center: list



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



def _progress(total: int, backend: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"HALP on {backend}", unit="epoch", file=sys.stderr,
                leave=False)



async def drive_halp(host: HalpHost, accelerator, on_epoch=None) -> HostLoopRecord:
    """The host loop of hardware-mode HALP, the same for every backend.

    ``accelerator`` has async ``load_gradient(grad_ints)``, ``load_sample_values(values)``
    (logistic and SVM builds), ``recenter(exponent)``, ``run(steps)``, ``read_z()`` and
    ``counters() -> (saturations, cycles)`` (counted since reset); its data, step mantissa and
    seed are loaded already. With the full gradient on the accelerator (``host.begin_epoch()``
    returns None) it also has ``full_gradient()``, ``update_center()`` and
    ``read_center() -> (center ints, exponent)``, and the gradient load and recenter are its
    own. ``on_epoch(k)`` is called after each epoch.
    """
    host.problem.optimum  # solved once for the trace's suboptimality: reporting, not host work
    z_per_epoch, host_seconds, run_seconds, run_cpu_seconds = [], 0.0, 0.0, 0.0
    for epoch in range(1, host.run.epochs + 1):
        start = time.perf_counter()
        inputs = host.begin_epoch()  # None: the accelerator computes the full gradient
        host_seconds += time.perf_counter() - start
        saturations, cycles = await accelerator.counters()
        if inputs is not None:
            await accelerator.load_gradient(inputs.grad_ints)
            if inputs.sample_values.size:
                await accelerator.load_sample_values(inputs.sample_values)
            await accelerator.recenter(inputs.exponent)
        start, cpu_start = time.perf_counter(), time.process_time()
        if inputs is None:
            await accelerator.full_gradient()
        await accelerator.run(host.run.epoch_length)
        if inputs is None:
            await accelerator.update_center()
        run_seconds += time.perf_counter() - start
        run_cpu_seconds += time.process_time() - cpu_start
        z = await accelerator.read_z()
        saturations_after, cycles_after = await accelerator.counters()
        if inputs is None:
            center, exponent = await accelerator.read_center()
            host.end_epoch_on_chip(center, exponent, saturations_after - saturations,
                                   cycles_after - cycles)
        else:
            host.end_epoch(np.array(z, dtype=np.int64), saturations_after - saturations,
                           cycles_after - cycles)
        z_per_epoch.append([int(value) for value in z])
        if on_epoch is not None:
            on_epoch(epoch)
    return HostLoopRecord(z_per_epoch, host_seconds, run_seconds, run_cpu_seconds,
                          [float(value) for value in host.center])



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

    async def load_sample_values(self, values) -> None:
        self.model.load_sample_values(values)

    async def recenter(self, exponent: int) -> None:
        self.model.recenter(exponent)

    async def run(self, steps: int) -> None:
        self.model.run(steps)

    async def read_z(self) -> list:
        return self.model.z.tolist()

    async def counters(self) -> tuple[int, int]:
        return self.model.saturations, self.model.cycles

    async def full_gradient(self) -> None:
        self.model.full_gradient()

    async def update_center(self) -> None:
        self.model.update_center()

    async def read_center(self) -> tuple[list, int]:
        return self.model.center.tolist(), self.model.exponent



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
        seed, as a host does once (and set the memories' timing, a system that has it as
        inputs)."""
        from halp_hw.hdl.core import Command
        from halp_hw.hdl.system import timing_inputs

        system, ctx = driver.system, driver.ctx
        if system.timing is None:
            for port, value in timing_inputs(host.memory).items():
                ctx.set(getattr(system, port), value)
        ctx.set(system.n, host.problem.n)
        ctx.set(system.d, host.problem.d)
        ctx.set(system.mantissa, host.mantissa)
        for name in ("coef_shift", "margin_shift", "decay"):
            if hasattr(system, name):
                ctx.set(getattr(system, name), getattr(host.step, name))
        ctx.set(system.host_order, host.order is not None)
        if hasattr(host, "constants"):  # the epoch on chip
            await driver.load_epoch(host)
        await driver.load_data(host.x_ints)
        if host.order is not None:
            await driver.load_order(host.order)
        await driver.command(Command.SEED, host.run.seed)
        return cls(driver, host.problem.d)

    async def load_gradient(self, grad_ints) -> None:
        await self.driver.load_gradient(grad_ints)

    async def load_sample_values(self, values) -> None:
        await self.driver.load_sample_values(values, self.d)

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

    async def full_gradient(self) -> None:
        from halp_hw.hdl.epoch_unit import EPOCH_COMMAND, EpochOp

        await self.driver.command(EPOCH_COMMAND, EpochOp.FULL_GRADIENT.value)

    async def update_center(self) -> None:
        from halp_hw.hdl.epoch_unit import EPOCH_COMMAND, EpochOp

        await self.driver.command(EPOCH_COMMAND, EpochOp.UPDATE_CENTER.value)

    async def read_center(self) -> tuple[list, int]:
        return await self.driver.read_center(self.d), self.driver.status()["exponent"]



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
    """The simulation top for ``host``'s run: the core and memories holding its data, their
    timing an input (one build serves every timing)."""
    from halp_hw.hdl.system import system_for_run

    return system_for_run(host.config, None, n=host.problem.n, d=host.problem.d,
                          order_entries=0 if host.order is None else len(host.order),
                          full_gradient=host.run.full_gradient == "accelerator")



def _run_cocotb(backend: str, host: HalpHost, work_dir: Path,
                on_epoch) -> tuple[Trace, HostLoopRecord, float]:
    """The run in a cocotb testbench (``sim/tb_halp_run.py``) on a Verilator or Icarus build;
    the host loop runs inside the simulator process, which reports back as JSON."""
    from .simulators import SimulationError, build_design, problem_file, run_testbench

    work_dir = Path(work_dir).resolve()  # the simulator process runs in another directory
    saved_problem = problem_file(host.problem, work_dir)
    print(f"building HALPSystem for {backend} in {work_dir} (cached per design)",
          file=sys.stderr)
    start = time.perf_counter()
    built = build_design(_system(host), simulator=backend, build_root=work_dir)
    build_seconds = time.perf_counter() - start
    params = {"config": dataclasses.asdict(host.config), "run": dataclasses.asdict(host.run),
              "memory": dataclasses.asdict(host.memory), "problem": str(saved_problem)}
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
    host = make_host(problem, config, run, memory)
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
