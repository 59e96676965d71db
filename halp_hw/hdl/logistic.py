"""The coefficient path of the logistic core: the difference of two fixed-point sigmoids.

Golden: :func:`halp_hw.golden.kernels.glm_coefficient` (loss 1).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.glm import MARGIN_GUARD_BITS, SHIFT_BITS
from halp_hw.golden.hardware import STEP_MANTISSA_BITS, HardwareConfig

from .centering import EXPONENT_BITS
from .lane import check_config
from .rounder import saturate
from .scaled_coefficient import ScaledCoefficient
from .sigmoid import SigmoidUnit

__all__ = ["SIGMOID_FIRST", "MOVED_INPUT", "margin_to_input", "LogisticCoefficient"]

#: Cycles from ``dot_valid`` to the sigmoid unit's output for the center's margin (fed with
#: ``dot_valid``); the moved margin is fed three cycles later and comes out three cycles later.
SIGMOID_FIRST = 5
#: Cycles from ``dot_valid`` to the moved margin's sigmoid input (L1, L2, L3).
MOVED_INPUT = 3


def margin_to_input(margin, config: HardwareConfig):
    """``clamp((margin + 2**(G-1)) >> G, sigmoid_in_bits)``: a margin onto the sigmoid input."""
    rounded = (margin + (1 << (MARGIN_GUARD_BITS - 1))).shift_right(MARGIN_GUARD_BITS)
    return saturate(rounded, config.sigmoid_in_bits)[0]


class LogisticCoefficient(wiring.Component):
    """``c`` of a logistic step from ``dot = x_i . z`` and the sample's streamed margin ``A``.

    L1 registers ``x_i . z`` moved onto the margin's grid, ``dot`` shifted by
    ``margin_shift + e_k`` (left, or right with floor: the barrel shifter alone); L2 clamps it
    to ``margin_bits + 1`` bits; L3 registers the sigmoid input of ``A`` plus it. The
    :class:`SigmoidUnit` (5 stages) takes the input of ``A`` alone in the ``dot_valid`` cycle and
    the moved one three cycles later; the first output is held, the difference of the second and
    the first registered (8 + 1 cycles after ``dot_valid``), then :class:`ScaledCoefficient`
    with the shift ``coef_shift + e_k`` (3 stages). Latency 12 cycles from ``dot_valid``; a new
    dot product at most every 4 cycles.

    Parameters
    ----------
    config : HardwareConfig
        The build (``problem`` logreg): the sigmoid widths and the margin format.

    Attributes
    ----------
    dot : In(signed(dot_width))
        The dot product, registered; holds at least 2 cycles after ``dot_valid``.
    dot_valid : In(1)
        ``dot`` is final this cycle.
    value : In(signed(margin_bits))
        The margin ``A`` of the sample (static while its dot product is in flight).
    exponent : In(signed(EXPONENT_BITS))
        The epoch's scale exponent ``e_k`` (static during a run).
    margin_shift, coef_shift : In(signed(SHIFT_BITS))
        The host's shifts (static).
    mantissa : In(STEP_MANTISSA_BITS)
        The normalized step mantissa (static).
    clear : In(1)
        Next ``coef`` is 0; cancels a coefficient in flight.
    coef : Out(signed(coef_width))
        The coefficient, 12 registers after ``dot_valid``.
    coef_valid : Out(1)
        One-cycle pulse: ``coef`` was just updated.
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        super().__init__({
            "dot": In(signed(config.dot_width)),
            "dot_valid": In(1),
            "value": In(signed(config.margin_bits)),
            "exponent": In(signed(EXPONENT_BITS)),
            "margin_shift": In(signed(SHIFT_BITS)),
            "coef_shift": In(signed(SHIFT_BITS)),
            "mantissa": In(STEP_MANTISSA_BITS),
            "clear": In(1),
            "coef": Out(signed(config.coef_width)),
            "coef_valid": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        m.submodules.sigmoid = sigmoid = SigmoidUnit(config=cfg)
        m.submodules.scale = scale = ScaledCoefficient(config=cfg,
                                                       difference_width=cfg.sigmoid_out_bits + 1)
        low, high = -cfg.dot_width, cfg.margin_bits + 1

        # Static during a run: the shifts of this epoch, registered.
        margin_shift = Signal(signed(SHIFT_BITS + 1))
        coef_shift = Signal(signed(SHIFT_BITS + 1))
        left = Signal(unsigned(high.bit_length()))
        right = Signal(unsigned(max(1, (-low).bit_length())))
        to_left = Signal()
        start_input = Signal(signed(cfg.sigmoid_in_bits))
        m.d.sync += [margin_shift.eq(self.margin_shift + self.exponent),
                     coef_shift.eq(self.coef_shift + self.exponent),
                     to_left.eq(margin_shift >= 0),
                     left.eq(Mux(margin_shift > high, high, Mux(margin_shift >= 0,
                                                                 margin_shift, 0))),
                     right.eq(Mux(margin_shift < low, -low, Mux(margin_shift < 0,
                                                                 -margin_shift, 0))),
                     start_input.eq(margin_to_input(self.value, cfg))]

        # L1: x_i . z on the margin's grid; L2: clamped; L3: the moved sigmoid input.
        shifted_value = Mux(to_left, self.dot << left, self.dot >> right)
        shifted = Signal(shifted_value.shape())
        moved = Signal(signed(cfg.margin_bits + 1))
        moved_input = Signal(signed(cfg.sigmoid_in_bits))
        valid = [Signal(name=f"valid{k}") for k in range(SIGMOID_FIRST + MOVED_INPUT + 1)]
        m.d.sync += [
            shifted.eq(shifted_value),
            moved.eq(saturate(shifted, cfg.margin_bits + 1)[0]),
            moved_input.eq(margin_to_input(self.value + moved, cfg)),
        ]
        # valid[k] is dot_valid delayed by k + 1 cycles; clear cancels everything in flight.
        m.d.sync += [valid[0].eq(self.dot_valid & ~self.clear),
                     *(valid[k].eq(valid[k - 1] & ~self.clear) for k in range(1, len(valid)))]

        # The unit: the center's input with dot_valid, the moved one three cycles later.
        moved_valid = valid[MOVED_INPUT - 1]
        m.d.comb += [
            sigmoid.i.valid.eq(self.dot_valid | moved_valid),
            sigmoid.i.payload.eq(Mux(moved_valid, moved_input, start_input)),
            sigmoid.o.ready.eq(1),
        ]
        start_output = Signal(unsigned(cfg.sigmoid_out_bits))
        difference = Signal(signed(cfg.sigmoid_out_bits + 1))
        with m.If(valid[SIGMOID_FIRST - 1]):
            m.d.sync += start_output.eq(sigmoid.o.payload)
        m.d.sync += difference.eq(sigmoid.o.payload - start_output)
        m.d.comb += [scale.difference.eq(difference),
                     scale.difference_valid.eq(valid[SIGMOID_FIRST + MOVED_INPUT] & ~self.clear),
                     scale.mantissa.eq(self.mantissa), scale.shift.eq(coef_shift),
                     scale.clear.eq(self.clear),
                     self.coef.eq(scale.coef), self.coef_valid.eq(scale.coef_valid)]
        return m
