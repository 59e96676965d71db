"""Property: the vector unit's adder tree and dot accumulator sum the lane products exactly."""

from __future__ import annotations

from amaranth import Mux, Signal, signed
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert, Assume

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.hdl.lane import MaccLane
from halp_hw.hdl.vector import VectorUnit

from .harness import PropertyHarness, children_of_type, elaborate_block
from .lane_harness import LANE_TO_Z
from .spec import cycles_since_start, delayed, fits

__all__ = ["VectorHarness", "LANE_TO_PRODUCT", "VECTOR_SCRIPT"]

#: The proof cuts every multiplier of the lanes (their outputs become free values): the tree
#: and accumulator are proven for any lane products that satisfy the assumptions below, which
#: is what the lane properties establish. Without the cut, 16 lanes of 16 x 16 multipliers made
#: the solver take tens of minutes.
VECTOR_SCRIPT = "cutpoint top.vector.lane*/t:$mul; opt_clean"

#: Registers from the read stage of a beat to the lanes' ``product`` (stages A, B1, B2, C).
LANE_TO_PRODUCT = LANE_TO_Z + 1


def pairwise_sum(values):
    """The exact sum of ``values``, added in pairs level by level (lane 0 + 1, 2 + 3, ...; an
    odd one carried up), the order of the vector unit's adder tree: Yosys then merges the
    first levels with the tree's adders, and the solver is not asked to prove two differently
    associated sums of wide operands equal."""
    while len(values) > 1:
        pairs = [values[i] + values[i + 1] for i in range(0, len(values) - 1, 2)]
        values = pairs + values[len(pairs) * 2:]
    return values[0]


class VectorHarness(PropertyHarness):
    """``dot`` is the exact running sum of the lane products of the pass; it fits ``dot_width``.

    Every input of the vector unit is free in every cycle (bubbles, masks, passes of any
    length), under one assumption, the contract's range: a pass holds at most ``d_max``
    features (active lanes, counted over its beats). The harness sums the lanes' ``product``
    registers (stage C) per beat into an exact accumulator ``acc`` that restarts at a first
    beat, and checks in every cycle: ``dot`` equals ``acc`` ``tree_stages`` cycles earlier (so
    no adder of the tree nor the accumulator overflows), ``dot_valid`` pulses exactly for a
    last beat, ``|acc| <= features * 2**(bx+b-2)`` (the bound of a product of a ``bx``-bit
    and a ``b``-bit integer), and ``acc`` fits ``dot_width``. The lane products are taken
    from the lanes' ``product`` registers, with the lanes' multipliers cut (``VECTOR_SCRIPT``):
    assumed of them is what the lane properties prove, ``|product| <= 2**(bx+b-2)`` and 0 in
    an inactive lane. k-induction closes at ``k = tree_stages + 8`` (not at ``tree_stages + 5``).

    Parameters
    ----------
    config : HardwareConfig
        The build.
    """

    @staticmethod
    def induction_depth(config: HardwareConfig) -> int:
        return config.tree_stages + LANE_TO_PRODUCT + 5

    def check(self, m, platform):
        cfg = self.config
        vector = VectorUnit(config=cfg)
        fragment = elaborate_block(vector, platform)
        m.submodules.vector = fragment
        lanes = children_of_type(fragment, MaccLane)
        for name in ("seed", "load", "valid", "first", "last", "addr", "mask", "coef"):
            port = getattr(vector, name)
            m.d.comb += port.eq(AnySeq(port.shape()))
        for name in ("x_cur", "x_next", "z", "grad"):
            port = getattr(vector, name)
            m.d.comb += port.as_value().eq(AnySeq(len(port.as_value())))

        # The contract's range: at most d_max features per pass.
        features_read = Signal(range(cfg.d_max + cfg.lanes + 1))
        active = sum(vector.mask[lane] for lane in range(cfg.lanes))
        pass_features = Mux(vector.first, 0, features_read) + active
        with m.If(vector.valid):
            m.d.sync += features_read.eq(pass_features)
            m.d.comb += Assume(pass_features <= cfg.d_max)
        m.d.comb += Assert(features_read <= cfg.d_max, "feature count")

        bound = 1 << (cfg.data_bits + cfg.bits - 2)
        *_, valid_c = delayed(m, vector.valid, LANE_TO_PRODUCT, "valid")
        *_, first_c = delayed(m, vector.first, LANE_TO_PRODUCT, "first")
        *_, last_c = delayed(m, vector.last, LANE_TO_PRODUCT, "last")
        *_, mask_c = delayed(m, vector.mask, LANE_TO_PRODUCT, "mask")
        for index, lane in enumerate(lanes):
            m.d.comb += Assume((lane.product >= -bound) & (lane.product <= bound))
            with m.If(valid_c & ~mask_c[index]):
                m.d.comb += Assume(lane.product == 0)

        acc = Signal(signed(cfg.dot_width + 2))
        beat_sum = pairwise_sum([lane.product for lane in lanes])
        with m.If(valid_c):
            m.d.sync += acc.eq(Mux(first_c, 0, acc) + beat_sum)
        # the features that acc holds: the read stage's count, as many cycles later
        *_, features = delayed(m, features_read, LANE_TO_PRODUCT, "features")
        scaled = features << (cfg.data_bits + cfg.bits - 2)        # features * bound, no multiplier
        m.d.comb += [Assert((acc >= -scaled) & (acc <= scaled),
                            "|acc| exceeds features * 2**(bx+b-2)"),
                     Assert(fits(acc, cfg.dot_width), "the pass's dot overflows dot_width")]

        stages = cfg.tree_stages
        expected = delayed(m, acc, stages, "acc")[-1] if stages else acc
        pulse = delayed(m, valid_c & last_c, stages + 1, "last_beat")[-1]
        ready = cycles_since_start(m, LANE_TO_PRODUCT + stages + 1)
        with m.If(ready == LANE_TO_PRODUCT + stages + 1):
            m.d.comb += [Assert(vector.dot == expected, "dot is not the exact sum"),
                         Assert(vector.dot_valid == pulse, "dot_valid")]
