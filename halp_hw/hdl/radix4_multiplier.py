"""An exact product of a narrow signed operand and a wide one in LUTs, from precomputed
multiples of the wide operand: the full-gradient pass's ``xg x wc`` and ``xg x r``.

The DSPs of a small FPGA go to the inner loop's multipliers; a generic soft ``8 x 47``
multiplier costs about 1 300 LUT4 on the ECP5 (Yosys 0.70), this one about half as much. The
narrow operand ``x`` (``n`` bits, two's complement) is cut into radix-4 digits, the low ones
unsigned (``0..3``) and the top one signed (``-2..1``, or ``-1..0`` for odd ``n``):

    x = sum_k d_k 4**k,   x w = sum_k (d_k w) 4**k

so every partial product is a 4-way choice among ``0, w, 2 w, 3 w`` (low digits) or
``0, w, -2 w, -w`` (the top digit), and ``ceil(n / 2)`` partial products are summed. The
multiples ``3 w`` and ``-w`` come from :func:`radix4_multiples`: once per operand (a residual
shared by all lanes) or per lane.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.validation import check_int

__all__ = ["radix4_multiples", "Radix4Multiplier"]


def radix4_multiples(value):
    """``(3 value, -value)``, the multiples :class:`Radix4Multiplier` takes besides ``value``
    (Amaranth expressions, exact widths)."""
    return value + (value << 1), -value


class Radix4Multiplier(wiring.Component):
    """``product = narrow * wide``, exact, combinational.

    Latency: 0 cycles (combinational); throughput: one product per cycle.

    Parameters
    ----------
    narrow_width : int
        Bits of the narrow signed operand ``x``, at least 2.
    wide_width : int
        Bits of the wide signed operand ``w``, at least 2.

    Attributes
    ----------
    narrow : In(signed(narrow_width))
        ``x``.
    wide : In(signed(wide_width))
        ``w``.
    wide_triple : In(signed(wide_width + 2))
        ``3 w`` (:func:`radix4_multiples`).
    wide_negated : In(signed(wide_width + 1))
        ``-w`` (:func:`radix4_multiples`).
    product : Out(signed(narrow_width + wide_width))
        ``x w``.
    """

    def __init__(self, *, narrow_width: int, wide_width: int):
        self.narrow_width = check_int("narrow_width", narrow_width, 2)
        self.wide_width = check_int("wide_width", wide_width, 2)
        super().__init__({
            "narrow": In(signed(narrow_width)),
            "wide": In(signed(wide_width)),
            "wide_triple": In(signed(wide_width + 2)),
            "wide_negated": In(signed(wide_width + 1)),
            "product": Out(signed(narrow_width + wide_width)),
        })

    def elaborate(self, platform):
        m = Module()
        x, w = self.narrow, self.wide
        double = w << 1
        partials = []
        for low in range(0, self.narrow_width, 2):
            digit = x[low:low + 2]
            if low + 2 < self.narrow_width:  # unsigned digit 0..3
                partial = Mux(digit[1], Mux(digit[0], self.wide_triple, double),
                              Mux(digit[0], w, 0))
            elif len(digit) == 2:  # signed top digit: 0, 1, -2, -1
                partial = Mux(digit[1], Mux(digit[0], self.wide_negated, self.wide_negated << 1),
                              Mux(digit[0], w, 0))
            else:  # signed top bit: 0, -1
                partial = Mux(digit[0], self.wide_negated, 0)
            partials.append(partial << low)
        level = 0
        while len(partials) > 1:  # a balanced sum of two-input adders (carry chains)
            pairs = []
            for i in range(0, len(partials) - 1, 2):
                total = partials[i] + partials[i + 1]
                pair = Signal(total.shape(), name=f"sum{level}_{i // 2}", attrs={"keep": 1})
                m.d.comb += pair.eq(total)
                pairs.append(pair)
            partials = pairs + partials[2 * len(pairs):]
            level += 1
        m.d.comb += self.product.eq(partials[0])
        return m
