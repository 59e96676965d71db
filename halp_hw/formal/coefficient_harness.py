"""Property: the step coefficient is ``clamp(nearest(dot * m / 2**S))``, three cycles after the
last beat of a pass, ``dot`` being the exact sum of the pass's beat sums."""

from __future__ import annotations

from amaranth import Mux, Signal, signed
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert, Assume

from halp_hw.hdl.coefficient import StepCoefficient

from .harness import PropertyHarness
from .spec import cycles_since_start, delayed, fits, signed_bounds

__all__ = ["CoefficientHarness", "CONTRACT_STEP_SHIFT", "CONTRACT_MANTISSA_BITS"]

#: ``S`` and the width of the unsigned mantissa ``m``, from the contract's table.
CONTRACT_STEP_SHIFT = 16
CONTRACT_MANTISSA_BITS = 18


class CoefficientHarness(PropertyHarness):
    """``StepCoefficient`` against nearest rounding (ties towards +inf) and the clamp.

    Every input is free in every cycle (beats, bubbles, passes of any length, clears, the
    mantissa), under the contract's two conditions: ``m`` does not change within a pass (it
    may at a first beat), and ``dot m`` fits ``dot_width + 18`` bits at every beat of a pass
    (``|dot| < 2**(dot_width - 1)``, what the vector-dot property proves of the vector unit's
    sums). The harness sums the beats' ``s m`` of a pass into ``dot m``; a pass is *live*
    from a first beat without ``clear`` until a ``clear``. Three cycles after the last beat of
    a live pass (no ``clear`` since), ``coef`` is the integer ``c`` with
    ``(2c - 1) 2**S <= 2 dot m < (2c + 1) 2**S``, clamped to ``coef_width`` (at a bound only
    the one-sided inequality holds), and ``coef_valid`` pulses (it pulses, with any value,
    after the last beat of a pass that a ``clear`` cut); one cycle after ``clear``, ``coef``
    is 0 and nothing pulses; without a last beat three cycles earlier ``coef`` holds and
    nothing pulses. For k-induction the block's accumulator (a register that no port shows)
    is checked against ``2**(S-1) + dot m`` of the beats so far while a pass is live;
    k-induction closes at k = 4.

    Parameters
    ----------
    config : HardwareConfig
        The build (``beat_sum_width``, ``dot_width``, ``coef_width``).
    """

    def check(self, m, platform):
        cfg = self.config
        m.submodules.coefficient = block = StepCoefficient(config=cfg)
        beat_sum = AnySeq(signed(cfg.beat_sum_width))
        mantissa = AnySeq(CONTRACT_MANTISSA_BITS)
        valid, first, last, clear = AnySeq(1), AnySeq(1), AnySeq(1), AnySeq(1)
        m.d.comb += [block.beat_sum.eq(beat_sum), block.mantissa.eq(mantissa),
                     block.beat_valid.eq(valid), block.beat_first.eq(first),
                     block.beat_last.eq(last), block.clear.eq(clear)]

        # dot m as the sum of the live pass's s m (harness registers); s m is written as the
        # two's-complement value of s times m, s's unsigned low bits times m less m times its
        # sign bit's weight (the block's own split: the solver is not asked to prove two
        # differently built multipliers equal, and Yosys merges the two products).
        sign_bit = cfg.beat_sum_width - 1
        beat_product = (beat_sum[:sign_bit] * mantissa
                        - Mux(beat_sum[sign_bit], mantissa << sign_bit, 0))
        product = Signal(signed(cfg.dot_width + CONTRACT_MANTISSA_BITS), name="spec_product")
        pass_mantissa = Signal(CONTRACT_MANTISSA_BITS, name="spec_mantissa")
        live = Signal(name="spec_live")
        taken = valid & ~clear
        live_beat = taken & (first | live)
        running = Mux(first, 0, product) + beat_product
        with m.If(valid & ~first):
            m.d.comb += Assume(mantissa == pass_mantissa)
        with m.If(taken):
            # |dot| < 2**(dot_width - 1) (the contract's range) so |dot m| < 2**(dot_width + 17)
            m.d.comb += Assume(fits(running, cfg.dot_width + CONTRACT_MANTISSA_BITS))
            m.d.sync += [product.eq(running), pass_mantissa.eq(mantissa)]
        m.d.sync += live.eq(live_beat | (live & ~clear))

        half = 1 << CONTRACT_STEP_SHIFT
        product_1, = delayed(m, product, 1, "product")
        live_1, = delayed(m, live, 1, "live")
        with m.If(live_1 & (cycles_since_start(m, 1) == 1)):
            m.d.comb += Assert(block.accumulator == half // 2 + product_1,
                               "accumulator is not 2**(S-1) + dot m")

        _, product_2 = delayed(m, product, 2, "product_end")
        *_, ended = delayed(m, taken & last, 3, "last_beat")
        *_, ended_live = delayed(m, live_beat & last, 3, "last_live_beat")
        clear_1, clear_2 = delayed(m, clear, 2, "clear")
        coef_1, = delayed(m, block.coef, 1, "coef")
        ready = cycles_since_start(m, 3) == 3

        twice_product = Signal(signed(cfg.dot_width + CONTRACT_MANTISSA_BITS + 2))
        m.d.comb += twice_product.eq(product_2 * 2)
        coef = block.coef
        low, high = signed_bounds(cfg.coef_width)
        with m.If(ready):
            with m.If(clear_1):
                m.d.comb += [Assert(coef == 0, "coef not cleared"),
                             Assert(~block.coef_valid, "coef_valid after clear")]
            with m.Elif(ended & ~clear_2):
                m.d.comb += Assert(block.coef_valid, "coef_valid missing")
                with m.If(ended_live & (coef > low) & (coef < high)):
                    m.d.comb += Assert(((2 * coef - 1) * half <= twice_product)
                                       & (twice_product < (2 * coef + 1) * half),
                                       "coef is not the nearest integer to dot * m / 2**S")
                with m.If(ended_live & (coef == high)):
                    m.d.comb += Assert(twice_product >= (2 * high - 1) * half, "clamped high")
                with m.If(ended_live & (coef == low)):
                    m.d.comb += Assert(twice_product < (2 * low + 1) * half, "clamped low")
            with m.Else():
                m.d.comb += [Assert(coef == coef_1, "coef changed without a pass"),
                             Assert(~block.coef_valid, "coef_valid without a pass")]
