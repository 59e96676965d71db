"""HALPCore with its memories against the golden hardware mode, in lockstep: whole training runs
and extreme values.

The RTL (:class:`halp_hw.hdl.system.HALPSystem`: the core, its data and order memory models of
``params["memory"]``, a :class:`halp_hw.golden.memory.MemoryTiming`) and a golden :class:`halp_hw.golden.hardware.AcceleratorModel` receive the same commands. After
every inner step (``compare: "step"``: RUN 1, then read ``z`` back) or every epoch
(``compare: "epoch"``: one RUN of T steps, waiting for ``busy`` to fall) the testbench compares
``z``, and the ``steps``, ``saturations`` and ``cycles`` counters; after every recenter the
``exponent`` and ``epoch`` registers. The first difference is reported with the accelerator cycle
(the RTL's ``cycles`` counter), the epoch and the step. ``params["cycles"]`` is ``exact`` (the
default: RTL cycles == golden cycles) or ``at_least`` (for a memory with random extra delays,
which the golden timing does not know: RTL cycles >= golden cycles).

Scenarios (``params["scenarios"]``, run in order, each after a reset; the report has one
entry per scenario under ``phases``):

``training``
    The host loop of :func:`halp_hw.runtime.backends.drive_halp` (:class:`halp_hw.golden.hardware.HalpHost`:
    full gradient, power-of-two scale, gradient memory, recenter) on the problem in
    ``params["problem"]`` (an ``.npz`` of :func:`halp_hw.golden.datasets.save_problem`), or else
    the paper's synthetic least-squares problem of ``n``, ``d`` and ``problem_seed``. The report
    adds ``rel_subopt`` per epoch.
``extremes``
    (with ``params["extremes_run"]`` overriding fields of the run, e.g. fewer steps)
    Data at the extremes of ``data_bits`` (min and max only), the largest step mantissa,
    gradient words at the extremes of ``grad_width``, and exponents at both ends of the
    exponent register: every update saturates one way or the other, and the dot products
    reach the extremes of ``dot_width``.
``random``
    (with ``params["random_run"]`` overriding fields of the run) One phase per random stream
    (the sample stream and each lane's), seeded with the one user seed that makes that
    stream's first state zero (the PRNG then starts from its key), on ``d - 1`` features
    (the other parity of ``d`` than the training run: odd lane counts in the last beat), with
    uniform random data, gradient words that put each epoch's first update on a rounding
    boundary (see :func:`run_random`), random step mantissas and exponents, and random junk
    in the memory lanes past ``d`` (which the core must ignore). Each epoch is one RUN of T
    steps whatever ``compare`` says (the control FSM's step counter then counts down from T).
    Summaries are ``random0``, ``random1``, ...

One progress line per epoch goes to ``tb_support.report_progress``.

Coverage counted per run: ``saturations`` (the RTL counter), ``recenters``, ``rounding_carries``
(updates where the random bits carried into the kept bits, from the golden arithmetic) and
``partial_last_beats`` (passes whose last beat has masked lanes, d mod L != 0).
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter

import cocotb
import numpy as np
from cocotb.triggers import SimTimeoutError, with_timeout

from halp_hw.golden.data import paper_linreg
from halp_hw.golden.datasets import read_problem
from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.hardware import STEP_MANTISSA_BITS, HalpHost, HardwareRun
from halp_hw.golden.prng import stream_key
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.problems import make_problem
from halp_hw.hdl.centering import EXPONENT_BITS
from halp_hw.runtime.backends import drive_halp
from tb_halp_run import CocotbAccelerator
from tb_support import (CLOCK_PERIOD_NS, Scoreboard, hardware_config, lane_update, params,
                        report_progress, reset)

#: A phase that takes this many times its expected cycles has hung (e.g. ``busy`` never falls).
HANG_FACTOR = 10


class LockstepAccelerator:
    """The RTL and the golden model behind :func:`drive_halp`'s accelerator interface.

    Every command goes to both; the RTL's ``z`` and counters are what the host sees, and each
    comparison point checks them against the model.

    Parameters
    ----------
    rtl : CocotbAccelerator
        The core's host port, loaded with the data and seeded.
    model : AcceleratorModel
        The golden accelerator, loaded with the same data, mantissa and seed.
    board : Scoreboard
        Where comparisons go.
    every_step : bool
        Compare after every inner step (RUN 1 each) instead of after every RUN.
    phase : str
        The scenario's name, first in every mismatch context.
    exact_cycles : bool
        Compare the cycle counter for equality; otherwise check RTL >= golden.

    Attributes
    ----------
    iterates_compared : int
        How many times ``z`` was compared.
    coverage : collections.Counter
        This phase's coverage events.
    """

    def __init__(self, rtl: CocotbAccelerator, model, board: Scoreboard, every_step: bool,
                 phase: str, exact_cycles: bool = True):
        self.rtl, self.model, self.board, self.every_step = rtl, model, board, every_step
        self.phase, self.exact_cycles = phase, exact_cycles
        self.epoch = 0
        self.iterates_compared = 0
        self.coverage: Counter = Counter()

    async def load_gradient(self, grad_ints) -> None:
        self.model.load_gradient(grad_ints)
        await self.rtl.load_gradient(grad_ints)

    async def recenter(self, exponent: int) -> None:
        self.model.recenter(exponent)
        await self.rtl.recenter(exponent)
        self.epoch += 1
        self.coverage["recenters"] += 1
        dut, cycle = self.rtl.dut, int(self.rtl.dut.cycles.value)
        context = f"{self.phase}, after the recenter of epoch {self.epoch}"
        self.board.check(cycle, "exponent", self.model.exponent, dut.exponent.value.to_signed(),
                         context)
        self.board.check(cycle, "epoch", self.epoch, int(dut.epoch.value), context)

    async def run(self, steps: int) -> None:
        if self.every_step:
            for _ in range(steps):
                self._golden_step()
                self.model.count_run(1)
                await self.rtl.run(1)
                await self._compare(f"{self.phase}, epoch {self.epoch}, "
                                    f"inner step {self.model.steps}")
        else:
            for _ in range(steps):
                self._golden_step()
            self.model.count_run(steps)
            await self.rtl.run(steps)
            await self._compare(f"{self.phase}, epoch {self.epoch}, "
                                f"after inner step {self.model.steps}")

    async def read_z(self) -> list:
        return await self.rtl.read_z()

    async def counters(self) -> tuple[int, int]:
        return await self.rtl.counters()

    def _golden_step(self) -> None:
        """One golden step, counting the updates whose random bits carried into the kept bits."""
        model, config = self.model, self.model.config
        z_before, saturations_before = model.z.copy(), model.saturations
        row = model.x[model.step()]
        coef = model.coefficient(int(row @ z_before))
        truncated, _, _ = lane_update(config, z_before, row, coef, model.grad, 0)
        self.coverage["rounding_carries"] += int(np.count_nonzero(model.z != truncated))
        self.coverage["saturations"] += model.saturations - saturations_before
        self.coverage["partial_last_beats"] += int(model.d % config.lanes != 0)

    async def _compare(self, context: str) -> None:
        board, model, dut = self.board, self.model, self.rtl.dut
        cycle = int(dut.cycles.value)
        if self.exact_cycles:
            board.check(cycle, "cycles", model.cycles, cycle, context)
        else:
            board.check(cycle, "cycles >= golden cycles", True, cycle >= model.cycles, context)
        board.check(cycle, "steps", model.steps, int(dut.steps.value), context)
        board.check(cycle, "saturations", model.saturations, int(dut.saturations.value), context)
        board.check_lanes(cycle, "z", model.z, await self.rtl.read_z(), context)
        self.iterates_compared += 1

    def summary(self) -> dict:
        """This phase's numbers for the report."""
        dut = self.rtl.dut
        return {"iterates_compared": self.iterates_compared, "cycles": int(dut.cycles.value),
                "golden_cycles": self.model.cycles, "steps": int(dut.steps.value),
                "coverage": dict(self.coverage)}


