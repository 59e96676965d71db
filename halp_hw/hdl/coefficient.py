"""The step coefficient ``c = clamp((dot * m + 2**(S-1)) >> S, coef_width)``, in two stages.

Golden: :meth:`halp_hw.golden.hardware.AcceleratorModel.coefficient`.
"""

from __future__ import annotations

from amaranth import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.hardware import STEP_MANTISSA_BITS, STEP_SHIFT, HardwareConfig

from .lane import check_config
from .rounder import saturate

__all__ = ["StepCoefficient"]


class StepCoefficient(wiring.Component):
    """Turns a pass's dot product into the next pass's coefficient (nearest rounding, saturated).

    M1 registers ``dot * mantissa`` (a DSP with registered inputs and output); M2 adds the rounding
    constant, drops ``STEP_SHIFT`` bits and clamps. ``clear`` (recenter or seed: ``z = 0`` so
    ``c = 0``) zeroes ``coef`` and cancels a product still in M1; it takes priority.

    Parameters
    ----------
    config : HardwareConfig
        The build; the widths of ``dot`` and ``coef`` come from it.

    Attributes
    ----------
    dot : In(signed(dot_width))
        The dot product, registered (the vector unit's accumulator).
    dot_valid : In(1)
        ``dot`` is final this cycle.
    mantissa : In(STEP_MANTISSA_BITS)
        The step mantissa ``m``, static during a run.
    clear : In(1)
        Next ``coef`` is 0.
    coef : Out(signed(coef_width))
        The coefficient, 2 registers after ``dot_valid``; holds until the next one.
    coef_valid : Out(1)
        One-cycle pulse: ``coef`` was just updated from a dot product.
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        super().__init__({
            "dot": In(signed(config.dot_width)),
            "dot_valid": In(1),
            "mantissa": In(STEP_MANTISSA_BITS),
            "clear": In(1),
            "coef": Out(signed(self.config.coef_width)),
            "coef_valid": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        product = Signal((self.dot * self.mantissa).shape())
        product_valid = Signal()
        m.d.sync += [product.eq(self.dot * self.mantissa),
                     product_valid.eq(self.dot_valid & ~self.clear)]

        rounded = (product + (1 << (STEP_SHIFT - 1))).shift_right(STEP_SHIFT)
        coef, _ = saturate(rounded, self.config.coef_width)
        m.d.sync += self.coef_valid.eq(product_valid & ~self.clear)
        with m.If(self.clear):
            m.d.sync += self.coef.eq(0)
        with m.Elif(product_valid):
            m.d.sync += self.coef.eq(coef)
        return m
