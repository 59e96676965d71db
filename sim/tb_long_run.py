"""The ``long`` scenario of ``tb_core``: the high bits of the core's counters and of its command
argument, which no short phase reaches.

The status counters (``steps``, ``saturations``, ``cycles``), the step counter a RUN counts down
from its argument and the epoch register only carry into their high bits after long runs. This
phase issues as many recenters as its run has epochs (:data:`LONG_RECENTERS` unless the
parameters say more: the epoch register's bits up to 12, or with ``2**15 + 8`` up to its top
bit; the scale registers checked after each of the first :data:`CHECKED_RECENTERS` and after
the last), then one RUN
of ``2**k`` steps for every ``k < LONG_RUN_BITS`` (each argument a single bit: the step
counter's load and test of every argument bit below ``LONG_RUN_BITS``), on gradients at the top
of their range, so that every update saturates. ``steps`` then reaches ``2**LONG_RUN_BITS - 1``,
``saturations`` ``d`` times that and ``cycles`` about ten times that. The golden model runs the
steps in its compiled kernel (:meth:`AcceleratorModel.run`), without per-step coverage
sampling; ``z``, the counters and the scale register are compared after every RUN.

The step counter's bits from ``LONG_RUN_BITS`` up are tested without running that long: for
each such bit ``b``, after a reset and a SEED, a RUN of ``2**b +`` :data:`HIGH_RUN_STEPS`
steps must still be busy after ``HIGH_RUN_STEPS + 2`` steps (a counter that lost bit ``b``
would end it after ``HIGH_RUN_STEPS``); and for every bit ``b`` from 2 up, a RUN of
``2**b + 1`` steps must be busy after 3 (a RUN command that tested its argument against 1 on
fewer bits would take it for a single step). These come first; a reset and the phase's SEED then
bring the core back to where the phase started (the memories keep their words).

Last, the order position's high bits: a SEED on a host-given order of ``T`` random entries
(the run's ``epoch_length``: :data:`LONG_HOST_STEPS` unless the parameters say more, e.g.
``2**13 + 64`` in the mutation campaign), the gradient and scale of a training epoch (so that
``z`` stays inside its range and depends on every row it uses) and one RUN of ``T`` steps.
"""

from __future__ import annotations

from cocotb.triggers import FallingEdge

from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.memory import run_cycles
from halp_hw.hdl.core import COMMAND_ARG_BITS, Command
from tb_boundary import choose_order
from tb_halp_run import CocotbAccelerator
from tb_support import report_progress, reset

__all__ = ["HIGH_RUN_STEPS", "LONG_HOST_STEPS", "LONG_RECENTERS", "LONG_RUN_BITS", "long_budget",
           "run_long"]

#: Recenters before the runs, unless the parameters ask for more: the epoch register counts
#: past 2**12.
LONG_RECENTERS = (1 << 12) + 8
#: RUNs of 1, 2, 4, ... 2**(LONG_RUN_BITS - 1) steps.
LONG_RUN_BITS = 16
#: The low part of the arguments of the RUNs that test the step counter's high bits.
HIGH_RUN_STEPS = 3
#: The first bit ``b`` of the RUNs of ``2**b + 1`` steps (fewer would end within the check).
FIRST_PLUS_ONE_BIT = 2
#: Steps of the closing RUN on a host-given order, unless the parameters say more.
LONG_HOST_STEPS = 32
#: Recenters after which the scale registers are checked, one by one, before the rest: the
#: epoch register's low four bits through every value (a wrong carry among them may come right
#: again by the next multiple of 16).
CHECKED_RECENTERS = 16


