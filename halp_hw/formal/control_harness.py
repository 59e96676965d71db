"""Property: with a memory that never stalls, the core's command FSM keeps ``busy`` for exactly
``T * step_cycles(d)`` cycles, accepts no command while busy, and is ready again within
:func:`seed_cycles` of a SEED (bounded: the FSM's counters are internal to the core).

Written against the core's ports only (``cmd_*``, ``busy``, ``n``, ``d``, ``host_order`` and the
two memory ports, each answered by :func:`zero_wait_memory`), so that a change of the datapath
behind them leaves the harness as it is.
"""

from __future__ import annotations

from amaranth import Mux, Signal
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume
from amaranth.utils import ceil_log2

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.hdl.core import Command, HALPCore

from .harness import PropertyHarness

__all__ = ["ControlHarness", "contract_step_cycles", "control_depth", "zero_wait_memory"]

#: Longest run the bounded proof issues (two steps: a step's start, its end, and the next start).
#: The expected busy time is formed as a shift by ``T - 1``, so this must stay 2.
MAX_RUN_STEPS = 2
#: Cycles from taking a row address to the next one with the xorshift32 order
#: (``docs/datapath.md``, step schedule); the host-given order on a zero-wait memory is faster.
ROW_ADDRESS_CYCLES = 6


def contract_pipeline_latency(lanes: int) -> int:
    """Cycles a step costs beyond its beats (``docs/datapath.md``): 6, plus one register per
    two adder-tree levels."""
    return 6 + (ceil_log2(lanes) + 1) // 2


def contract_step_cycles(d, lanes: int):
    """``ceil(d / L) + pipeline latency``, the compute-bound step; ``d`` an int or an Amaranth
    value."""
    return (d + lanes - 1) // lanes + contract_pipeline_latency(lanes)


def seed_cycles(beats: int, row_slots: int) -> int:
    """A bound on the cycles from a SEED's acceptance to ``cmd_ready`` on a zero-wait memory:
    two (the acceptance, LOAD), the first row address, then for each of the ``row_slots - 1``
    rows (``docs/datapath.md``, control schedule) the longer of its fetch (request, ``beats``
    words, done) and the next address, and once more for the settle (the last row and the order
    entry its take asks for). The harness asserts it, so that the proof's depth
    (:func:`control_depth`) is known to reach the end of a RUN after the slowest SEED."""
    return 2 + ROW_ADDRESS_CYCLES + row_slots * max(ROW_ADDRESS_CYCLES, beats + 2)