async def start_core(dut, host: HalpHost, padding_rng=None) -> CocotbAccelerator:
    """Reset (the clock runs), then load the data, problem size, mantissa and seed of ``host``
    (with random junk past ``d`` in the memories when ``padding_rng`` is given)."""
    await reset(dut, CocotbAccelerator.IDLE_INPUTS)
    rtl = CocotbAccelerator(dut, host.config, host.problem.d, padding_rng)
    await rtl.load(host)
    return rtl


def extreme_inputs(host: HalpHost, rng: np.random.Generator) -> None:
    """Replace the host's data and step by the extremes of their widths (in place)."""
    config = host.config
    host.x_ints = rng.choice(int_range(config.data_bits), size=host.x_ints.shape)
    host.mantissa = (1 << STEP_MANTISSA_BITS) - 1


async def run_extremes(host: HalpHost, lockstep: LockstepAccelerator, rng) -> None:
    """Epochs of extreme gradients and exponents (both ends of the register)."""
    config = host.config
    exponents = [*int_range(EXPONENT_BITS), 0]
    for epoch in range(host.run.epochs):
        grad = rng.choice([*int_range(config.grad_width), 0], size=host.problem.d)
        await lockstep.load_gradient(grad)
        await lockstep.recenter(exponents[epoch % len(exponents)])
        await lockstep.run(host.run.epoch_length)
        report_progress(f"extremes epoch {epoch + 1}")


