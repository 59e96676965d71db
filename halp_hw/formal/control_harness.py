"""Property: the core's command FSM keeps ``busy`` for exactly ``T * step_cycles(d)`` cycles and
accepts no command while busy (bounded: the FSM's counters are internal to the core).

Written against the core's command port only (``cmd_*``, ``busy``, ``n``, ``d``), so that a
change of the datapath behind it (e.g. a memory port instead of on-chip memories) leaves the
harness as it is, as long as that port answers without stalls.
"""

from __future__ import annotations

from amaranth import Mux, Signal
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume
from amaranth.utils import ceil_log2

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.hdl.core import Command, HALPCore

from .harness import PropertyHarness

__all__ = ["ControlHarness", "contract_step_cycles", "control_depth"]

#: Longest run the bounded proof issues (two steps: a step's start, its end, and the next start).
#: The expected busy time is formed as a shift by ``T - 1``, so this must stay 2.
MAX_RUN_STEPS = 2
#: Cycles before a run can start: a SEED command (a few cycles) and its acceptance.
SETUP_CYCLES = 8


def contract_pipeline_latency(lanes: int) -> int:
    """Cycles a step costs beyond its beats (``docs/datapath.md``): 6, plus one register per
    two adder-tree levels."""
    return 6 + (ceil_log2(lanes) + 1) // 2


def contract_step_cycles(d, lanes: int):
    """``ceil(d / L) + pipeline latency``; ``d`` an int or an Amaranth value."""
    return (d + lanes - 1) // lanes + contract_pipeline_latency(lanes)


def control_depth(config: HardwareConfig, max_d: int | None = None) -> int:
    """The bound that lets the longest run (``MAX_RUN_STEPS`` steps at ``d_max``) finish."""
    d = config.d_max if max_d is None else max_d
    return SETUP_CYCLES + MAX_RUN_STEPS * contract_step_cycles(d, config.lanes) + 2


class ControlHarness(PropertyHarness):
    """The command FSM of :class:`HALPCore`, with every command free in every cycle.

    ``n`` and ``d`` are free constants (``1 <= n <= n_max``, ``1 <= d <= max_d``), a RUN asks
    for at most ``MAX_RUN_STEPS`` steps, host writes and the mantissa are free. Checked in
    every cycle: ``busy`` implies ``~cmd_ready`` (no command is accepted while busy); a RUN of
    ``T > 0`` accepted makes ``busy`` rise in the next cycle and stay high for exactly
    ``T * step_cycles(d)`` cycles; a RUN of 0 leaves it low.

    Parameters
    ----------
    config : HardwareConfig
        The build.
    max_d : int or None
        Largest ``d`` tried (default ``d_max``); a smaller one shortens the bound.
    """

    def __init__(self, *, config: HardwareConfig, max_d: int | None = None):
        self.config = config
        self.max_d = config.d_max if max_d is None else max_d
        super().__init__()

    def check(self, m, platform):
        cfg = self.config
        m.submodules.core = core = HALPCore(config=cfg)
        n, d = AnyConst(core.n.shape()), AnyConst(core.d.shape())
        m.d.comb += [Assume((n >= 1) & (n <= cfg.n_max)), Assume((d >= 1) & (d <= self.max_d)),
                     core.n.eq(n), core.d.eq(d)]
        for name in ("x_wr_addr", "x_wr_data", "x_wr_en", "g_wr_addr", "g_wr_data", "g_wr_en",
                     "z_rd_addr", "mantissa", "cmd_valid", "cmd_arg"):
            port = getattr(core, name)
            m.d.comb += port.eq(AnySeq(port.shape()))
        op = AnySeq(2)
        m.d.comb += core.cmd_op.as_value().eq(op)

        accept_run = core.cmd_valid & core.cmd_ready & (op == Command.RUN.value)
        with m.If(accept_run):
            m.d.comb += Assume(core.cmd_arg <= MAX_RUN_STEPS)

        # beats = ceil(d / L) by its defining inequality (no divider for the solver)
        beats = AnyConst(range(cfg.d_max + 1))
        m.d.comb += Assume(((beats - 1) * cfg.lanes < d) & (d <= beats * cfg.lanes))
        step_cycles = beats + contract_pipeline_latency(cfg.lanes)
        longest = MAX_RUN_STEPS * contract_step_cycles(cfg.d_max, cfg.lanes)
        expected = Signal(range(longest + 1))
        counted = Signal(range(longest + 2))
        running = Signal()         # a RUN of T > 0 was accepted and has not ended
        zero_run = Signal()        # a RUN of 0 was accepted in the previous cycle
        busy_before = Signal()
        m.d.sync += [busy_before.eq(core.busy), zero_run.eq(accept_run & (core.cmd_arg == 0))]
        with m.If(busy_before & ~core.busy):
            m.d.sync += running.eq(0)
        with m.If(accept_run & (core.cmd_arg != 0)):
            # T is 1 or 2 here (MAX_RUN_STEPS): a shift, not a multiplier, for the solver
            m.d.sync += [expected.eq(Mux(core.cmd_arg[1], step_cycles << 1, step_cycles)),
                         counted.eq(0),
                         running.eq(1)]
        with m.Elif(core.busy):
            m.d.sync += counted.eq(counted + 1)

        m.d.comb += Assert(~(core.busy & core.cmd_ready), "ready while busy")
        with m.If(running & ~busy_before):
            m.d.comb += Assert(core.busy, "busy did not rise after an accepted RUN")
        with m.If(core.busy):
            m.d.comb += Assert(running & (counted < expected), "busy too long, or unasked")
        with m.If(busy_before & ~core.busy):
            m.d.comb += Assert(counted == expected, "busy ended early")
        with m.If(zero_run):
            m.d.comb += Assert(~core.busy, "a RUN of 0 made the core busy")
