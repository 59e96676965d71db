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

from halp_hw.golden.full_gradient import (CONSTANT_BITS, CONSTANT_EXPONENT_BITS,
                                          SCALE_EXPONENT_BITS, PassWidths)

from .adder_tree import register
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
    """Two sweeps over the accumulators after the pass, one feature per cycle: the squares,
    then ``G``.

    One multiplier of each kind, whatever ``L``: the finish costs ``2 d`` cycles against the
    pass's ``n ceil(d/L)``, and its products are wide (``t`` has ``acc_width + 1`` bits). Sweep
    1 (from ``start``): feature ``j`` reads word ``j // L`` of ``acc`` and ``wc``, selects lane
    ``j % L``; ``wc_j LAMBDA.m``, ``t`` and its square registered, the running sum ``Q``; then
    :class:`ScaleExponentUnit` (2 cycles) gives ``e``, announced by ``recenter`` (clear ``z``,
    load ``exponent``). Sweep 2 (in that cycle): the features read again, ``wc_j LAMBDA.m``,
    ``t`` and ``t * A.m`` registered, the shift registered, the clamped lane into the word register, which is written
    to ``G`` after its last lane.

    Latency: ``done`` is high ``finish_cycles = 2 d + 11`` cycles after ``start``
    (:func:`~halp_hw.golden.epoch_timing.finish_cycles`), in the cycle of the last write of
    ``G``; throughput: one feature per cycle.

    Parameters
    ----------
    config : halp_hw.golden.hardware.HardwareConfig
        The build.

    Attributes
    ----------
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
        lanes, term_width = cfg.lanes, widths.acc_width + 1
        m.submodules.scale = scale = ScaleExponentUnit(config=cfg)
        m.d.comb += [scale.bound_mantissa.eq(self.bound_mantissa),
                     scale.bound_exponent.eq(self.bound_exponent),
                     scale.previous.eq(self.previous), scale.o.ready.eq(1),
                     self.recenter.eq(scale.o.valid), self.exponent.eq(scale.o.payload)]

        # The sweeps' reads, one feature per cycle: from start (squares) and from the exponent
        # (gradient); word j // L, lane j % L.
        feature = Signal(range(cfg.d_max + 1))
        word, lane = Signal.like(self.acc_addr), Signal(range(lanes))
        reading, gradient_sweep = Signal(), Signal()
        last, word_end = Signal(), Signal()
        m.d.comb += [self.reading.eq(self.start | scale.o.valid | reading),
                     last.eq(feature + 1 == self.d), word_end.eq((lane == lanes - 1) | last),
                     self.acc_addr.eq(word), self.center_addr.eq(word)]
        with m.If(self.reading):
            m.d.sync += [feature.eq(Mux(last, 0, feature + 1)), reading.eq(~last),
                         lane.eq(Mux(word_end, 0, lane + 1)),
                         word.eq(Mux(last, 0, Mux(word_end, word + 1, word)))]
        with m.If(self.start):
            m.d.sync += gradient_sweep.eq(0)
        with m.If(scale.o.valid):
            m.d.sync += gradient_sweep.eq(1)
        is_gradient = Mux(self.start, 0, scale.o.valid | gradient_sweep)
        valid_a, gradient_a, word_a, lane_a, last_a, end_a = register(
            m, "finish_read", self.reading, is_gradient, word, lane, last, word_end)

        # t of the feature read, from its lane of the words: the product wc * LAMBDA.m
        # registered (with acc), then t registered.
        l2_product = Signal(signed(cfg.center_bits + CONSTANT_BITS + 1))
        acc = Signal(signed(widths.acc_width))
        m.d.sync += [
            l2_product.eq(Array(lane_values(self.center_data, lanes, cfg.center_bits))[lane_a]
                          * self.l2_mantissa),
            acc.eq(Array(lane_values(self.acc_data, lanes, widths.acc_width))[lane_a])]
        control = register(m, "finish_l2", valid_a, gradient_a, word_a, lane_a, last_a, end_a)
        term = Signal(signed(term_width))
        m.d.sync += term.eq(acc + round_shift(m, l2_product, -self.l2_exponent,
                                              left_limit=term_width, name="l2_term"))
        valid_t, gradient_t, word_t, lane_t, last_t, end_t = register(m, "finish_term", *control)

        # Sweep 1: the square, the running sum Q, the exponent.
        square = Signal(2 * widths.acc_width)
        m.d.sync += square.eq(term * term)
        valid_s, last_s = register(m, "finish_square", valid_t & ~gradient_t, last_t)
        with m.If(self.start):
            m.d.sync += scale.i.payload.eq(0)
        with m.If(valid_s):
            m.d.sync += scale.i.payload.eq(scale.i.payload + square)
        m.d.sync += scale.i.valid.eq(valid_s & last_s)

        # Sweep 2: t * A.m, the shift by e - gradient_shift, the clamp into the word register,
        # the write of G.
        exponent = Signal(signed(SCALE_EXPONENT_BITS))
        with m.If(scale.o.valid):
            m.d.sync += exponent.eq(scale.o.payload)
        shift = Signal(signed(GRADIENT_SHIFT_BITS + 1))
        m.d.comb += shift.eq(exponent - self.gradient_shift)
        product = Signal(signed(term_width + CONSTANT_BITS + 1))
        m.d.sync += product.eq(term * self.gradient_mantissa)
        control = register(m, "finish_product", valid_t & gradient_t, word_t, lane_t, last_t,
                           end_t)
        shifted = Signal(signed(len(product) + cfg.grad_width + 1))
        m.d.sync += shifted.eq(round_shift(m, product, shift, left_limit=cfg.grad_width + 1,
                                           name="gradient"))
        valid_c, word_c, lane_c, last_c, end_c = register(m, "finish_shift", *control)
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
