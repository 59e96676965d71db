"""The full-gradient pass: every row streams in once; ``r_i = x_i . wc - yq_i`` (least
squares) or the logistic residual of ``x_i . wc`` (:class:`LogisticPassResidual`), and
``acc_j += x_ij r_i``, exactly.

Golden: :func:`halp_hw.golden.full_gradient.pass_accumulators`; cycles:
:func:`halp_hw.golden.epoch_timing.pass_cycles` (``docs/numeric-contract.md``, "The epoch on the
accelerator"). The pass's region of off-chip memory holds the ``n`` rows back to back, each its
``ceil(d/L)`` data words (``L`` values of ``gradient_data_bits``, lanes past ``d`` zero) and then
its target ``yq_i`` in ``target_words`` words (two's complement of ``dot_width`` bits, lowest word
first).
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from halp_hw.golden.epoch_timing import PASS_LOSS_LATENCY
from halp_hw.golden.full_gradient import PassWidths
from halp_hw.golden.logistic_pass import PASS_MARGIN_SHIFT_BITS

from .adder_tree import adder_tree, register
from .centering import address_shape
from .center_store import BLOCK_RAM
from .lane import check_config
from .memory_port import read_port_signature
from .pass_logistic import LogisticPassResidual
from .radix4_multiplier import Radix4Multiplier, radix4_multiples
from .rows import row_address_shape

__all__ = ["ROW_BUFFER_ROWS", "row_buffer_rows", "pass_port_signature", "lane_values",
           "GradientPass"]

#: Rows the least-squares pass's row buffer holds: a row is read back for its accumulate beats
#: while the next rows stream in (enough for any ``L``, ``d`` and target width).
ROW_BUFFER_ROWS = 4


def row_buffer_rows(config) -> int:
    """Rows of the pass's row buffer: :data:`ROW_BUFFER_ROWS`, and half a row more per cycle
    the loss adds before the residual (a row is at least 2 words, one per cycle)."""
    return ROW_BUFFER_ROWS + -(-PASS_LOSS_LATENCY[config.problem] // 2)


def pass_port_signature(config) -> wiring.Signature:
    """The read port of the pass's region: one request for all its words."""
    widths = PassWidths.of(config)
    region = config.n_max * widths.row_words(config.words_per_row)
    return read_port_signature(addr_width=address_shape(region).width,
                               length_width=region.bit_length(), data_width=widths.word_bits)


def lane_values(word, lanes: int, width: int) -> list:
    """The ``lanes`` signed fields of ``width`` bits of a memory word, lane 0 lowest."""
    return [word[lane * width:(lane + 1) * width].as_signed() for lane in range(lanes)]


