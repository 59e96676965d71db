"""The HALP core: z, G, the row buffer, the sample-row source and counters; the control FSM
and the commands are in :mod:`halp_hw.hdl.control`.

One inner step is one pass over the words of a row (see ``docs/datapath.md``): pass ``t`` streams
rows ``i_t`` (to update ``z`` with the coefficient of the previous pass) and ``i_{t+1}`` (whose
dot product with the new ``z`` gives the next coefficient) from the on-chip row buffer through
the vector unit, while the row fetcher brings rows up to ``i_{t+S-1}`` (``S = row_slots``)
from off-chip memory into the other slots. A step ends once the pipeline has drained, row
``i_{t+2}`` has arrived and the next row address is ready: a run command costs
``halp_hw.golden.memory.run_cycles`` cycles.

The loss is a build parameter (``config.problem``): least squares uses :class:`StepCoefficient`;
logistic regression :class:`LogisticCoefficient` (the sigmoid unit) and the L2-SVM
:class:`HingeCoefficient`, each fed the per-sample value that streams in after its row, with the
L2 decay in the lanes (``docs/numeric-contract.md``).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from halp_hw.golden.glm import SHIFT_BITS
from halp_hw.golden.hardware import STEP_MANTISSA_BITS, HardwareConfig
from halp_hw.golden.validation import HalpInputError

from .centering import EPOCH_BITS, EXPONENT_BITS, BitCenteringRegister, address_shape
from .coefficient import StepCoefficient
from .control import COMMAND_ARG_BITS, Command, control_fsm
from .epoch_unit import EpochUnit, host_ports
from .fetcher import RowFetcher, row_port_signature
from .hinge import HingeCoefficient
from .logistic import LogisticCoefficient
from .lane import check_config
from .rows import SampleRowSource, order_port_signature
from .sequencer import BeatSequencer
from .vector import VectorUnit

__all__ = ["CYCLE_COUNTER_BITS", "EVENT_COUNTER_BITS", "COMMAND_ARG_BITS", "Command",
           "ceil_div_by_constant", "HALPCore"]

#: Width of the ``cycles`` status counter.
CYCLE_COUNTER_BITS = 48
#: Width of the ``steps`` and ``saturations`` status counters.
EVENT_COUNTER_BITS = 32
def ceil_div_by_constant(value, divisor: int, max_value: int):
    """``ceil(value / divisor)`` for ``0 <= value <= max_value`` as one multiply by a constant
    and a shift (no divider); the constants are checked for every value at elaboration."""
    for shift in range(64):
        factor = -(-(1 << shift) // divisor)
        if all(((v + divisor - 1) * factor) >> shift == -(-v // divisor)
               for v in range(max_value + 1)):
            return ((value + divisor - 1) * factor) >> shift
    raise HalpInputError(f"no reciprocal found for ceil(x / {divisor}) up to {max_value}")


def on_chip_memory(width: int, depth: int) -> Memory:
    """An on-chip memory of ``depth`` words; at least two, because a one-word memory has a
    zero-width address, which Verilog cannot declare."""
    return Memory(shape=width, depth=max(2, depth), init=[])


class HALPCore(wiring.Component):
    """The accelerator: runs T inner steps of bit-centered SVRG on command, the data streaming
    from off-chip memory.

    Parameters
    ----------
    config : HardwareConfig
        The build: every width and memory size comes from it.
    full_gradient : bool
        Build the epoch on chip (:class:`~halp_hw.hdl.epoch_unit.EpochUnit`, the command
        :data:`~halp_hw.hdl.epoch_unit.EPOCH_COMMAND` and its ports); False builds no logic
        for it.

    Attributes
    ----------
    row_memory : Out(row_port_signature(config))
        Reads the data: row ``i`` is ``ceil(d / L)`` words at word ``i * ceil(d / L)``, lane ``l``
        in bits ``[l * data_bits, (l + 1) * data_bits)`` of a word.
    order_memory : Out(order_port_signature())
        Reads a host-given sample order: entry ``k`` (a 32-bit word) is the index of the ``k``-th
        sample since the seed command.
    host_order : In(1)
        Take the sample order from ``order_memory`` instead of the xorshift32 stream (static;
        read by the seed command).
    g_wr_addr, g_wr_data, g_wr_en : In
        Host write port of the gradient memory (``grad_width`` bits per lane).
    z_rd_addr : In
        Host read address of ``z`` (used while not busy).
    z_rd_data : Out(lanes * bits)
        ``z`` word read one cycle earlier; a word not written since the last recenter (or
        seed, or reset) reads 0, from the first cycle after a reset on.
    n, d : In
        Problem size, static while busy or seeding.
    mantissa : In(STEP_MANTISSA_BITS)
        The step mantissa ``m``.
    coef_shift, decay : In(SHIFT_BITS signed), In(frac_bits)
        Logistic and SVM builds: the coefficient shift and the L2 decay (static).
    margin_shift : In(SHIFT_BITS signed)
        Logistic builds: the margin shift (static).
    cmd_valid, cmd_ready, cmd_op, cmd_arg
        The command handshake (see :class:`Command`).
    busy : Out(1)
        High while a run is in progress.
    cycles, steps, saturations : Out
        Counters since reset: busy cycles, inner steps, saturated ``z`` updates.
    exponent, epoch : Out
        The bit-centering register.
    pass_memory, l2_mantissa, ..., center_rd_addr, center_rd_data
        With ``full_gradient``: the ports of :func:`~halp_hw.hdl.epoch_unit.host_ports` (a
        logistic build's also write each row's margin into the data memory; after
        FULL_GRADIENT ``cmd_ready`` then stays low while the row buffer's values are read
        again, as after RECENTER).
    g_rd_addr, g_rd_data : In, Out
        With ``full_gradient``: the host's read of ``G`` (the word read one cycle earlier;
        while not busy).
    """

    def __init__(self, *, config: HardwareConfig, full_gradient: bool = False):
        self.config = check_config(config)
        if not isinstance(full_gradient, bool):
            raise HalpInputError(f"full_gradient must be True or False, not {full_gradient!r}")
        if full_gradient and config.problem not in ("linreg", "logreg"):
            raise HalpInputError("the full gradient on chip implements least squares and "
                                 f"logistic regression (problem linreg or logreg), not "
                                 f"{config.problem}")
        self.full_gradient = full_gradient
        words = config.words_per_row
        glm = {}
        if config.problem != "linreg":
            glm = {"coef_shift": In(signed(SHIFT_BITS)), "decay": In(config.frac_bits)}
        if config.problem == "logreg":
            glm["margin_shift"] = In(signed(SHIFT_BITS))
        if full_gradient:
            self._epoch_unit = EpochUnit(config=config)
            members = self._epoch_unit.signature.members
            glm.update({name: members[name] for name in host_ports(config)})
            glm.update({"g_rd_addr": In(address_shape(words)),
                        "g_rd_data": Out(config.lanes * config.grad_width)})
        super().__init__({
            **glm,
            "row_memory": Out(row_port_signature(config)),
            "order_memory": Out(order_port_signature()),
            "host_order": In(1),
            "g_wr_addr": In(address_shape(words)),
            "g_wr_data": In(config.lanes * config.grad_width),
            "g_wr_en": In(1),
            "z_rd_addr": In(address_shape(words)),
            "z_rd_data": Out(config.lanes * config.bits),
            "n": In(range(config.n_max + 1)),
            "d": In(range(config.d_max + 1)),
            "mantissa": In(STEP_MANTISSA_BITS),
            "cmd_valid": In(1),
            "cmd_ready": Out(1, init=1),
            "cmd_op": In(Command),
            "cmd_arg": In(COMMAND_ARG_BITS),
            "busy": Out(1),
            "cycles": Out(CYCLE_COUNTER_BITS),
            "steps": Out(EVENT_COUNTER_BITS),
            "saturations": Out(EVENT_COUNTER_BITS),
            "exponent": Out(signed(EXPONENT_BITS)),
            "epoch": Out(unsigned(EPOCH_BITS)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        words = cfg.words_per_row
        self._fetch = Signal()  # a step starts: a pass and a row fetch
        m.submodules.g_mem = g_mem = on_chip_memory(cfg.lanes * cfg.grad_width, words)
        m.submodules.z_mem = z_mem = on_chip_memory(cfg.lanes * cfg.bits, words)
        m.submodules.centering = centering = BitCenteringRegister(config=cfg)
        m.submodules.rows = rows = SampleRowSource(config=cfg)
        m.submodules.fetcher = fetcher = RowFetcher(config=cfg)
        m.submodules.sequencer = sequencer = BeatSequencer(config=cfg)
        m.submodules.vector = vector = VectorUnit(config=cfg)
        m.submodules.coefficient = coefficient = self._coefficient(m, fetcher)
        g_write, z_write = g_mem.write_port(), z_mem.write_port()
        g_read, z_read = g_mem.read_port(), z_mem.read_port()
        wiring.connect(m, wiring.flipped(self.row_memory), fetcher.memory)
        wiring.connect(m, wiring.flipped(self.order_memory), rows.order)

        # Words per row (static with d): the off-chip row stride and the fetch length.
        row_words = Signal(range(words + 1))
        m.d.sync += row_words.eq(ceil_div_by_constant(self.d, cfg.lanes, cfg.d_max))

        # Host writes, status, and the row sources.
        m.d.comb += [
            g_write.addr.eq(self.g_wr_addr), g_write.data.eq(self.g_wr_data),
            g_write.en.eq(self.g_wr_en),
            self.exponent.eq(centering.exponent), self.epoch.eq(centering.epoch),
            rows.n.eq(self.n), rows.host_order.eq(self.host_order),
            rows.row_words.eq(row_words + cfg.sample_words if cfg.sample_words else row_words),
            sequencer.d.eq(self.d),
            fetcher.row_addr.eq(rows.rows.payload), fetcher.row_words.eq(row_words),
            fetcher.cur_addr.eq(sequencer.cur_addr), fetcher.next_addr.eq(sequencer.next_addr),
        ]

        # Issue stage -> synchronous reads; z is masked by the valid bits; the host reads z
        # through the same port while not busy.
        z_addr = Signal.like(sequencer.word)
        z_word = Signal.like(self.z_rd_data)
        m.d.comb += [
            g_read.addr.eq(sequencer.word),
            z_addr.eq(Mux(self.busy, sequencer.word, self.z_rd_addr)),
            z_read.addr.eq(z_addr), centering.read_addr.eq(z_addr),
            z_word.eq(Mux(centering.read_valid, z_read.data, 0)),
            self.z_rd_data.eq(z_word),
        ]

        # Operand registers -> vector unit -> step coefficient -> back to the lanes' stage A.
        x_cur, x_next = Signal.like(fetcher.cur_data), Signal.like(fetcher.next_data)
        grad, z = Signal.like(g_read.data), Signal.like(z_word)
        m.d.sync += [x_cur.eq(fetcher.cur_data), x_next.eq(fetcher.next_data),
                     grad.eq(g_read.data), z.eq(z_word)]
        m.d.comb += [
            vector.x_cur.eq(x_cur), vector.x_next.eq(x_next), vector.z.eq(z), vector.grad.eq(grad),
            vector.mask.eq(sequencer.lane_mask), vector.valid.eq(sequencer.lane_valid),
            vector.first.eq(sequencer.lane_first), vector.last.eq(sequencer.lane_last),
            vector.addr.eq(sequencer.lane_word), vector.coef.eq(coefficient.coef),
            coefficient.mantissa.eq(self.mantissa),
        ]
        if cfg.problem == "linreg":  # the beat sums: StepCoefficient accumulates s_k * m
            m.d.comb += [coefficient.beat_sum.eq(vector.beat_sum),
                         coefficient.beat_valid.eq(vector.beat_valid),
                         coefficient.beat_first.eq(vector.beat_first),
                         coefficient.beat_last.eq(vector.beat_last)]
        else:
            m.d.comb += [coefficient.dot.eq(vector.dot),
                         coefficient.dot_valid.eq(vector.dot_valid)]
        if cfg.problem != "linreg":
            m.d.comb += vector.decay.eq(self.decay)

        # Stage B: z write-back (the vector unit carries the word address along).
        m.d.comb += [
            z_write.addr.eq(vector.z_addr), z_write.data.eq(vector.z_new),
            z_write.en.eq(vector.z_valid),
            centering.write_addr.eq(vector.z_addr), centering.set_valid.eq(vector.z_valid),
        ]

        self._row_slots(m, rows=rows, fetcher=fetcher, sequencer=sequencer)
        if self.full_gradient:
            self._epoch(m, row_words=row_words, g_write=g_write, g_read=g_read, z_addr=z_addr,
                        z_word=z_word, centering=centering, coefficient=coefficient)
        control_fsm(m, self, fetch=self._fetch, restart=self._restart,
                    epoch_unit=self._epoch_unit if self.full_gradient else None, rows=rows,
                    fetcher=fetcher, sequencer=sequencer, vector=vector, centering=centering,
                    coefficient=coefficient)
        counted = vector.saturations
        if self.full_gradient:
            counted = counted + self._epoch_unit.saturations
        m.d.sync += [self.cycles.eq(self.cycles + self.busy),
                     self.saturations.eq(self.saturations + counted)]
        return m

    def _coefficient(self, m, fetcher):
        """The coefficient path of the build's loss. Logistic and SVM: the value of row
        ``i_{t+1}`` (the fetcher's ``value_slot``, set by :meth:`_row_slots`) is held for the
        pass of step ``t``."""
        cfg = self.config
        if cfg.problem == "linreg":
            return StepCoefficient(config=cfg)
        value = Signal(signed(cfg.sample_value_bits))
        with m.If(self._fetch):
            m.d.sync += value.eq(fetcher.value[:cfg.sample_value_bits])
        if cfg.problem == "svm":
            coefficient = HingeCoefficient(config=cfg)
        else:
            coefficient = LogisticCoefficient(config=cfg)
            m.d.comb += [coefficient.margin_shift.eq(self.margin_shift),
                         coefficient.exponent.eq(self.exponent)]
        m.d.comb += [coefficient.value.eq(value), coefficient.coef_shift.eq(self.coef_shift)]
        return coefficient

    def _row_slots(self, m, *, rows, fetcher, sequencer):
        """The ring of ``S`` row slots: pass ``t`` reads the slots of rows ``i_t`` and
        ``i_{t+1}`` (``t mod S`` and the next); the fetcher fills them in the same order."""
        fetch = self._fetch
        self._restart = restart = Signal()
        words = self.config.words_per_row
        capacity = self.config.row_slots * words

        def following(base):
            return Mux(base == capacity - words, 0, base + words)

        cur_base, next_base = Signal.like(sequencer.cur_base), Signal.like(sequencer.next_base)
        m.d.comb += [fetcher.start.eq(fetch), rows.rows.ready.eq(fetch),
                     fetcher.restart.eq(restart),
                     sequencer.cur_base.eq(cur_base), sequencer.next_base.eq(next_base)]
        with m.If(sequencer.start):
            m.d.sync += [cur_base.eq(next_base), next_base.eq(following(next_base))]
        with m.If(restart):
            m.d.sync += [cur_base.eq(0), next_base.eq(words)]
        if self.config.sample_words:
            slots = self.config.row_slots
            next_slot = Signal(range(slots), init=1)  # the slot of row i_{t+1}
            m.d.comb += fetcher.value_slot.eq(next_slot)
            with m.If(sequencer.start):
                m.d.sync += next_slot.eq(Mux(next_slot == slots - 1, 0, next_slot + 1))
            with m.If(restart):
                m.d.sync += next_slot.eq(1)

    def _epoch(self, m, *, row_words, g_write, g_read, z_addr, z_word, centering,
               coefficient):
        """The epoch on chip (:class:`EpochUnit`): its host ports, and its writes of ``G``,
        reads of ``z`` and recenter, which take priority (they never meet the host's or a
        run's)."""
        m.submodules.epoch = epoch = self._epoch_unit
        wiring.connect(m, wiring.flipped(self.pass_memory), epoch.pass_memory)
        for name in host_ports(self.config)[1:]:
            inner, outer = getattr(epoch, name), getattr(self, name)
            m.d.comb += inner.eq(outer) if epoch.signature.members[name].flow == In else \
                outer.eq(inner)
        m.d.comb += [epoch.op.eq(self.cmd_arg[0]), epoch.n.eq(self.n), epoch.d.eq(self.d),
                     epoch.row_words.eq(row_words), epoch.previous.eq(centering.exponent),
                     epoch.z_data.eq(z_word)]
        m.d.comb += self.g_rd_data.eq(g_read.data)
        with m.If(~self.busy):
            m.d.comb += g_read.addr.eq(self.g_rd_addr)
        with m.If(epoch.g_en):
            m.d.comb += [g_write.addr.eq(epoch.g_addr), g_write.data.eq(epoch.g_data),
                         g_write.en.eq(1)]
        with m.If(epoch.z_reading):
            m.d.comb += z_addr.eq(epoch.z_addr)
        with m.If(epoch.recenter):
            m.d.comb += [centering.recenter.eq(1), coefficient.clear.eq(1),
                         centering.exponent_in.eq(epoch.exponent)]
