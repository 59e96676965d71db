"""The finish of the full-gradient pass: ``t_j``, ``Q = sum t_j**2``, the scale exponent and
``G``.

Golden: :func:`halp_hw.golden.full_gradient.finish_gradient`; cycles:
:func:`halp_hw.golden.epoch_timing.finish_cycles` (``docs/numeric-contract.md``, "The epoch on
the accelerator"):

    t_j = acc_j + rshift(wc_j * LAMBDA.m, -LAMBDA.e)
    G_j = clamp(rshift(t_j * A.m, e - gradient_shift), grad_width)

with ``gradient_shift = A.e + 2 exg + ec + F``.
"""

from __future__ import annotations

from amaranth import Array, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from halp_hw.golden.epoch_timing import finish_period
from halp_hw.golden.full_gradient import (CONSTANT_BITS, CONSTANT_EXPONENT_BITS,
                                          SCALE_EXPONENT_BITS, PassWidths)

from .adder_tree import delay, register
from .digit_serial_multiplier import DigitSerialMultiplier
from .centering import address_shape
from .gradient_pass import lane_values
from .lane import check_config
from .rounder import saturate
from .scale_exponent import ScaleExponentUnit

__all__ = ["GRADIENT_SHIFT_BITS", "round_shift", "GradientFinish"]

#: Width of the signed ``gradient_shift`` (``A.e + 2 exg + ec + F``).
GRADIENT_SHIFT_BITS = 14


def round_shift(m: Module, value, shift, *, left_limit: int, name: str):
    """``rshift(value, shift)`` of the golden model: ``value << -shift`` for ``shift <= 0``,
    nearest with ties up for ``shift > 0``. The left shift is clamped to ``left_limit`` (the
    caller's result saturates or is exact at that distance) and the right shift to the width of
    ``value`` (beyond it the result is 0 either way). Combinational."""
    width = len(value)
    left = Signal(range(left_limit + 1), name=f"{name}_left")
    right = Signal(range(width + 1), name=f"{name}_right")
    m.d.comb += [left.eq(Mux(shift < -left_limit, left_limit, Mux(shift < 0, -shift, 0))),
                 right.eq(Mux(shift > width, width - 1, Mux(shift > 0, shift - 1, 0)))]
    rounded = ((value >> right) + 1) >> 1
    return Mux(shift > 0, rounded, value << left)


