"""Property: the update ``v`` of the contract fits ``update_width`` for every operand in range."""

from __future__ import annotations

from amaranth import signed
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert


from .harness import PropertyHarness
from .lane_harness import product_of
from .spec import fits

__all__ = ["UpdateWidthHarness"]


class UpdateWidthHarness(PropertyHarness):
    """``v = (z << F) - x c - G + r`` for every ``x`` (``data_bits``), ``z`` (``bits``), ``c``
    (``coef_width``), ``G`` (``grad_width``) and ``r`` (``F`` bits), computed exactly, lies in
    the ``update_width`` signed range: the lane's update register (assigned ``zg - p`` at that
    width) never wraps. The lane property proves the lane's result equal to this exact ``v``'s
    rounding; this one proves the contract's width. Combinational: one step.

    Parameters
    ----------
    config : HardwareConfig
        The build.
    """

    def check(self, m, platform):
        cfg = self.config
        x, coef = AnySeq(signed(cfg.data_bits)), AnySeq(signed(cfg.coef_width))
        z, grad = AnySeq(signed(cfg.bits)), AnySeq(signed(cfg.grad_width))
        random = AnySeq(cfg.frac_bits)
        update = (z << cfg.frac_bits) - product_of(x, coef) - grad + random
        m.d.comb += Assert(fits(update, cfg.update_width), "v overflows update_width")
