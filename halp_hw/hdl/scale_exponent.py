"""The bit-centering exponent from the sum of squares: leading-one position and one compare.

Golden: :func:`halp_hw.golden.full_gradient.scale_exponent` (``docs/numeric-contract.md``, "The
epoch on the accelerator"). With the normalized bound mantissa (``bit_length(K.m) = 32``), the
smallest ``e`` with ``Q <= K.m 2**(K.e + 2 e)`` is ``e0 = ceil((p - 32 - K.e) / 2)`` or
``e0 + 1``, ``p = bit_length(Q)``: when ``p - 32 - K.e`` is odd ``e0`` always holds
(``K.m 2**(p - 31) >= 2**p > Q``); when it is even ``e0`` holds iff
``Q <= K.m 2**(p - 32)``, a compare of ``Q`` normalized to its leading one against ``K.m``.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.full_gradient import (CONSTANT_BITS, CONSTANT_EXPONENT_BITS,
                                          SCALE_EXPONENT_BITS, PassWidths)

from .lane import check_config

__all__ = ["ScaleExponentUnit"]


class ScaleExponentUnit(wiring.Component):
    """``e`` from ``Q``, the bound ``K`` and the previous exponent, in two stages.

    Stage 1 registers ``Q`` and its leading-one position ``p`` (a priority encoder); stage 2
    normalizes ``Q`` (``Q << (width - p)``), compares its top ``CONSTANT_BITS`` bits and the rest
    with ``K.m``, and registers ``e`` clamped to the scale register (``Q = 0`` gives
    ``previous``). The pipeline advances when its output is free (``o.ready`` high or
    ``o.valid`` low).

    Latency: 2 cycles from an accepted ``Q`` to its ``o.valid``. Throughput: one per cycle while
    ``o.ready`` stays high.

    Parameters
    ----------
    config : halp_hw.golden.hardware.HardwareConfig
        The build; ``Q`` is ``PassWidths.of(config).sum_of_squares_width`` bits.

    Attributes
    ----------
    i : In(stream.Signature(unsigned(sum_of_squares_width)))
        The sum of squares ``Q``.
    bound_mantissa : In(CONSTANT_BITS)
        ``K.m``, normalized (top bit set); static.
    bound_exponent : In(signed(CONSTANT_EXPONENT_BITS))
        ``K.e``; static.
    previous : In(signed(SCALE_EXPONENT_BITS))
        The scale register, kept when ``Q = 0``; static while a ``Q`` is in flight.
    o : Out(stream.Signature(signed(SCALE_EXPONENT_BITS)))
        The new exponent ``e``, in input order.
    """

    def __init__(self, *, config):
        self.config = check_config(config)
        self.width = PassWidths.of(self.config).sum_of_squares_width
        super().__init__({
            "i": In(stream.Signature(unsigned(self.width))),
            "bound_mantissa": In(CONSTANT_BITS),
            "bound_exponent": In(signed(CONSTANT_EXPONENT_BITS)),
            "previous": In(signed(SCALE_EXPONENT_BITS)),
            "o": Out(stream.Signature(signed(SCALE_EXPONENT_BITS))),
        })

    def elaborate(self, platform):
        m = Module()
        width = self.width
        advance = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(advance)

        leading = Signal(range(width + 1))
        for bit in range(width):  # the last assignment wins: the highest set bit
            with m.If(self.i.payload[bit]):
                m.d.comb += leading.eq(bit + 1)
        sum_1, position_1, valid_1 = Signal(width), Signal(range(width + 1)), Signal()
        with m.If(advance):
            m.d.sync += [sum_1.eq(self.i.payload), position_1.eq(leading),
                         valid_1.eq(self.i.valid)]

        distance, normalized = Signal(range(width + 1)), Signal(width)
        m.d.comb += [distance.eq(width - position_1), normalized.eq(sum_1 << distance)]
        top = normalized[max(0, width - CONSTANT_BITS):]
        if width > CONSTANT_BITS:
            within = (top < self.bound_mantissa) | (
                (top == self.bound_mantissa) & (normalized[:width - CONSTANT_BITS] == 0))
        else:  # Q is narrower than K.m: compare Q << (32 - width) whole
            within = (top << (CONSTANT_BITS - width)) <= self.bound_mantissa
        excess = Signal(signed(CONSTANT_EXPONENT_BITS + 3))
        m.d.comb += excess.eq(position_1 - CONSTANT_BITS - self.bound_exponent)
        first = Signal(signed(CONSTANT_EXPONENT_BITS + 3))
        m.d.comb += first.eq((excess + 1) >> 1)  # ceil(excess / 2)
        exponent = Signal(signed(CONSTANT_EXPONENT_BITS + 3))
        m.d.comb += exponent.eq(first + (~excess[0] & ~within))
        low, high = int_range(SCALE_EXPONENT_BITS)
        clamped = Mux(exponent < low, low, Mux(exponent > high, high, exponent))
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(valid_1),
                         self.o.payload.eq(Mux(position_1 == 0, self.previous, clamped))]
        return m