class GradientPass(wiring.Component):
    """Streams the pass's region once and leaves ``acc_j = sum_i x_ij r_i`` in its memory.

    A data word goes through a word register, the ``L`` products ``x_ij wc_j`` and the adder
    tree into the row's dot register; the row's last target word, delayed alongside, then loads
    ``r_i = dot - yq_i`` (least squares) or enters :class:`LogisticPassResidual` (logistic
    regression: 7 cycles more, and the row's margin written to the data memory). The row, kept
    in a ring of :func:`row_buffer_rows` rows, is read back beat by beat: a product register
    ``x_ij r_i``, then ``acc_j <- acc_j + product`` (the first row writes the product). The
    response is always ready.

    The ``2 L`` products are radix-4 multipliers (:class:`Radix4Multiplier`) in LUTs (the DSPs
    go to the inner loop and the finish); ``3 r`` and ``-r`` are registered with ``r``.

    Latency: ``done`` rises ``2 + tree_stages + 2 + PASS_LOSS_LATENCY + ceil(d/L)`` cycles after
    the region's last word (:func:`~halp_hw.golden.epoch_timing.pass_cycles` from ``start``);
    throughput: one memory word per cycle.

    Parameters
    ----------
    config : halp_hw.golden.hardware.HardwareConfig
        The build: ``lanes``, ``center_bits``, ``gradient_data_bits``, ``d_max``, ``n_max``.

    Attributes
    ----------
    start : In(1)
        Start the pass (while not ``active``): the request is valid from the next cycle.
    n : In(range(n_max + 1))
        Rows; static.
    row_words : In(range(words_per_row + 1))
        Data words per row, ``ceil(d/L)``; static.
    memory : Out(pass_port_signature(config))
        The read port of the pass's region (word 0 is row 0).
    center_addr : Out(address_shape(words_per_row))
        The ``wc`` word the pass reads (the word of the arriving data word).
    center_data : In(lanes * center_bits)
        That word, one cycle later.
    acc_addr : In(address_shape(words_per_row))
        Read address of the accumulators while not ``active``.
    acc_data : Out(lanes * acc_width)
        The accumulator word read one cycle earlier.
    active : Out(1)
        From the cycle after ``start`` until ``done``.
    done : Out(1)
        One cycle: every accumulator holds its sum.
    margin_shift : In(signed(PASS_MARGIN_SHIFT_BITS))
        Logistic builds: the margin shift ``s``; static.
    margin_wr_addr, margin_wr_data, margin_wr_en : Out
        Logistic builds: the write of each row's margin into the data memory.
    """

    def __init__(self, *, config):
        self.config = check_config(config)
        self.widths = widths = PassWidths.of(self.config)
        word = address_shape(self.config.words_per_row)
        logistic = {}
        if self.config.problem == "logreg":
            logistic = {"margin_shift": In(signed(PASS_MARGIN_SHIFT_BITS)),
                        "margin_wr_addr": Out(row_address_shape(self.config)),
                        "margin_wr_data": Out(self.config.lanes * self.config.data_bits),
                        "margin_wr_en": Out(1)}
        super().__init__({
            **logistic,
            "start": In(1),
            "n": In(range(self.config.n_max + 1)),
            "row_words": In(range(self.config.words_per_row + 1)),
            "memory": Out(pass_port_signature(self.config)),
            "center_addr": Out(word),
            "center_data": In(self.config.lanes * self.config.center_bits),
            "acc_addr": In(word),
            "acc_data": Out(self.config.lanes * widths.acc_width),
            "active": Out(1),
            "done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, widths = self.config, self.widths
        lanes, words, target_words = cfg.lanes, cfg.words_per_row, widths.target_words
        request, response = self.memory.request, self.memory.response

        # One request for the whole region (its length a register of the static n and d).
        stride = Signal(range(words + target_words + 1))
        region = Signal.like(request.payload.length)
        m.d.sync += [stride.eq(self.row_words + target_words), region.eq(self.n * stride)]
        with m.If(request.valid & request.ready):
            m.d.sync += request.valid.eq(0)
        m.d.comb += response.ready.eq(1)
        with m.If(self.start):
            m.d.sync += [request.valid.eq(1), request.payload.addr.eq(0),
                         request.payload.length.eq(region), self.active.eq(1)]

        # Where the arriving word belongs: its position in the row, the row buffer's slot.
        fire = Signal()
        position = Signal(range(words + target_words + 1))
        is_data, row_end = Signal(), Signal()
        m.d.comb += [fire.eq(response.valid & response.ready),
                     is_data.eq(position < self.row_words),
                     row_end.eq(position + 1 == stride),
                     self.center_addr.eq(position)]
        with m.If(fire):
            m.d.sync += position.eq(Mux(row_end, 0, position + 1))
        ring = row_buffer_rows(cfg)
        m.submodules.rows = rows = Memory(shape=lanes * widths.data_bits, depth=ring * words,
                                          init=[])
        row_write, row_read = rows.write_port(), rows.read_port()
        write_base = Signal(range(ring * words))
        last_base = (ring - 1) * words
        m.d.comb += [row_write.addr.eq(write_base + position), row_write.data.eq(response.payload),
                     row_write.en.eq(fire & is_data)]
        with m.If(fire & row_end):
            m.d.sync += write_base.eq(Mux(write_base == last_base, 0, write_base + words))

        # The target's words shift in from the top, lowest first.
        word_bits = widths.word_bits
        incoming = Signal(target_words * word_bits)
        with m.If(fire & ~is_data):
            m.d.sync += incoming.eq(Cat(incoming[word_bits:], response.payload)
                                    if target_words > 1 else response.payload)

        # Word register, the products with wc and the tree, the dot, the residual.
        x_word, valid_1, first_1, last_1 = register(
            m, "pass_word", response.payload, fire & is_data, fire & (position == 0),
            fire & row_end)
        products = []
        for lane, (x, c) in enumerate(zip(lane_values(x_word, lanes, widths.data_bits),
                                          lane_values(self.center_data, lanes, cfg.center_bits))):
            products.append(self._product(m, f"dot_product{lane}", x, c, *radix4_multiples(c)))
        target_1 = incoming[:widths.dot_width].as_signed()
        total, (valid_t, first_t, last_t, target_t) = adder_tree(
            m, products, [valid_1, first_1, last_1, target_1], name="pass_tree")
        dot = Signal(signed(widths.dot_width))
        with m.If(valid_t):
            m.d.sync += dot.eq(Mux(first_t, 0, dot) + total)
        row_dot, target = register(m, "pass_target", last_t, target_t)
        residual = Signal(signed(widths.residual_width))
        if cfg.problem == "logreg":
            load_residual, value = self._logistic(m, row_dot, dot, target)
        else:
            load_residual, value = row_dot, dot - target
        # The residual's multiples for the accumulate products, shared by the lanes.
        incoming_residual = Signal.like(residual)
        triple = Signal(signed(widths.residual_width + 2))
        negated = Signal(signed(widths.residual_width + 1))
        next_triple, next_negated = radix4_multiples(incoming_residual)
        m.d.comb += incoming_residual.eq(value)
        with m.If(load_residual):
            m.d.sync += [residual.eq(incoming_residual), triple.eq(next_triple),
                         negated.eq(next_negated)]

        self._accumulate(m, row_read, load_residual, (residual, triple, negated))
        return m

    @staticmethod
    def _product(m, name, narrow, wide, triple, negated):
        """``narrow * wide`` on a :class:`Radix4Multiplier` (LUTs, the DSPs left to the inner
        loop and the finish), given the multiples of ``wide``."""
        multiplier = Radix4Multiplier(narrow_width=len(narrow), wide_width=len(wide))
        m.submodules[name] = multiplier
        m.d.comb += [multiplier.narrow.eq(narrow), multiplier.wide.eq(wide),
                     multiplier.wide_triple.eq(triple), multiplier.wide_negated.eq(negated)]
        return multiplier.product

    def _logistic(self, m, row_dot, dot, target):
        """The logistic residual of the row whose dot is final when ``row_dot`` is high; its
        margin goes to the data memory. Returns the residual's load and value."""
        m.submodules.logistic = logistic = LogisticPassResidual(config=self.config)
        m.d.comb += [logistic.valid.eq(row_dot), logistic.dot.eq(dot),
                     logistic.target.eq(target), logistic.shift.eq(self.margin_shift),
                     logistic.start.eq(self.start), logistic.row_words.eq(self.row_words),
                     self.margin_wr_addr.eq(logistic.margin_wr_addr),
                     self.margin_wr_data.eq(logistic.margin_wr_data),
                     self.margin_wr_en.eq(logistic.margin_wr_en)]
        return logistic.residual_valid, logistic.residual

    def _accumulate(self, m, row_read, load_residual, residual_multiples):
        """The accumulate beats of a row after its residual: buffer read, product, add."""
        cfg, widths = self.config, self.widths
        lanes, words = cfg.lanes, cfg.words_per_row
        beat = Signal(range(words + 1))
        reading = Signal()
        issue, last = Signal(), Signal()
        ring = row_buffer_rows(cfg)
        read_base = Signal(range(ring * words))
        m.d.comb += [issue.eq(load_residual | reading), last.eq(beat + 1 == self.row_words),
                     row_read.addr.eq(read_base + beat)]
        with m.If(issue):
            m.d.sync += [beat.eq(Mux(last, 0, beat + 1)), reading.eq(~last)]
            with m.If(last):
                last_base = (ring - 1) * words
                m.d.sync += read_base.eq(Mux(read_base == last_base, 0, read_base + words))
        valid_a, addr_a, last_a = register(m, "accumulate_read", issue, beat, last)

        m.submodules.accumulators = accumulators = Memory(
            shape=lanes * widths.acc_width, depth=max(2, words), init=[], attrs=BLOCK_RAM)
        acc_write, acc_read = accumulators.write_port(), accumulators.read_port()
        m.d.comb += [acc_read.addr.eq(Mux(self.active, addr_a, self.acc_addr)),
                     self.acc_data.eq(acc_read.data)]
        products = [Signal(signed(widths.data_bits + widths.residual_width),
                           name=f"accumulate_product{lane}") for lane in range(lanes)]
        m.d.sync += [product.eq(self._product(m, f"accumulate_multiplier{lane}", x,
                                              *residual_multiples))
                     for lane, (product, x) in
                     enumerate(zip(products, lane_values(row_read.data, lanes, widths.data_bits)))]
        valid_p, addr_p, last_p = register(m, "accumulate_product", valid_a, addr_a, last_a)
        first_row = Signal()
        old = lane_values(acc_read.data, lanes, widths.acc_width)
        m.d.comb += [acc_write.addr.eq(addr_p), acc_write.en.eq(valid_p),
                     acc_write.data.eq(Cat(*((Mux(first_row, 0, acc) + product)[:widths.acc_width]
                                             for acc, product in zip(old, products))))]

        rows_done = Signal(range(cfg.n_max + 1))
        m.d.sync += self.done.eq(0)
        with m.If(self.start):
            m.d.sync += [first_row.eq(1), rows_done.eq(0)]
        with m.If(valid_p & last_p):
            m.d.sync += [first_row.eq(0), rows_done.eq(rows_done + 1)]
            with m.If(rows_done + 1 == self.n):
                m.d.sync += [self.done.eq(1), self.active.eq(0)]
