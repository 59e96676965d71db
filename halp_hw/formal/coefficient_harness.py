"""Property: the step coefficient is ``clamp(nearest(dot * m / 2**S))``, two cycles late."""

from __future__ import annotations

from amaranth import Signal, signed
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert

from halp_hw.hdl.coefficient import StepCoefficient

from .harness import PropertyHarness
from .spec import cycles_since_start, delayed, signed_bounds

__all__ = ["CoefficientHarness", "CONTRACT_STEP_SHIFT", "CONTRACT_MANTISSA_BITS"]

#: ``S`` and the width of the unsigned mantissa ``m``, from the contract's table.
CONTRACT_STEP_SHIFT = 16
CONTRACT_MANTISSA_BITS = 18


class CoefficientHarness(PropertyHarness):
    """``StepCoefficient`` against nearest rounding (ties towards +inf) and the clamp.

    Every input is free in every cycle. Two cycles after a ``dot_valid`` without ``clear`` (and
    no ``clear`` in between), ``coef`` is the integer ``c`` with
    ``(2c - 1) 2**S <= 2 dot m < (2c + 1) 2**S``, clamped to ``coef_width`` (at a bound only the
    one-sided inequality holds), and ``coef_valid`` pulses; one cycle after ``clear``, ``coef``
    is 0 and nothing pulses; otherwise ``coef`` holds. The product register is exact by these
    equalities. k-induction closes at k = 3 (the block's state is its last two inputs).

    Parameters
    ----------
    config : HardwareConfig
        The build (``dot_width``, ``coef_width``).
    """

    def check(self, m, platform):
        cfg = self.config
        m.submodules.coefficient = block = StepCoefficient(config=cfg)
        dot, mantissa = AnySeq(signed(cfg.dot_width)), AnySeq(CONTRACT_MANTISSA_BITS)
        dot_valid, clear = AnySeq(1), AnySeq(1)
        m.d.comb += [block.dot.eq(dot), block.mantissa.eq(mantissa),
                     block.dot_valid.eq(dot_valid), block.clear.eq(clear)]
        _, dot_2 = delayed(m, dot, 2, "dot")
        _, mantissa_2 = delayed(m, mantissa, 2, "mantissa")
        _, valid_2 = delayed(m, dot_valid, 2, "dot_valid")
        clear_1, clear_2 = delayed(m, clear, 2, "clear")
        coef_1, = delayed(m, block.coef, 1, "coef")
        ready = cycles_since_start(m, 2) == 2

        twice_product = Signal(signed(cfg.dot_width + CONTRACT_MANTISSA_BITS + 2))
        m.d.comb += twice_product.eq(dot_2 * mantissa_2 * 2)
        coef = block.coef
        half = 1 << CONTRACT_STEP_SHIFT
        low, high = signed_bounds(cfg.coef_width)
        with m.If(ready):
            with m.If(clear_1):
                m.d.comb += [Assert(coef == 0, "coef not cleared"),
                             Assert(~block.coef_valid, "coef_valid after clear")]
            with m.Elif(valid_2 & ~clear_2):
                m.d.comb += Assert(block.coef_valid, "coef_valid missing")
                with m.If((coef > low) & (coef < high)):
                    m.d.comb += Assert(((2 * coef - 1) * half <= twice_product)
                                       & (twice_product < (2 * coef + 1) * half),
                                       "coef is not the nearest integer to dot * m / 2**S")
                with m.If(coef == high):
                    m.d.comb += Assert(twice_product >= (2 * high - 1) * half, "clamped high")
                with m.If(coef == low):
                    m.d.comb += Assert(twice_product < (2 * low + 1) * half, "clamped low")
            with m.Else():
                m.d.comb += [Assert(coef == coef_1, "coef changed without a dot product"),
                             Assert(~block.coef_valid, "coef_valid without a dot product")]
