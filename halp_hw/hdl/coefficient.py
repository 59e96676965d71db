"""The step coefficient ``c = clamp((dot * m + 2**(S-1)) >> S, coef_width)``, in three stages.

Golden: :meth:`halp_hw.golden.hardware.AcceleratorModel.coefficient`.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.hardware import STEP_MANTISSA_BITS, STEP_SHIFT, HardwareConfig

from .lane import check_config
from .rounder import saturate

__all__ = ["MANTISSA_CHUNK", "StepCoefficient"]

#: Unsigned bits of a beat sum in one partial product with the mantissa: an unsigned ECP5
#: MULT18X18D operand is 18 bits.
MANTISSA_CHUNK = 18


class StepCoefficient(wiring.Component):
    """Turns a pass's beat sums into the next pass's coefficient (nearest rounding, saturated).

    ``dot * m`` is accumulated as ``sum_k s_k * m`` over the pass's beat sums ``s_k`` (exact,
    so no different from the product of the finished dot product), which keeps every adder
    out of the cycle of a hard multiplier: M1 registers ``s_k * m`` as partial products, the
    unsigned low ``beat_sum_width - 1`` bits of ``s_k`` in chunks of :data:`MANTISSA_CHUNK`
    times ``m`` (one ECP5 DSP each; one at 8 bits and 8 lanes) and ``m`` where ``s_k`` is
    negative (its sign bit's weight); M2 adds them into the accumulator, which the pass's first
    beat starts at the rounding constant ``2**(S-1)``; M3 drops ``STEP_SHIFT`` bits and clamps.
    Latency 3 cycles from the last beat's sum to ``coef``, one beat per cycle. ``clear``
    (recenter or seed: ``z = 0`` so ``c = 0``) zeroes ``coef`` and cancels the beat in M1 and
    the pass in M2; it takes priority. ``mantissa`` must not change during a pass.

    Parameters
    ----------
    config : HardwareConfig
        The build; the widths of the beat sums and of ``coef`` come from it.

    Attributes
    ----------
    beat_sum : In(signed(beat_sum_width))
        One beat's sum of the lanes' products, registered (the vector unit's adder tree).
    beat_valid, beat_first, beat_last : In(1)
        ``beat_sum`` belongs to a beat; the pass's first; its last.
    mantissa : In(STEP_MANTISSA_BITS)
        The step mantissa ``m``, static during a run.
    clear : In(1)
        Next ``coef`` is 0.
    coef : Out(signed(coef_width))
        The coefficient, 3 registers after the last beat's ``beat_valid``; holds until the next.
    coef_valid : Out(1)
        One-cycle pulse: ``coef`` was just updated from a pass.
    accumulator : Signal(signed(dot_width + STEP_MANTISSA_BITS + 1))
        M2's register (not a port): ``2**(S-1) + m`` times the sum of the pass's beats so far.
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        super().__init__({
            "beat_sum": In(signed(config.beat_sum_width)),
            "beat_valid": In(1),
            "beat_first": In(1),
            "beat_last": In(1),
            "mantissa": In(STEP_MANTISSA_BITS),
            "clear": In(1),
            "coef": Out(signed(self.config.coef_width)),
            "coef_valid": Out(1),
        })
        # |dot m| < 2**(dot_width + 17), and the rounding constant.
        self.accumulator = Signal(signed(config.dot_width + STEP_MANTISSA_BITS + 1),
                                  name="accumulator")

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        sign_bit = cfg.beat_sum_width - 1

        # M1: s * m = s[:sign_bit] * m - (s < 0 ? m << sign_bit : 0), s[:sign_bit] in chunks.
        terms = []
        for low in range(0, sign_bit, MANTISSA_CHUNK):
            chunk = self.beat_sum[low:min(low + MANTISSA_CHUNK, sign_bit)]
            product = Signal(unsigned(len(chunk) + STEP_MANTISSA_BITS), name=f"product{low}")
            m.d.sync += product.eq(chunk * self.mantissa)
            terms.append(product << low)
        negative = Signal(STEP_MANTISSA_BITS)
        valid, first, last = Signal(), Signal(), Signal()
        m.d.sync += [negative.eq(Mux(self.beat_sum[sign_bit], self.mantissa, 0)),
                     valid.eq(self.beat_valid & ~self.clear),
                     first.eq(self.beat_first), last.eq(self.beat_last)]

        # M2: the pass's sum of the products, from the rounding constant.
        accumulator = self.accumulator
        start = Mux(first, 1 << (STEP_SHIFT - 1), accumulator)
        done = Signal()
        with m.If(valid):
            m.d.sync += accumulator.eq(start + sum(terms) - (negative << sign_bit))
        m.d.sync += done.eq(valid & last & ~self.clear)

        # M3: drop S bits, clamp.
        coef, _ = saturate(accumulator.shift_right(STEP_SHIFT), cfg.coef_width)
        m.d.sync += self.coef_valid.eq(done & ~self.clear)
        with m.If(self.clear):
            m.d.sync += self.coef.eq(0)
        with m.Elif(done):
            m.d.sync += self.coef.eq(coef)
        return m
