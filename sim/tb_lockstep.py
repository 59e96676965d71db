"""The RTL and the golden model of ``tb_core`` behind one accelerator interface, in lockstep.

:class:`LockstepAccelerator` gives :func:`halp_hw.runtime.backends.drive_halp` and the scenarios
of ``tb_core`` the accelerator interface of ``tb_halp_run.CocotbAccelerator``; every command goes
to the RTL and to a golden :class:`halp_hw.golden.hardware.AcceleratorModel`, and each
comparison point checks the RTL's ``z``, counters and scale register against the model's. It
also samples the functional coverage of ``tb_coverage`` per command and per golden inner step.
"""

from __future__ import annotations

import copy

import numpy as np

from halp_hw.golden.hardware import HalpHost
from halp_hw.hdl.core import Command
from tb_coverage import CoreCoverage
from tb_halp_run import CocotbAccelerator
from tb_support import Scoreboard, lane_update

__all__ = ["LockstepAccelerator"]


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
    coverage : CoreCoverage
        The cover items sampled per command and per golden step.
    host : HalpHost
        The run's host (its memory timing and sample order set the stall bins).

    Attributes
    ----------
    iterates_compared : int
        How many times ``z`` was compared.
    previous : str or None
        The last command issued (None before the first).
    state : str
        The control FSM state in which the next command meets the core.
    waited : bool
        The last command was waited for: the core must be ready (``cmd_ready`` high).
    """

    def __init__(self, rtl: CocotbAccelerator, model, board: Scoreboard, every_step: bool,
                 phase: str, exact_cycles: bool, coverage: CoreCoverage, host: HalpHost):
        self.rtl, self.model, self.board, self.every_step = rtl, model, board, every_step
        self.phase, self.exact_cycles = phase, exact_cycles
        self.coverage, self.host = coverage, host
        self.order = "xorshift" if host.order is None else "host"
        self.epoch = 0
        self.iterates_compared = 0
        self.previous, self.state = None, "IDLE"
        self.waited = True  # the last command was waited for (start_core's SEED)
        self.held = None  # exponent and epoch when the last waited command had finished

    async def command(self, op: Command, arg: int, wait: bool = True) -> None:
        """Issue ``op`` to the RTL, sampling its coverage; without ``wait`` the next command
        meets the core still in SEED or RUN."""
        if self.previous is not None:
            self.coverage.command(self.previous, op, arg, self.state)
        else:
            self.coverage.command("reset", op, arg, self.state)
        dut = self.rtl.dut
        if self.waited:  # the host port's contract: once ready, ready until the next command
            cycle, context = int(dut.cycles.value), f"{self.phase}, before {op.name}"
            self.board.check(cycle, "cmd_ready while idle", 1, int(dut.cmd_ready.value),
                             context)
            if self.held is not None:  # and the scale registers keep their values
                self.board.check(cycle, "exponent and epoch while idle", self.held,
                                 [dut.exponent.value.to_signed(), int(dut.epoch.value)],
                                 context)
        await self.rtl.command(op, arg, wait)
        self.held = [dut.exponent.value.to_signed(), int(dut.epoch.value)] if wait else None
        self.waited = wait
        self.previous = op.name
        busy = op is Command.SEED or (op is Command.RUN and arg > 0)
        self.state = op.name if busy and not wait else "IDLE"

    async def load_gradient(self, grad_ints) -> None:
        self.model.load_gradient(grad_ints)
        await self.rtl.load_gradient(grad_ints)

    async def load_sample_values(self, values) -> None:
        self.model.load_sample_values(values)
        await self.rtl.load_sample_values(values)

    async def recenter(self, exponent: int) -> None:
        self.model.recenter(exponent)
        await self.command(Command.RECENTER, exponent)
        self.epoch += 1
        await self._check_scale()

    async def _check_scale(self) -> None:
        dut, cycle = self.rtl.dut, int(self.rtl.dut.cycles.value)
        context = f"{self.phase}, after the recenter of epoch {self.epoch}"
        self.board.check(cycle, "exponent", self.model.exponent, dut.exponent.value.to_signed(),
                         context)
        self.board.check(cycle, "epoch", self.epoch, int(dut.epoch.value), context)

    async def run(self, steps: int, wait: bool = True) -> None:
        """RUN ``steps`` on both and compare (RUN 1 and a comparison per step with
        ``every_step``); without ``wait``, one RUN the next command meets, not compared."""
        if not wait:
            for _ in range(steps):
                self._golden_step()
            self._count_run(steps)
            await self.command(Command.RUN, steps, wait=False)
        elif self.every_step:
            for _ in range(steps):
                self._golden_step()
                self._count_run(1)
                await self.command(Command.RUN, 1)
                await self.compare(f"{self.phase}, epoch {self.epoch}, "
                                    f"inner step {self.model.steps}")
        else:
            for _ in range(steps):
                self._golden_step()
            self._count_run(steps)
            await self.command(Command.RUN, steps)
            await self.compare(f"{self.phase}, epoch {self.epoch}, "
                                f"after inner step {self.model.steps}")

    def _count_run(self, steps: int) -> None:
        """The golden cycles of a RUN of ``steps`` (made with ``_golden_step``), and its
        stalls."""
        self.model.count_run(steps)
        self.coverage.run(steps, self.model.d, self.model.memory, self.order)

    async def read_z(self) -> list:
        return await self.rtl.read_z()

    async def full_gradient(self) -> None:
        """FULL_GRADIENT on both; then the scale register, the counters, ``z`` (cleared) and
        the gradient memory ``G``."""
        self.model.full_gradient()
        self.held = None  # the epoch unit changes the scale
        await self.rtl.full_gradient()
        self.epoch += 1
        await self._check_scale()
        context = f"{self.phase}, epoch {self.epoch}, after FULL_GRADIENT"
        await self.compare(context)
        self.board.check_lanes(int(self.rtl.dut.cycles.value), "G", self.model.grad,
                               await self.rtl.read_gradient(), context)

    async def update_center(self) -> None:
        """UPDATE_CENTER on both; then the counters, ``z`` and the center."""
        self.model.update_center()
        self.held = None  # the epoch unit changes the scale
        await self.rtl.update_center()
        context = f"{self.phase}, epoch {self.epoch}, after UPDATE_CENTER"
        await self.compare(context)
        center, _ = await self.rtl.read_center()
        self.board.check_lanes(int(self.rtl.dut.cycles.value), "center", self.model.center,
                               center, context)

    async def read_center(self) -> tuple[list, int]:
        return await self.rtl.read_center()

    async def counters(self) -> tuple[int, int]:
        return await self.rtl.counters()

    def seed(self, seed: int, wait: bool = True):
        """SEED both (:meth:`AcceleratorModel.seed`: the golden model keeps its loss
        parameters and per-sample values, as the core does)."""
        self.model.seed(seed)
        self.epoch = 0
        return self.command(Command.SEED, seed, wait)

    def _golden_step(self) -> None:
        """One golden step, sampling its saturations, rounding carries and last beat
        (the random bits read ahead from a copy of the golden streams)."""
        model, config = self.model, self.model.config
        z_before = model.z.copy()
        random = copy.deepcopy(model.lane_random).draw(config.beats(model.d)).reshape(-1)
        sample = model.step()
        row = model.x[sample]
        coef = model.coefficient(int(row @ z_before), sample)
        z_new, saturated, carries = lane_update(config, z_before, row, coef, model.grad,
                                                random[:model.d], model.decay)
        if not np.array_equal(z_new, model.z):  # the sampled arithmetic is the model's
            raise AssertionError("the testbench's lane update differs from the golden model")
        self.coverage.step(z_new, saturated, carries, model.d)

    async def compare(self, context: str) -> None:
        """Compare the counters and ``z`` with the golden model's."""
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
                "golden_cycles": self.model.cycles, "steps": int(dut.steps.value)}
