"""The step coefficient of the logistic and SVM cores: ``clamp(round(difference * m 2**-shift))``.

Golden: :func:`halp_hw.golden.kernels.scaled_coefficient`.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.glm import SHIFT_BITS
from halp_hw.golden.hardware import STEP_MANTISSA_BITS, HardwareConfig
from halp_hw.golden.validation import check_int

from .lane import check_config
from .rounder import saturate

__all__ = ["ScaledCoefficient"]


class ScaledCoefficient(wiring.Component):
    """Turns a gradient difference into the next pass's coefficient, in three stages.

    M1 registers ``difference * mantissa`` (a DSP with registered inputs and output) and the
    shift, clamped to ``-coef_width .. coef_product_width`` (which changes no result) minus one;
    M2 registers the product shifted by it (right, arithmetic, or left when negative: the barrel
    shifter alone); M3 adds one, drops one more bit (rounding half up:
    ``floor((floor(P / 2**(s-1)) + 1) / 2) = floor(P / 2**s + 1/2)``) and clamps. ``clear``
    zeroes ``coef`` and cancels a value still in M1 or M2; it takes priority. Latency 3 cycles,
    one difference per cycle.

    Parameters
    ----------
    config : HardwareConfig
        The build; ``coef_width`` and ``coef_product_width`` come from it.
    difference_width : int
        Width of the signed difference, 1..64.

    Attributes
    ----------
    difference : In(signed(difference_width))
        The gradient difference of the sample (in the loss's units).
    difference_valid : In(1)
        ``difference`` is final this cycle.
    mantissa : In(STEP_MANTISSA_BITS)
        The normalized step mantissa ``m`` (static during a run).
    shift : In(signed(SHIFT_BITS + 1))
        The shift ``s`` (static during a run).
    clear : In(1)
        Next ``coef`` is 0.
    coef : Out(signed(coef_width))
        The coefficient, 3 registers after ``difference_valid``; holds until the next one.
    coef_valid : Out(1)
        One-cycle pulse: ``coef`` was just updated.
    """

    def __init__(self, *, config: HardwareConfig, difference_width: int):
        self.config = check_config(config)
        self.difference_width = check_int("difference_width", difference_width, 1, 64)
        super().__init__({
            "difference": In(signed(difference_width)),
            "difference_valid": In(1),
            "mantissa": In(STEP_MANTISSA_BITS),
            "shift": In(signed(SHIFT_BITS + 1)),
            "clear": In(1),
            "coef": Out(signed(config.coef_width)),
            "coef_valid": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        width, product_width = cfg.coef_width, cfg.coef_product_width
        product = Signal(signed(product_width))
        product_valid = Signal()
        # s - 1 with s clamped to -coef_width .. product_width: -(coef_width + 1) .. pw - 1.
        low, high = -width, product_width
        clamped = Mux(self.shift < low, low, Mux(self.shift > high, high, self.shift))
        right = Signal(unsigned(max(1, (product_width - 1).bit_length())))
        left = Signal(unsigned((width + 1).bit_length()))
        to_right = Signal()
        m.d.sync += [product.eq(self.difference * self.mantissa),
                     product_valid.eq(self.difference_valid & ~self.clear),
                     to_right.eq(clamped >= 1),
                     right.eq(Mux(clamped >= 1, clamped - 1, 0)),
                     left.eq(Mux(clamped >= 1, 0, 1 - clamped))]
        shifted_value = Mux(to_right, product >> right, product << left)
        shifted = Signal(shifted_value.shape())
        shifted_valid = Signal()
        m.d.sync += [shifted.eq(shifted_value),
                     shifted_valid.eq(product_valid & ~self.clear)]
        coef, _ = saturate((shifted + 1) >> 1, width)
        m.d.sync += self.coef_valid.eq(shifted_valid & ~self.clear)
        with m.If(self.clear):
            m.d.sync += self.coef.eq(0)
        with m.Elif(shifted_valid):
            m.d.sync += self.coef.eq(coef)
        return m
