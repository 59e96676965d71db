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

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.full_gradient import (CONSTANT_BITS, CONSTANT_EXPONENT_BITS,
                                          SCALE_EXPONENT_BITS, PassWidths)

from .adder_tree import adder_tree, register
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
    """Two sweeps over the accumulators after the pass: the squares, then ``G``.

    Sweep 1 (from ``start``): one word of ``acc`` and ``wc`` read per beat, ``t`` and its square
    registered, the adder tree, the running sum ``Q``; then :class:`ScaleExponentUnit` (2
    cycles) gives ``e``, announced by ``recenter`` (clear ``z``, load ``exponent``). Sweep 2 (in
    that cycle): the words read again, ``t * A.m`` registered, the shift registered, the clamp
    registered, then ``G`` written.

    Latency: ``done`` rises ``finish_cycles - 1`` cycles after ``start``
    (:func:`~halp_hw.golden.epoch_timing.finish_cycles`); throughput: one word of ``L`` lanes
    per cycle in each sweep.

    Parameters
    ----------
    config : halp_hw.golden.hardware.HardwareConfig
        The build.

    Attributes
    ----------
    start : In(1)
        Start the first sweep (the accumulators hold the pass's sums).
    row_words : In(range(words_per_row + 1))
        Words of ``d`` features, ``ceil(d/L)``; static.
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
        The write port of the gradient memory.
    saturations : Out(range(lanes + 1))
        Lanes of ``G`` clamped in this cycle's write.
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
            "row_words": In(range(self.config.words_per_row + 1)),
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
            "saturations": Out(range(lanes + 1)),
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

        # The sweeps' reads: from start (squares) and from the exponent (gradient).
        beat = Signal(range(cfg.words_per_row + 1))
        reading, gradient_sweep = Signal(), Signal()
        last = Signal()
        m.d.comb += [self.reading.eq(self.start | scale.o.valid | reading),
                     last.eq(beat + 1 == self.row_words),
                     self.acc_addr.eq(beat), self.center_addr.eq(beat)]
        with m.If(self.reading):
            m.d.sync += [beat.eq(Mux(last, 0, beat + 1)), reading.eq(~last)]
        with m.If(self.start):
            m.d.sync += gradient_sweep.eq(0)
        with m.If(scale.o.valid):
            m.d.sync += gradient_sweep.eq(1)
        is_gradient = Mux(self.start, 0, scale.o.valid | gradient_sweep)
        valid_a, gradient_a, addr_a, last_a = register(m, "finish_read", self.reading,
                                                       is_gradient, beat, last)

        # t of every lane, from the words read.
        terms = []
        for lane, (acc, center) in enumerate(zip(
                lane_values(self.acc_data, lanes, widths.acc_width),
                lane_values(self.center_data, lanes, cfg.center_bits))):
            l2_term = round_shift(m, center * self.l2_mantissa, -self.l2_exponent,
                                  left_limit=term_width, name=f"l2_term{lane}")
            term = Signal(signed(term_width), name=f"term{lane}")
            m.d.comb += term.eq(acc + l2_term)
            terms.append(term)

        # Sweep 1: squares, the tree, the running sum Q, the exponent.
        squares = [Signal(2 * widths.acc_width, name=f"square{lane}") for lane in range(lanes)]
        m.d.sync += [square.eq(term * term) for square, term in zip(squares, terms)]
        valid_s, last_s = register(m, "finish_square", valid_a & ~gradient_a, last_a)
        total, (valid_t, last_t) = adder_tree(m, squares, [valid_s, last_s], name="square_tree")
        with m.If(self.start):
            m.d.sync += scale.i.payload.eq(0)
        with m.If(valid_t):
            m.d.sync += scale.i.payload.eq(scale.i.payload + total)
        m.d.sync += scale.i.valid.eq(valid_t & last_t)

        # Sweep 2: t * A.m, the shift by e - gradient_shift, the clamp, the write of G.
        exponent = Signal(signed(SCALE_EXPONENT_BITS))
        with m.If(scale.o.valid):
            m.d.sync += exponent.eq(scale.o.payload)
        shift = Signal(signed(GRADIENT_SHIFT_BITS + 1))
        m.d.comb += shift.eq(exponent - self.gradient_shift)
        products = [Signal(signed(term_width + CONSTANT_BITS + 1), name=f"scaled_term{lane}")
                    for lane in range(lanes)]
        m.d.sync += [product.eq(term * self.gradient_mantissa)
                     for product, term in zip(products, terms)]
        control = register(m, "finish_product", valid_a & gradient_a, addr_a, last_a)
        shifted = [Signal(signed(len(product) + cfg.grad_width + 1), name=f"shifted{lane}")
                   for lane, product in enumerate(products)]
        m.d.sync += [value.eq(round_shift(m, product, shift, left_limit=cfg.grad_width + 1,
                                          name=f"gradient{lane}"))
                     for lane, (value, product) in enumerate(zip(shifted, products))]
        control = register(m, "finish_shift", *control)
        clamped = [saturate(value, cfg.grad_width) for value in shifted]
        grads = [Signal(signed(cfg.grad_width), name=f"grad{lane}") for lane in range(lanes)]
        flags = Signal(lanes)
        m.d.sync += [grad.eq(value) for grad, (value, _) in zip(grads, clamped)]
        m.d.sync += flags.eq(Cat(flag for _, flag in clamped))
        valid_g, addr_g, last_g = register(m, "finish_clamp", *control)
        m.d.comb += [self.g_addr.eq(addr_g), self.g_data.eq(Cat(*grads)), self.g_en.eq(valid_g),
                     self.saturations.eq(Mux(valid_g, sum(flags[lane] for lane in range(lanes)),
                                             0)),
                     self.done.eq(valid_g & last_g)]
        return m
