"""The coefficient path of the L2-SVM core: the squared hinge's gradient difference, exact.

Golden: :func:`halp_hw.golden.kernels.glm_coefficient` (loss 2).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.glm import SHIFT_BITS
from halp_hw.golden.hardware import STEP_MANTISSA_BITS, HardwareConfig

from .lane import check_config
from .scaled_coefficient import ScaledCoefficient

__all__ = ["HingeCoefficient"]


class HingeCoefficient(wiring.Component):
    """``c`` of an SVM step from ``dot = x_i . z`` and the sample's streamed value ``2 U + p``.

    With the label ``y = +1`` if ``p`` else ``-1`` and the slack ``U`` at the center in LSBs of
    the dot product, H1 registers the moved slack ``U - y dot``; H2 registers the difference
    ``-y (max(0, U - y dot) - max(0, U))`` (exactly ``dot`` while the sample stays inside the
    margin, 0 while it stays outside); then :class:`ScaledCoefficient` (3 stages). Latency 5
    cycles from ``dot_valid``, one dot product per cycle.

    Parameters
    ----------
    config : HardwareConfig
        The build (``problem`` svm).

    Attributes
    ----------
    dot : In(signed(dot_width))
        The dot product, registered (the vector unit's accumulator).
    dot_valid : In(1)
        ``dot`` is final this cycle.
    value : In(signed(dot_width + 2))
        ``2 U + p`` of the sample (static while its dot product is in flight).
    mantissa : In(STEP_MANTISSA_BITS)
        The normalized step mantissa (static).
    coef_shift : In(signed(SHIFT_BITS))
        The coefficient shift (static).
    clear : In(1)
        Next ``coef`` is 0; cancels a coefficient in flight.
    coef : Out(signed(coef_width))
        The coefficient, 5 registers after ``dot_valid``.
    coef_valid : Out(1)
        One-cycle pulse: ``coef`` was just updated.
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        super().__init__({
            "dot": In(signed(config.dot_width)),
            "dot_valid": In(1),
            "value": In(signed(config.dot_width + 2)),
            "mantissa": In(STEP_MANTISSA_BITS),
            "coef_shift": In(signed(SHIFT_BITS)),
            "clear": In(1),
            "coef": Out(signed(config.coef_width)),
            "coef_valid": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        m.submodules.scale = scale = ScaledCoefficient(config=cfg,
                                                       difference_width=cfg.dot_width)
        slack = self.value.shift_right(1)
        positive = self.value[0]
        # H1: the moved slack.
        moved = Signal(signed(cfg.dot_width + 2))
        start = Signal(signed(cfg.dot_width + 1))
        label, valid1 = Signal(), Signal()
        m.d.sync += [moved.eq(Mux(positive, slack - self.dot, slack + self.dot)),
                     start.eq(slack), label.eq(positive),
                     valid1.eq(self.dot_valid & ~self.clear)]
        # H2: -y (max(0, moved) - max(0, start)).
        change = Mux(moved > 0, moved, 0) - Mux(start > 0, start, 0)
        difference = Signal(signed(cfg.dot_width))
        valid2 = Signal()
        m.d.sync += [difference.eq(Mux(label, -change, change)),
                     valid2.eq(valid1 & ~self.clear)]
        m.d.comb += [scale.difference.eq(difference), scale.difference_valid.eq(valid2),
                     scale.mantissa.eq(self.mantissa), scale.shift.eq(self.coef_shift),
                     scale.clear.eq(self.clear),
                     self.coef.eq(scale.coef), self.coef_valid.eq(scale.coef_valid)]
        return m
