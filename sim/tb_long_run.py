"""The ``long`` scenario of ``tb_core``: the high bits of the core's counters and of its command
argument, which no short phase reaches.

The status counters (``steps``, ``saturations``, ``cycles``), the step counter a RUN counts down
from its argument and the epoch register only carry into their high bits after long runs. This
phase issues :data:`LONG_RECENTERS` recenters (the epoch register's bits up to 12), then one RUN
of ``2**k`` steps for every ``k < LONG_RUN_BITS`` (each argument a single bit: the step
counter's load and test of every argument bit below ``LONG_RUN_BITS``), on gradients at the top
of their range, so that every update saturates. ``steps`` then reaches ``2**LONG_RUN_BITS - 1``,
``saturations`` ``d`` times that and ``cycles`` about ten times that. The golden model runs the
steps in its compiled kernel (:meth:`AcceleratorModel.run`), without per-step coverage
sampling; ``z``, the counters and the scale register are compared after every RUN.
"""

from __future__ import annotations

from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.memory import run_cycles
from halp_hw.hdl.core import Command
from tb_support import report_progress

__all__ = ["LONG_RECENTERS", "LONG_RUN_BITS", "long_budget", "run_long"]

#: Recenters before the runs: the epoch register counts past 2**12.
LONG_RECENTERS = (1 << 12) + 8
#: RUNs of 1, 2, 4, ... 2**(LONG_RUN_BITS - 1) steps.
LONG_RUN_BITS = 16


def long_budget(host) -> int:
    """Cycles after which the phase has hung: twice what it takes (the RUNs' golden cycles, each
    RUN's settle and ``z`` read-back, a few cycles per recenter), so that a mutant that hangs it
    costs little simulation."""
    config, memory, d = host.config, host.memory, host.problem.d
    runs = sum(run_cycles(config, memory, d, "xorshift", 1 << bit) for bit in range(LONG_RUN_BITS))
    per_run = memory.latency + 4 * config.max_fetch_words + 16
    return 2 * (runs + LONG_RUN_BITS * per_run + 8 * LONG_RECENTERS + 100 * memory.latency)


async def run_long(host, lockstep, rng) -> None:
    """Recenters, then RUNs of every power of two below ``2**LONG_RUN_BITS`` steps."""
    model, rtl = lockstep.model, lockstep.rtl
    config, d = model.config, model.d
    await lockstep.load_gradient([int_range(config.grad_width)[1]] * d)
    for _ in range(LONG_RECENTERS - 1):
        model.recenter(0)
        await rtl.command(Command.RECENTER, 0)
    lockstep.epoch += LONG_RECENTERS - 1
    await lockstep.recenter(int(rng.integers(*int_range(8))))
    for bit in range(LONG_RUN_BITS):
        model.run(1 << bit)
        await rtl.command(Command.RUN, 1 << bit)
        await lockstep.compare(f"long, RUN of 2**{bit} steps")
        report_progress(f"long RUN of 2**{bit}")
