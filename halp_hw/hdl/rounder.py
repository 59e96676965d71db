"""Stochastic rounding with saturation: the one place HDL drops fraction bits.

Golden: :func:`halp_hw.golden.fixedpoint.shift_round` followed by :func:`halp_hw.golden.fixedpoint.saturate`.
"""

from __future__ import annotations

from amaranth import Module, Mux, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.validation import check_int

__all__ = ["MAX_IN_WIDTH", "saturate", "StochasticRounder"]

#: Widest rounder input; ``HardwareConfig.update_width`` is at most 60.
MAX_IN_WIDTH = 128


def saturate(value, width: int):
    """Clamp a signed Amaranth value to ``width`` bits; return the clamped value and a flag.

    The HDL twin of :func:`halp_hw.golden.fixedpoint.saturate`. It fits exactly when truncation to
    ``width`` bits and sign extension give it back: an equality (a LUT tree), not two carry-chain
    comparisons, which keeps the rounding stage short.
    """
    low, high = int_range(width)
    fits = value == value[:width].as_signed()
    negative = value.as_signed() < 0
    return Mux(fits, value, Mux(negative, low, high)), ~fits


class StochasticRounder(wiring.Component):
    """Combinational ``clamp((value + random) >> frac_bits)`` and its saturation flag.

    With ``random`` uniform over its ``frac_bits`` bits this is unbiased stochastic rounding of a
    number with ``frac_bits`` fraction bits; the add is exact (one bit wider than its inputs) and
    the shift is arithmetic, so the result is the floor of the real quotient before the clamp.

    Parameters
    ----------
    in_width : int
        Width of the signed ``value``, 2..MAX_IN_WIDTH.
    frac_bits : int
        Fraction bits dropped, and width of ``random``, 1..32.
    out_width : int
        Width of the signed ``result``, 2..in_width.

    Attributes
    ----------
    value : In(signed(in_width))
        The number to round, in units of ``2**-frac_bits``.
    random : In(unsigned(frac_bits))
        The random bits added below the kept LSB.
    result : Out(signed(out_width))
        The rounded, saturated value.
    saturated : Out(1)
        High when the clamp changed the result.
    """

    def __init__(self, *, in_width: int, frac_bits: int, out_width: int):
        self.in_width = check_int("in_width", in_width, 2, MAX_IN_WIDTH)
        self.frac_bits = check_int("frac_bits", frac_bits, 1, 32)
        self.out_width = check_int("out_width", out_width, 2, self.in_width)
        super().__init__({
            "value": In(signed(self.in_width)),
            "random": In(unsigned(self.frac_bits)),
            "result": Out(signed(self.out_width)),
            "saturated": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        shifted = (self.value + self.random).shift_right(self.frac_bits)
        result, saturated = saturate(shifted, self.out_width)
        m.d.comb += [self.result.eq(result), self.saturated.eq(saturated)]
        return m
