"""The command FSM of :class:`~halp_hw.hdl.core.HALPCore`: the host's commands and their states.

A command is accepted in IDLE (``cmd_valid & cmd_ready``). SEED takes a LOAD cycle (the loads of
every random stream, the sample order and the scale register, from the state register and the
captured seed) and then SEED (``S - 1`` row fetches) and SETTLE; RECENTER is one cycle (a
logistic or SVM build then rereads the row buffer's values in REFRESH); RUN starts a pass and a
row fetch per inner step, each step ending once the pipeline has drained, row ``i_{t+2}`` has
arrived and the next row address is ready, then SETTLE until the fetches in flight have arrived.
``cmd_ready`` and ``busy`` are registers that change with the state.
"""

from __future__ import annotations

from amaranth import Signal
from amaranth.lib import enum

from .centering import EXPONENT_BITS
from .epoch_unit import EPOCH_COMMAND, EpochOp

__all__ = ["COMMAND_ARG_BITS", "Command", "control_fsm"]

#: Width of a command's argument (a seed, an exponent, a step count).
COMMAND_ARG_BITS = 32


class Command(enum.Enum, shape=2):
    """``cmd_op`` values of :class:`~halp_hw.hdl.core.HALPCore`."""

    #: Load every random stream from ``cmd_arg``, restart the sample order, clear ``z`` and the
    #: coefficient, reset the scale register (all in the cycle after the acceptance), fetch the
    #: first ``row_slots - 1`` rows (``cmd_ready`` low until they have arrived).
    SEED = 0
    #: Clear ``z`` and the coefficient, load the exponent (``cmd_arg`` low 8 bits, signed),
    #: count an epoch. One cycle; in a logistic or SVM build ``cmd_ready`` then stays low while
    #: the value words of the rows in the row buffer are read again (the host rewrote them).
    RECENTER = 1
    #: Run ``cmd_arg`` inner steps (0 is a no-op); ``busy`` falls with the last step,
    #: ``cmd_ready`` rises once the rows and order entries in flight have arrived.
    RUN = 2


