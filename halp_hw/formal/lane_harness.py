"""Property: a MACC lane's update, saturation flag and product equal the contract's inner step."""

from __future__ import annotations

from amaranth import Mux, Signal, signed
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.hdl.lane import COEF_SPLIT, MaccLane
from halp_hw.hdl.prng import Xorshift32

from .harness import PropertyHarness, children_of_type, elaborate_block
from .prng_harness import check_streams
from .spec import clamp, cycles_since_start, delayed, xorshift32

__all__ = ["LANE_TO_Z", "LaneHarness", "product_of"]

#: Cycles from a beat at the lane's inputs to its ``z_new`` (stages A, B1, B2 of
#: ``docs/datapath.md``); ``product`` is one cycle later (stage C).
LANE_TO_Z = 3


def product_of(x, coef):
    """``x * coef`` as the sum of the partial products ``x * coef[:COEF_SPLIT]`` and
    ``x * coef[COEF_SPLIT:] * 2**COEF_SPLIT`` (when ``coef`` is wider than ``COEF_SPLIT + 1``).

    The identity ``c = c[:k] + c[k:] 2**k`` holds for every two's-complement ``c``; written so,
    Yosys merges these multipliers with the lane's (same operands), and the solver is left with
    additions. Proving two differently built multipliers equal is the hard case for SAT.
    """
    if len(coef) <= COEF_SPLIT + 1:
        return x * coef
    return x * coef[:COEF_SPLIT] + ((x * coef[COEF_SPLIT:].as_signed()) << COEF_SPLIT)


class LaneHarness(PropertyHarness):
    """Lane ``lane`` against ``z <- clamp(((z << F) - x c - G + r) >> F, bits)``.

    Every input is free in every cycle, over the whole width of its port (the contract's
    ranges: ``G`` and ``c`` are clamped to ``grad_width`` and ``coef_width`` before they reach
    a lane). The lane's PRNG state equals the spec stream ``1 + lane`` in every cycle, and
    ``r`` is the top ``F`` bits of its next state; ``v`` is computed exactly. Checked:
    ``z_new`` and ``saturated`` ``LANE_TO_Z`` = 3 cycles after the beat (stages A, B1, B2; 0 and
    no flag for an inactive lane), ``product = x_next z_new`` one cycle later. k-induction closes
    at k = 5.

    Parameters
    ----------
    config : HardwareConfig
        The build.
    lane : int
        Which lane (its PRNG stream).
    check_product : bool
        Also check ``product``. Its check is a miter of two multipliers, slow for SMT in
        k-induction; the product register depends only on the last four cycles' inputs, so a
        bounded proof of depth 5 from the initial state covers every case.
    """

    def __init__(self, *, config: HardwareConfig, lane: int = 0, check_product: bool = False):
        self.lane, self.check_product = lane, check_product
        super().__init__(config=config)

    def check(self, m, platform):
        cfg = self.config
        frac = cfg.frac_bits
        lane = MaccLane(config=cfg, lane=self.lane)
        fragment = elaborate_block(lane, platform)
        m.submodules.lane = fragment
        seed, load, valid, active = AnySeq(32), AnySeq(1), AnySeq(1), AnySeq(1)
        x_cur, x_next = AnySeq(signed(cfg.data_bits)), AnySeq(signed(cfg.data_bits))
        z, grad = AnySeq(signed(cfg.bits)), AnySeq(signed(cfg.grad_width))
        coef = AnySeq(signed(cfg.coef_width))
        m.d.comb += [lane.seed.eq(seed), lane.load.eq(load), lane.valid.eq(valid),
                     lane.active.eq(active), lane.x_cur.eq(x_cur), lane.x_next.eq(x_next),
                     lane.z.eq(z), lane.grad.eq(grad), lane.coef.eq(coef)]
        state, = check_streams(m, children_of_type(fragment, Xorshift32), [1 + self.lane],
                               seed=seed, load=load, advance=valid)
        random = xorshift32(state)[32 - frac:]

        update = (z << frac) - product_of(x_cur, coef) - grad + random
        z_spec, clamped = clamp(update.shift_right(frac), cfg.bits)
        spec = Signal(signed(cfg.bits))
        m.d.comb += spec.eq(z_spec)
        *_, spec_z = delayed(m, spec, LANE_TO_Z, "spec_z")
        *_, spec_clamped = delayed(m, clamped, LANE_TO_Z, "spec_clamped")
        *_, active_z = delayed(m, active, LANE_TO_Z, "active")
        *_, x_next_z = delayed(m, x_next, LANE_TO_Z, "x_next")
        product_spec, = delayed(m, x_next_z * lane.z_new, 1, "product_spec")
        ready = cycles_since_start(m, LANE_TO_Z + 1)
        with m.If(ready >= LANE_TO_Z):
            m.d.comb += [Assert(lane.z_new == Mux(active_z, spec_z, 0), "z_new"),
                         Assert(lane.saturated == (active_z & spec_clamped), "saturated")]
        with m.If((ready == LANE_TO_Z + 1) & self.check_product):
            m.d.comb += Assert(lane.product == product_spec, "product")