def long_budget(host) -> int:
    """Cycles after which the phase has hung: twice what it takes (the RUNs' golden cycles, each
    RUN's settle and ``z`` read-back, a few cycles per recenter), so that a mutant that hangs it
    costs little simulation."""
    config, memory, d = host.config, host.memory, host.problem.d
    runs = sum(run_cycles(config, memory, d, "xorshift", 1 << bit) for bit in range(LONG_RUN_BITS))
    per_run = memory.latency + 4 * config.max_fetch_words + 16
    high_runs = (COMMAND_ARG_BITS - FIRST_PLUS_ONE_BIT) + (COMMAND_ARG_BITS - LONG_RUN_BITS)
    high = high_runs * (run_cycles(config, memory, d, "xorshift", HIGH_RUN_STEPS + 2)
                        + config.row_slots * per_run)
    host_order = run_cycles(config, memory, d, "host", host.run.epoch_length) + per_run
    return 2 * (runs + LONG_RUN_BITS * per_run + 8 * host.run.epochs + 100 * memory.latency
                + high + host_order)


async def run_long(host, lockstep, rng) -> None:
    """RUNs on the step counter's high bits, then recenters, then RUNs of every power of two
    below ``2**LONG_RUN_BITS`` steps."""
    model, rtl = lockstep.model, lockstep.rtl
    config, d = model.config, model.d
    for bit in range(FIRST_PLUS_ONE_BIT, COMMAND_ARG_BITS):
        await _high_run(lockstep, bit, host.run.seed, 1)
    for bit in range(LONG_RUN_BITS, COMMAND_ARG_BITS):
        await _high_run(lockstep, bit, host.run.seed, HIGH_RUN_STEPS)
    await reset(rtl.dut, CocotbAccelerator.IDLE_INPUTS)  # back to the state after the SEED
    await rtl.command(Command.SEED, host.run.seed)
    await lockstep.load_gradient([int_range(config.grad_width)[1]] * d)
    unchecked = host.run.epochs - 1 - CHECKED_RECENTERS
    for _ in range(CHECKED_RECENTERS):
        await lockstep.recenter(0)
    for _ in range(unchecked):
        model.recenter(0)
        await rtl.command(Command.RECENTER, 0)
    lockstep.epoch += unchecked
    lockstep.held = [model.exponent, lockstep.epoch]  # what the next command must find
    await lockstep.recenter(int(rng.integers(*int_range(8))))
    for bit in range(LONG_RUN_BITS):
        model.run(1 << bit)
        await rtl.command(Command.RUN, 1 << bit)
        await lockstep.compare(f"long, RUN of 2**{bit} steps")
        report_progress(f"long RUN of 2**{bit}")
    await _host_order_run(host, lockstep, rng)


async def _host_order_run(host, lockstep, rng) -> None:
    """SEED on ``epoch_length`` random host-given entries, a training epoch's gradient and
    scale, one RUN through all the entries."""
    model, rtl, steps = lockstep.model, lockstep.rtl, host.run.epoch_length
    await choose_order(lockstep, True, rng, steps)
    await lockstep.seed(host.run.seed)
    inputs = host.begin_epoch()
    await lockstep.load_gradient(inputs.grad_ints)
    if inputs.sample_values.size:
        await lockstep.load_sample_values(inputs.sample_values)
    await lockstep.recenter(inputs.exponent)
    model.run(steps)
    await rtl.command(Command.RUN, steps)
    await lockstep.compare(f"long, RUN of {steps} steps on a host-given order")
    report_progress(f"long RUN of {steps} on a host-given order")


async def _high_run(lockstep, bit: int, seed: int, low: int) -> None:
    """Reset, SEED, then a RUN of ``2**bit + low`` steps: still busy after ``low + 2`` steps
    (the next reset ends it)."""
    dut, board = lockstep.rtl.dut, lockstep.board
    await reset(dut, CocotbAccelerator.IDLE_INPUTS)
    await lockstep.rtl.command(Command.SEED, seed)
    await lockstep.rtl.command(Command.RUN, (1 << bit) + low, wait=False)
    model = lockstep.model
    budget = 2 * run_cycles(model.config, model.memory, model.d, "xorshift", low + 2)
    for _ in range(budget):
        if int(dut.steps.value) >= low + 2:
            break
        await FallingEdge(dut.clk)
    context = f"long, RUN of 2**{bit} + {low} steps"
    cycle = int(dut.cycles.value)
    board.check(cycle, f"steps within {budget} cycles", low + 2, int(dut.steps.value), context)
    board.check(cycle, "busy", 1, int(dut.busy.value), context)