async def run_random(host: HalpHost, lockstep: LockstepAccelerator, rng) -> None:
    """Epochs of random exponents and of gradients that put the first update of the epoch on
    a rounding boundary.

    After a recenter ``z`` and the coefficient are 0, so the epoch's first update of feature
    ``j`` is ``floor((r_j - G_j) / 2**F)``, where ``r_j`` is the lane's next random draw (read
    ahead from a copy of the golden streams). ``G_j = r_j + k_j 2**F`` (even epochs) or
    ``r_j - 2**F + 1 + k_j 2**F`` (odd epochs) with random ``k_j``: any change of ``G`` by one
    LSB (in the memory, the lane or the rounder) moves the result, which a random ``G`` would
    do only with probability about ``2**-F``.
    """
    config, d = host.config, host.problem.d
    low, high = int_range(EXPONENT_BITS)
    for epoch in range(host.run.epochs):
        ahead = copy.deepcopy(lockstep.model.lane_random)
        random = ahead.draw(config.beats(d)).reshape(-1)[:d]
        offset = 0 if epoch % 2 == 0 else 1 - (1 << config.frac_bits)
        whole = rng.integers(-(1 << (config.bits - 1)), 1 << (config.bits - 1), size=d)
        grad = random + offset + (whole << config.frac_bits)
        await lockstep.load_gradient(grad)
        await lockstep.recenter(int(rng.integers(low, high + 1)))
        await lockstep.run(host.run.epoch_length)
        report_progress(f"random epoch {epoch + 1}")


def random_inputs(host: HalpHost, rng: np.random.Generator) -> None:
    """Replace the host's data and step by uniform random ones (in place)."""
    low, high = int_range(host.config.data_bits)
    host.x_ints = rng.integers(low, high + 1, size=host.x_ints.shape)
    host.mantissa = max(1, int(rng.integers(1, 1 << STEP_MANTISSA_BITS))
                        >> int(rng.integers(0, 12)))


def scenario_phases(p: dict, config) -> list[tuple[str, str, HardwareRun, int]]:
    """``(phase name, scenario, run, d)`` of every phase of ``p["scenarios"]``, in order."""
    run = HardwareRun(**p["run"])
    phases = []
    for scenario in p["scenarios"]:
        if scenario == "training":
            phases.append((scenario, scenario, run, p["d"]))
        elif scenario == "extremes":
            extremes_run = dataclasses.replace(run, **p.get("extremes_run", {}))
            phases.append((scenario, scenario, extremes_run,
                           p["d"]))
        elif scenario == "random":
            random_run = dataclasses.replace(run, **p.get("random_run", {}))
            phases += [(f"random{stream}", scenario,
                        dataclasses.replace(random_run, seed=stream_key(stream)),
                        max(1, p["d"] - 1)) for stream in range(config.lanes + 1)]
        else:
            raise ValueError(f"unknown scenario {scenario!r}")
    return phases