def control_fsm(m, core, *, fetch, restart, epoch_unit, rows, fetcher, sequencer, vector,
                centering, coefficient):
    """Add the command FSM of ``core`` (a :class:`~halp_hw.hdl.core.HALPCore` being
    elaborated) to ``m``: IDLE, LOAD (a seed command's loads), SEED (fetches ``S - 1`` rows),
    RUN (T steps: each starts a pass and a fetch, and ends once drained, row ``i_{t+2}``
    arrived and the next row address ready), SETTLE (until the fetches in flight have
    arrived); REFRESH (a logistic or SVM build's reread of the row buffer's values) and EPOCH
    (the epoch on chip) where the build has them.

    The FSM is the core's control, not a block of its own: its registers are the core's
    (``cmd_ready``, ``busy``, ``steps``) and it reaches into every block, so it adds to the
    core's module (no ports of its own, no hierarchy level in the netlist).

    Parameters
    ----------
    m : amaranth.hdl.Module
        The core's module.
    core : HALPCore
        The core: its command port, ``busy`` and ``steps``.
    fetch, restart : Signal
        The core's strobes that the FSM drives: a step starts (a pass and a row fetch), a SEED
        restarts the row slots.
    epoch_unit : EpochUnit or None
        The epoch on chip (with ``core.full_gradient``), else None.
    rows, fetcher, sequencer, vector, centering, coefficient
        The core's blocks the commands start, load or clear.
    """
    latency = core.config.pipeline_latency
    slots = core.config.row_slots
    accept = Signal()
    m.d.comb += accept.eq(core.cmd_valid & core.cmd_ready)
    steps_left = Signal(COMMAND_ARG_BITS)
    last_step = Signal()  # steps_left == 1, a register: no wide compare in a step's end
    drain = Signal(range(latency))
    seed_fetches = Signal(range(slots))
    seed = Signal(COMMAND_ARG_BITS)
    refresh_after_epoch = Signal()  # a logistic build's FULL_GRADIENT rewrote the values
    can_fetch, settled = Signal(), Signal()
    m.d.comb += [can_fetch.eq(rows.rows.valid & fetcher.request_free),
                 settled.eq(rows.quiet & (fetcher.pending == 0) & fetcher.request_free)]
    # cmd_ready and busy are registers that change with the state (no decoding logic on
    # the host port; also defined from time 0 in event-driven simulators such as Icarus).
    with m.FSM(name="control"):
        with m.State("IDLE"):
            with m.If(accept):
                with m.Switch(core.cmd_op):
                    with m.Case(Command.SEED):
                        m.d.sync += [seed.eq(core.cmd_arg), seed_fetches.eq(0),
                                     core.cmd_ready.eq(0)]
                        m.next = "LOAD"
                    with m.Case(Command.RECENTER):
                        m.d.comb += [centering.recenter.eq(1), coefficient.clear.eq(1),
                                     centering.exponent_in.eq(core.cmd_arg[:EXPONENT_BITS])]
                        if core.config.sample_words:
                            m.d.comb += fetcher.refresh.eq(1)
                            m.d.sync += core.cmd_ready.eq(0)
                            m.next = "REFRESH"
                    if core.full_gradient:
                        with m.Case(EPOCH_COMMAND):
                            m.d.comb += epoch_unit.start.eq(1)
                            m.d.sync += [core.cmd_ready.eq(0), core.busy.eq(1)]
                            if core.config.problem == "logreg":
                                m.d.sync += refresh_after_epoch.eq(
                                    core.cmd_arg[0] == EpochOp.FULL_GRADIENT.value)
                            m.next = "EPOCH"
                    with m.Case(Command.RUN):
                        # Only the first step's start waits for the test of the argument
                        # (a run of 0 steps is a no-op); the registers take it as data.
                        running = core.cmd_arg != 0
                        m.d.sync += [steps_left.eq(core.cmd_arg), core.cmd_ready.eq(~running),
                                     last_step.eq(core.cmd_arg == 1), core.busy.eq(running)]
                        with m.If(running):
                            m.d.comb += [sequencer.start.eq(1), fetch.eq(1)]
                            m.next = "RUN"
        with m.State("LOAD"):
            # A cycle of its own: the loads reach several hundred registers, from the
            # state register and the captured seed alone (not from the host port).
            m.d.comb += [
                rows.seed.eq(seed), rows.load.eq(1), vector.seed.eq(seed), vector.load.eq(1),
                centering.restart.eq(1), coefficient.clear.eq(1), restart.eq(1),
            ]
            m.next = "SEED"
        with m.State("SEED"):
            with m.If(can_fetch):
                m.d.comb += fetch.eq(1)
                m.d.sync += seed_fetches.eq(seed_fetches + 1)
                with m.If(seed_fetches == slots - 2):
                    m.next = "SETTLE"
        if core.config.sample_words:
            with m.State("REFRESH"):
                with m.If(~fetcher.refreshing):
                    m.d.sync += core.cmd_ready.eq(1)
                    m.next = "IDLE"
        if core.full_gradient:
            with m.State("EPOCH"):
                with m.If(epoch_unit.done):
                    m.d.sync += core.busy.eq(0)
                    if core.config.problem == "logreg":  # the pass rewrote the values
                        with m.If(refresh_after_epoch):
                            m.d.comb += fetcher.refresh.eq(1)
                            m.next = "REFRESH"
                        with m.Else():
                            m.d.sync += core.cmd_ready.eq(1)
                            m.next = "IDLE"
                    else:
                        m.d.sync += core.cmd_ready.eq(1)
                        m.next = "IDLE"
        with m.State("RUN"):
            with m.If(~sequencer.issuing & (drain != latency - 1)):
                m.d.sync += drain.eq(drain + 1)
            with m.If((drain == latency - 1) & can_fetch & (fetcher.pending <= slots - 3)):
                m.d.sync += [drain.eq(0), steps_left.eq(steps_left - 1),
                             last_step.eq(steps_left == 2), core.steps.eq(core.steps + 1)]
                with m.If(last_step):
                    m.d.sync += core.busy.eq(0)
                    m.next = "SETTLE"
                with m.Else():
                    m.d.comb += [sequencer.start.eq(1), fetch.eq(1)]
        with m.State("SETTLE"):
            with m.If(settled):
                m.d.sync += core.cmd_ready.eq(1)
                m.next = "IDLE"
