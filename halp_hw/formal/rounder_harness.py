"""Property: the stochastic rounder equals its specification for every input."""

from __future__ import annotations

from amaranth import Signal, signed
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.hdl.rounder import StochasticRounder

from .harness import PropertyHarness
from .spec import signed_bounds

__all__ = ["RounderHarness"]


class RounderHarness(PropertyHarness):
    """The lane's rounder (``update_width`` -> ``bits``, ``F`` random bits) against the floor's
    defining inequality and the clamp.

    For every ``value`` and ``random``, with ``t = value + random``: ``low <= result <= high``;
    inside the range ``result * 2**F <= t < (result + 1) * 2**F`` and no flag; at ``high``,
    ``t >= high * 2**F`` and the flag is ``t >= (high + 1) * 2**F``; at ``low``,
    ``t < (low + 1) * 2**F`` and the flag is ``t < low * 2**F``. Combinational: one step.

    Parameters
    ----------
    config : HardwareConfig
        The build.
    rounder_class : type
        The block under proof (a test may pass a deliberately broken subclass).

    Attributes
    ----------
    rounder : StochasticRounder
        The block under proof.
    """

    def __init__(self, *, config: HardwareConfig, rounder_class=StochasticRounder):
        self.rounder = rounder_class(in_width=config.update_width, frac_bits=config.frac_bits,
                                     out_width=config.bits)
        super().__init__(config=config)

    def check(self, m, platform):
        cfg, rounder = self.config, self.rounder
        m.submodules.rounder = rounder
        frac = cfg.frac_bits
        m.d.comb += [rounder.value.eq(AnySeq(signed(cfg.update_width))),
                     rounder.random.eq(AnySeq(frac))]
        total = Signal(signed(cfg.update_width + 1))
        m.d.comb += total.eq(rounder.value + rounder.random)
        result, flag = rounder.result, rounder.saturated
        low, high = signed_bounds(cfg.bits)
        unit = 1 << frac
        m.d.comb += Assert((result >= low) & (result <= high), "result out of range")
        with m.If((result > low) & (result < high)):
            m.d.comb += [Assert((result * unit <= total) & (total < (result + 1) * unit),
                                "result is not the floor of (value + random) / 2**F"),
                         Assert(~flag, "saturated raised without a clamp")]
        with m.If(result == high):
            m.d.comb += [Assert(total >= high * unit, "clamped high below the bound"),
                         Assert(flag == (total >= (high + 1) * unit), "wrong high flag")]
        with m.If(result == low):
            m.d.comb += [Assert(total < (low + 1) * unit, "clamped low above the bound"),
                         Assert(flag == (total < low * unit), "wrong low flag")]