def phase_problem(p: dict, d: int):
    """The problem of a phase on ``d`` features: the run's problem file (its first ``d``
    features) if one was given, else the paper problem of ``p["n"]`` samples."""
    if "problem" not in p:
        return paper_linreg(p["n"], d, p["problem_seed"])
    problem = read_problem(p["problem"])
    if d == problem.d:
        return problem
    return make_problem(problem.name, problem.X[:, :d], problem.y, problem.l2)


def cycle_budget(host: HalpHost) -> int:
    """Generous cycles for a phase: memory preload, seed, and per step the run, the settle of
    the fetches in flight plus a ``z`` read-back."""
    config, run, model = host.config, host.run, host.make_model()
    words = config.words_per_row
    preload = host.problem.n * words + (0 if host.order is None else len(host.order))
    # a RUN of one step, then the settle: the rows and order entries in flight arrive
    settle = host.memory.read_cycles(words, config.lanes * config.data_bits) + host.memory.latency
    per_step = model.cycles_per_step + settle + words + 8
    return HANG_FACTOR * (preload + 4 * per_step
                          + run.epochs * (run.epoch_length * per_step + words + 8))


async def run_phase(dut, scenario: str, host: HalpHost, board: Scoreboard, every_step: bool,
                    rng, name: str | None = None, exact_cycles: bool = True) -> dict:
    """Reset and load the core, run one scenario in lockstep; return its summary."""
    rtl = await start_core(dut, host, padding_rng=rng if scenario == "random" else None)
    every_step = every_step and scenario != "random"  # a RUN of T: steps_left counts down
    lockstep = LockstepAccelerator(rtl, host.make_model(), board, every_step, name or scenario,
                                   exact_cycles)
    if scenario in ("extremes", "random"):
        await (run_extremes if scenario == "extremes" else run_random)(host, lockstep, rng)
        summary = lockstep.summary()
    else:
        def on_epoch(epoch):
            report_progress(f"training epoch {epoch}")

        await drive_halp(host, lockstep, on_epoch)
        summary = {**lockstep.summary(), "rel_subopt": host.trace.rel_subopt}
    board.coverage.update(lockstep.coverage)
    return summary


async def run_regression(dut, p: dict, board: Scoreboard) -> dict:
    """Every phase of ``p["scenarios"]`` in order, each after a reset (the clock runs);
    return their summaries by name. A phase that overruns its cycle budget fails."""
    config = hardware_config(p["config"])
    memory = MemoryTiming(**p.get("memory", {}))
    exact_cycles = p.get("cycles", "exact") == "exact"
    phases = {}
    for name, scenario, run, d in scenario_phases(p, config):
        problem = phase_problem(p, d)
        host = HalpHost(problem, config, run, memory)
        rng = np.random.default_rng(run.seed)
        if scenario == "extremes":
            extreme_inputs(host, rng)
        elif scenario == "random":
            random_inputs(host, rng)
        budget = cycle_budget(host)
        phase = cocotb.start_soon(run_phase(dut, scenario, host, board, p["compare"] == "step",
                                            rng, name, exact_cycles))
        try:
            phases[name] = await with_timeout(phase, budget * CLOCK_PERIOD_NS, "ns")
        except SimTimeoutError:
            phase.cancel()  # it would go on driving the core
            raise AssertionError(f"{name}: the core did not finish within {budget} cycles "
                                 "(busy or cmd_ready stuck?)") from None
    return phases


@cocotb.test()
async def core_matches_golden(dut):
    p = params()
    board = Scoreboard(p.get("report"))
    board.extra["phases"] = await run_regression(dut, p, board)
    board.finish()