def control_depth(config: HardwareConfig, max_d: int | None = None) -> int:
    """The bound that lets the slowest SEED (checked against :func:`seed_cycles`) and then the
    longest run (``MAX_RUN_STEPS`` steps at ``max_d``) finish."""
    d = config.d_max if max_d is None else max_d
    beats = -(-d // config.lanes)
    return (seed_cycles(beats, config.row_slots)
            + MAX_RUN_STEPS * contract_step_cycles(d, config.lanes) + 2)


def zero_wait_memory(m, port, name: str) -> None:
    """Answer the read port ``port`` (a requester's view) as a memory that never stalls: a
    request is accepted whenever no response is owed, its ``length`` words follow in the next
    ``length`` cycles, one per cycle, their data free (the latency 1, unlimited-bandwidth case
    of ``docs/datapath.md``'s memory timing, under which every step is compute-bound)."""
    request, response = port.request, port.response
    owed = Signal.like(request.payload.length, name=f"{name}_owed")
    m.d.comb += [request.ready.eq(owed == 0), response.valid.eq(owed != 0),
                 response.payload.eq(AnySeq(response.payload.shape()))]
    with m.If(response.valid & response.ready):
        m.d.sync += owed.eq(owed - 1)
    with m.If(request.valid & request.ready):
        m.d.sync += owed.eq(request.payload.length)


class ControlHarness(PropertyHarness):
    """The command FSM of :class:`HALPCore`, with every command free in every cycle.

    ``n``, ``d`` and ``host_order`` are free constants (``1 <= n <= n_max``,
    ``1 <= d <= max_d``), both memory ports are zero-wait memories, a RUN asks for at most
    ``MAX_RUN_STEPS`` steps and comes after a SEED (the host interface requires one first),
    host writes and the mantissa are free. Checked in
    every cycle: ``busy`` implies ``~cmd_ready`` (no command is accepted while busy); a RUN of
    ``T > 0`` accepted makes ``busy`` rise in the next cycle and stay high for exactly
    ``T * step_cycles(d)`` cycles; a RUN of 0 leaves it low; ``cmd_ready`` is high again at
    most :func:`seed_cycles` cycles after a SEED was accepted.

    Parameters
    ----------
    config : HardwareConfig
        The build.
    max_d : int or None
        Largest ``d`` tried (default ``d_max``); a smaller one shortens the bound.
    """

    def __init__(self, *, config: HardwareConfig, max_d: int | None = None):
        self.max_d = config.d_max if max_d is None else max_d
        super().__init__(config=config)

    def check(self, m, platform):
        cfg = self.config
        m.submodules.core = core = HALPCore(config=cfg)
        n, d = AnyConst(core.n.shape()), AnyConst(core.d.shape())
        m.d.comb += [Assume((n >= 1) & (n <= cfg.n_max)), Assume((d >= 1) & (d <= self.max_d)),
                     core.n.eq(n), core.d.eq(d)]
        m.d.comb += core.host_order.eq(AnyConst(1))
        zero_wait_memory(m, core.row_memory, "row_memory")
        zero_wait_memory(m, core.order_memory, "order_memory")
        for name in ("g_wr_addr", "g_wr_data", "g_wr_en",
                     "z_rd_addr", "mantissa", "cmd_valid", "cmd_arg"):
            port = getattr(core, name)
            m.d.comb += port.eq(AnySeq(port.shape()))
        op = AnySeq(2)
        m.d.comb += core.cmd_op.as_value().eq(op)

        accept_run = core.cmd_valid & core.cmd_ready & (op == Command.RUN.value)
        seeded = Signal()
        with m.If(core.cmd_valid & core.cmd_ready & (op == Command.SEED.value)):
            m.d.sync += seeded.eq(1)
        with m.If(accept_run):
            m.d.comb += Assume((core.cmd_arg <= MAX_RUN_STEPS) & seeded)

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

        seed_bound = seed_cycles(-(-self.max_d // cfg.lanes), cfg.row_slots)
        seeding = Signal()         # a SEED was accepted and cmd_ready is not back yet
        seed_wait = Signal(range(seed_bound + 1))  # cycles since (saturating at the bound)
        with m.If(core.cmd_valid & core.cmd_ready & (op == Command.SEED.value)):
            m.d.sync += [seeding.eq(1), seed_wait.eq(1)]
        with m.Elif(seeding & core.cmd_ready):
            m.d.sync += seeding.eq(0)
        with m.Elif(seeding & (seed_wait < seed_bound)):
            m.d.sync += seed_wait.eq(seed_wait + 1)

        m.d.comb += Assert(~(core.busy & core.cmd_ready), "ready while busy")
        with m.If(seeding & ~core.cmd_ready):
            m.d.comb += Assert(seed_wait < seed_bound, "a SEED took longer than seed_cycles")
        with m.If(running & ~busy_before):
            m.d.comb += Assert(core.busy, "busy did not rise after an accepted RUN")
        with m.If(core.busy):
            m.d.comb += Assert(running & (counted < expected), "busy too long, or unasked")
        with m.If(busy_before & ~core.busy):
            m.d.comb += Assert(counted == expected, "busy ended early")
        with m.If(zero_run):
            m.d.comb += Assert(~core.busy, "a RUN of 0 made the core busy")
