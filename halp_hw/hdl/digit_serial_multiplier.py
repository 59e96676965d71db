"""An exact product of two wide signed operands over several cycles on one narrow multiplier:
the finish's ``wc LAMBDA.m``, ``t**2`` and ``t A.m``.

``b`` is cut into ``digits = ceil(b_width / DIGIT_BITS)`` digits (17 bits,
:data:`~halp_hw.golden.epoch_timing.MULTIPLIER_DIGIT_BITS`), the top one signed and the
others unsigned, and the product is built most significant digit first (Horner):

    p <- (p << DIGIT_BITS) + a * digit_k,   k = digits - 1 .. 0

so each cycle needs one ``a_width x (DIGIT_BITS + 1)`` product: ``ceil((a_width - 1) / 17)``
MULT18X18D on the ECP5, where a full ``a x b`` product would take that many times ``digits``.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.epoch_timing import MULTIPLIER_DIGIT_BITS as DIGIT_BITS
from halp_hw.golden.epoch_timing import multiplier_digits
from halp_hw.golden.validation import check_int

__all__ = ["DigitSerialMultiplier"]


class DigitSerialMultiplier(wiring.Component):
    """``product = a * b`` (signed, exact), one digit of ``b`` per cycle.

    ``a`` and ``b`` are taken in a cycle with ``start``; the digits are multiplied in the next
    ``digits`` cycles (:func:`~halp_hw.golden.epoch_timing.multiplier_digits`), and ``valid``
    is high for one cycle after the last, with ``product``.

    Latency: ``digits + 1`` cycles from ``start`` to ``valid``; throughput: one product per
    ``digits`` cycles (``start`` may come again in the cycle of the last digit, the cycle before
    ``valid``; ``product`` then holds only while ``valid`` is high).

    Parameters
    ----------
    a_width : int
        Bits of ``a``, at least 2.
    b_width : int
        Bits of ``b``, at least 2.

    Attributes
    ----------
    start : In(1)
        Take ``a`` and ``b``.
    a : In(signed(a_width))
    b : In(signed(b_width))
    valid : Out(1)
        One cycle: ``product`` is ``a b``.
    product : Out(signed(a_width + b_width))
        The product register.
    """

    def __init__(self, *, a_width: int, b_width: int):
        self.a_width = check_int("a_width", a_width, 2)
        self.b_width = check_int("b_width", b_width, 2)
        self.digits = multiplier_digits(b_width)
        super().__init__({
            "start": In(1),
            "a": In(signed(a_width)),
            "b": In(signed(b_width)),
            "valid": Out(1),
            "product": Out(signed(a_width + b_width)),
        })

    def elaborate(self, platform):
        m = Module()
        digits = self.digits
        a = Signal(signed(self.a_width))
        pending = Signal(signed(digits * DIGIT_BITS))  # b, the next digit on top
        left = Signal(range(digits + 1))  # digits still to multiply
        with m.If(left != 0):
            m.d.sync += [left.eq(left - 1), pending.eq(pending << DIGIT_BITS)]
        with m.If(self.start):
            m.d.sync += [a.eq(self.a), pending.eq(self.b), left.eq(digits)]

        first = left == digits
        top = pending[-DIGIT_BITS:]
        digit = Signal(signed(DIGIT_BITS + 1))  # the top digit signed, the others unsigned
        m.d.comb += digit.eq(Cat(top, Mux(first, top[-1], 0)))
        partial = Signal(signed(self.a_width + DIGIT_BITS + 1))
        m.d.comb += partial.eq(a * digit)
        with m.If(left != 0):
            m.d.sync += self.product.eq(Mux(first, 0, self.product << DIGIT_BITS) + partial)
        m.d.sync += self.valid.eq(left == 1)
        return m