class GradientFinish(wiring.Component):
    """Two sweeps over the accumulators after the pass, one feature every ``period`` cycles:
    the squares, then ``G``.

    Two digit-serial multipliers (:class:`DigitSerialMultiplier`), whatever ``L`` (``t`` has
    ``acc_width + 1`` bits; full products of that width would take most of a small FPGA's
    DSPs): ``wc_j LAMBDA.m`` and
    ``t_j t_j`` or ``t_j A.m``, one 17-bit digit per cycle, exact. Sweep 1 (from ``start``):
    feature ``j`` reads word ``j // L`` of ``acc`` and ``wc``, selects lane ``j % L``;
    ``wc_j LAMBDA.m`` (``acc_j`` held), ``t`` registered, its square, the running sum ``Q``;
    then :class:`ScaleExponentUnit` (2 cycles) gives ``e``, announced by ``recenter`` (clear
    ``z``, load ``exponent``). Sweep 2 (in that cycle): the features read again,
    ``wc_j LAMBDA.m``, ``t`` registered, ``t * A.m``, the shift registered, the clamped lane into
    the word register, which is written to ``G`` after its last lane.

    Latency: ``done`` is high :func:`~halp_hw.golden.epoch_timing.finish_cycles` cycles after
    ``start`` (``8 d + 17`` for ``acc_width`` 51..67), in the cycle of the last write of ``G``;
    throughput: one feature every ``period`` =
    :func:`~halp_hw.golden.epoch_timing.finish_period` cycles.

    Parameters
    ----------
    config : halp_hw.golden.hardware.HardwareConfig
        The build.

    Attributes
    ----------
    period : int
        Cycles between two features of a sweep.
    start : In(1)
        Start the first sweep (the accumulators hold the pass's sums).
    d : In(range(d_max + 1))
        Features; static.
    l2_mantissa, l2_exponent : In(CONSTANT_BITS), In(signed(CONSTANT_EXPONENT_BITS))
        ``LAMBDA``; static.
    gradient_mantissa : In(CONSTANT_BITS)
        ``A.m``; static.
    gradient_shift : In(signed(GRADIENT_SHIFT_BITS))
        ``A.e + 2 exg + ec + F``; static.
    bound_mantissa, bound_exponent : In(CONSTANT_BITS), In(signed(CONSTANT_EXPONENT_BITS))
        ``K``; static.
    previous : In(signed(SCALE_EXPONENT_BITS))
        The scale register (kept when ``Q = 0``).
    acc_addr, center_addr : Out(address_shape(words_per_row))
        The word read (the same for both memories).
    acc_data, center_data : In
        The words read one cycle earlier.
    reading : Out(1)
        ``acc_addr`` and ``center_addr`` are in use.
    recenter : Out(1)
        One cycle: ``exponent`` holds the new scale exponent.
    exponent : Out(signed(SCALE_EXPONENT_BITS))
        ``e``, with ``recenter``.
    g_addr : Out(address_shape(words_per_row))
    g_data : Out(lanes * grad_width)
    g_en : Out(1)
        The write port of the gradient memory (lanes past ``d`` written 0).
    saturations : Out(range(2))
        A clamp of ``G`` in this cycle.
    done : Out(1)
        One cycle: the last word of ``G`` is written.
    """

    def __init__(self, *, config):
        self.config = check_config(config)
        self.widths = widths = PassWidths.of(self.config)
        self.period = finish_period(self.config)
        word = address_shape(self.config.words_per_row)
        lanes = self.config.lanes
        super().__init__({
            "start": In(1),
            "d": In(range(self.config.d_max + 1)),
            "l2_mantissa": In(CONSTANT_BITS),
            "l2_exponent": In(signed(CONSTANT_EXPONENT_BITS)),
            "gradient_mantissa": In(CONSTANT_BITS),
            "gradient_shift": In(signed(GRADIENT_SHIFT_BITS)),
            "bound_mantissa": In(CONSTANT_BITS),
            "bound_exponent": In(signed(CONSTANT_EXPONENT_BITS)),
            "previous": In(signed(SCALE_EXPONENT_BITS)),
            "acc_addr": Out(word),
            "acc_data": In(lanes * widths.acc_width),
            "center_addr": Out(word),
            "center_data": In(lanes * self.config.center_bits),
            "reading": Out(1),
            "recenter": Out(1),
            "exponent": Out(signed(SCALE_EXPONENT_BITS)),
            "g_addr": Out(word),
            "g_data": Out(lanes * self.config.grad_width),
            "g_en": Out(1),
            "saturations": Out(range(2)),
            "done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, widths = self.config, self.widths
        lanes, term_width, period = cfg.lanes, widths.acc_width + 1, self.period
        m.submodules.scale = scale = ScaleExponentUnit(config=cfg)
        m.d.comb += [scale.bound_mantissa.eq(self.bound_mantissa),
                     scale.bound_exponent.eq(self.bound_exponent),
                     scale.previous.eq(self.previous), scale.o.ready.eq(1),
                     self.recenter.eq(scale.o.valid), self.exponent.eq(scale.o.payload)]

        # The sweeps' reads, one feature every `period` cycles: from start (squares) and from
        # the exponent (gradient); word j // L, lane j % L.
        feature = Signal(range(cfg.d_max + 1))
        word, lane = Signal.like(self.acc_addr), Signal(range(lanes))
        sweeping, gradient_sweep, phase = Signal(), Signal(), Signal(range(period))
        issue, last, word_end = Signal(), Signal(), Signal()
        m.d.comb += [issue.eq(self.start | scale.o.valid | (sweeping & (phase == 0))),
                     self.reading.eq(self.start | scale.o.valid | sweeping),
                     last.eq(feature + 1 == self.d), word_end.eq((lane == lanes - 1) | last),
                     self.acc_addr.eq(word), self.center_addr.eq(word)]
        with m.If(sweeping):
            m.d.sync += phase.eq(Mux(phase == period - 1, 0, phase + 1))
        with m.If(issue):
            m.d.sync += [feature.eq(Mux(last, 0, feature + 1)), sweeping.eq(~last),
                         phase.eq(1 % period), lane.eq(Mux(word_end, 0, lane + 1)),
                         word.eq(Mux(last, 0, Mux(word_end, word + 1, word)))]
        with m.If(self.start):
            m.d.sync += gradient_sweep.eq(0)
        with m.If(scale.o.valid):
            m.d.sync += gradient_sweep.eq(1)
        is_gradient = Mux(self.start, 0, scale.o.valid | gradient_sweep)
        control = register(m, "finish_read", issue, is_gradient, word, lane, last, word_end)
        valid_a, lane_a = control[0], control[3]

        # t of the feature read, from its lane of the words: wc * LAMBDA.m on the digit-serial
        # multiplier (acc held meanwhile), then t registered.
        m.submodules.l2_multiplier = l2_multiplier = DigitSerialMultiplier(
            a_width=cfg.center_bits, b_width=CONSTANT_BITS + 1)
        acc = Signal(signed(widths.acc_width))
        with m.If(valid_a):
            m.d.sync += acc.eq(
                Array(lane_values(self.acc_data, lanes, widths.acc_width))[lane_a])
        m.d.comb += [
            l2_multiplier.start.eq(valid_a), l2_multiplier.b.eq(self.l2_mantissa),
            l2_multiplier.a.eq(Array(lane_values(self.center_data, lanes, cfg.center_bits))[
                lane_a])]
        control = delay(m, "finish_l2", l2_multiplier.digits + 1, *control)
        valid_l2 = control[0]
        term = Signal(signed(term_width))
        with m.If(valid_l2):
            m.d.sync += term.eq(acc + round_shift(m, l2_multiplier.product, -self.l2_exponent,
                                                  left_limit=term_width, name="l2_term"))
        valid_t, gradient_t, *position = register(m, "finish_term", *control)

        # t * t (sweep 1) or t * A.m (sweep 2) on the other digit-serial multiplier.
        m.submodules.term_multiplier = term_multiplier = DigitSerialMultiplier(
            a_width=term_width, b_width=term_width)
        m.d.comb += [term_multiplier.start.eq(valid_t), term_multiplier.a.eq(term),
                     term_multiplier.b.eq(Mux(gradient_t, self.gradient_mantissa, term))]
        valid_p, gradient_p, word_p, lane_p, last_p, end_p = delay(
            m, "finish_product", term_multiplier.digits + 1, valid_t, gradient_t, *position)

        # Sweep 1: the running sum Q of the squares, the exponent.
        with m.If(self.start):
            m.d.sync += scale.i.payload.eq(0)
        with m.If(valid_p & ~gradient_p):
            m.d.sync += scale.i.payload.eq(scale.i.payload + term_multiplier.product)
        m.d.sync += scale.i.valid.eq(valid_p & ~gradient_p & last_p)

        # Sweep 2: the shift of t * A.m by e - gradient_shift, the clamp into the word register,
        # the write of G.
        exponent = Signal(signed(SCALE_EXPONENT_BITS))
        with m.If(scale.o.valid):
            m.d.sync += exponent.eq(scale.o.payload)
        shift = Signal(signed(GRADIENT_SHIFT_BITS + 1))
        m.d.comb += shift.eq(exponent - self.gradient_shift)
        product = Signal(signed(term_width + CONSTANT_BITS + 1))
        m.d.comb += product.eq(term_multiplier.product)
        shifted = Signal(signed(len(product) + cfg.grad_width + 1))
        m.d.sync += shifted.eq(round_shift(m, product, shift, left_limit=cfg.grad_width + 1,
                                           name="gradient"))
        valid_c, word_c, lane_c, last_c, end_c = register(
            m, "finish_shift", valid_p & gradient_p, word_p, lane_p, last_p, end_p)
        grad, clamped = saturate(shifted, cfg.grad_width)
        grads = Signal(ArrayLayout(signed(cfg.grad_width), lanes))
        write, g_addr, g_last = Signal(), Signal.like(word_c), Signal()
        with m.If(valid_c):
            for index in range(lanes):  # the word's first lane clears the others
                with m.If(lane_c == index):
                    m.d.sync += grads[index].eq(grad)
                with m.Elif(lane_c == 0):
                    m.d.sync += grads[index].eq(0)
        m.d.sync += [write.eq(valid_c & end_c), g_addr.eq(word_c), g_last.eq(valid_c & last_c),
                     self.saturations.eq(valid_c & clamped)]
        m.d.comb += [self.g_addr.eq(g_addr), self.g_data.eq(grads), self.g_en.eq(write),
                     self.done.eq(g_last)]
        return m
