"""The vector unit: L MACC lanes, the adder tree of their products, and the dot accumulator.

Timing, in registers after the read stage of a beat (``docs/datapath.md``): ``z_new``/``z_valid``/
``z_addr`` after 3 (stage B2), ``saturations`` after 4 (stage C), the tree sum ``beat_sum`` after
``4 + config.tree_stages``, ``dot``/``dot_valid`` after ``5 + config.tree_stages``.
"""

from __future__ import annotations

from amaranth import Module, Mux, signed
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.prng import STATE_BITS

from .adder_tree import adder_tree, register
from .centering import address_shape
from .lane import MaccLane, check_config, split_product

__all__ = ["VectorUnit"]


class VectorUnit(wiring.Component):
    """L lanes in lockstep: one word of ``z`` per beat, and the dot product of the next sample.

    A pass is the beats ``first .. last`` of one row; every lane PRNG advances once per valid
    beat. The adder tree has a register after every second adder level and after the last, so
    ``config.tree_stages`` registers (with split lane products,
    :func:`~halp_hw.hdl.lane.split_product`, the lanes' half sums count as level 0 and the
    registers follow the odd levels: as many); the dot accumulator restarts at the first beat of
    a pass.

    Parameters
    ----------
    config : HardwareConfig
        The build; every width comes from it.

    Attributes
    ----------
    seed : In(32)
        User seed of the lane PRNGs, used on ``load``.
    load : In(1)
        Load every lane PRNG from ``seed`` (takes priority over ``valid``).
    valid, first, last : In(1)
        A beat is at the read stage; it is the first / last beat of its pass.
    addr : In(address_shape(words_per_row))
        The ``z`` word address of the beat, carried to ``z_addr``.
    mask : In(lanes)
        Bit ``l``: lane ``l`` holds a feature (``l + beat * lanes < d``).
    x_cur, x_next : In(ArrayLayout(signed(data_bits), lanes))
        The words of rows ``i_t`` and ``i_{t+1}``.
    z : In(ArrayLayout(signed(bits), lanes))
        The current ``z`` word.
    grad : In(ArrayLayout(signed(grad_width), lanes))
        The gradient word.
    coef : In(signed(coef_width))
        The step coefficient of the pass.
    decay : In(frac_bits)
        The L2 decay (static), to every lane; logistic and SVM builds only.
    z_new : Out(ArrayLayout(signed(bits), lanes))
        Stage B2: the updated ``z`` word (0 in masked lanes), to write back at ``z_addr``.
    z_valid : Out(1)
        Stage B2: ``z_new`` belongs to a valid beat.
    z_addr : Out(address_shape(words_per_row))
        Stage B2: the beat's ``addr``.
    saturations : Out(range(lanes + 1))
        Stage C: how many active lanes saturated in the beat; 0 on cycles without a valid beat,
        so a counter may add it every cycle.
    beat_sum : Out(signed(beat_sum_width))
        The adder tree's registered sum of the lanes' stage-C products of a beat.
    beat_valid, beat_first, beat_last : Out(1)
        ``beat_sum`` belongs to a valid beat; the first / last beat of its pass.
    dot : Out(signed(dot_width))
        The dot product of the pass's ``x_next`` row with its ``z_new``; holds until the next
        pass's first beat reaches the accumulator.
    dot_valid : Out(1)
        One-cycle pulse: ``dot`` now includes the pass's last beat.
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        lanes = config.lanes
        decay = {"decay": In(config.frac_bits)} if config.problem != "linreg" else {}
        super().__init__({
            **decay,
            "seed": In(STATE_BITS),
            "load": In(1),
            "valid": In(1),
            "first": In(1),
            "last": In(1),
            "addr": In(address_shape(config.words_per_row)),
            "mask": In(lanes),
            "x_cur": In(ArrayLayout(signed(config.data_bits), lanes)),
            "x_next": In(ArrayLayout(signed(config.data_bits), lanes)),
            "z": In(ArrayLayout(signed(config.bits), lanes)),
            "grad": In(ArrayLayout(signed(config.grad_width), lanes)),
            "coef": In(signed(config.coef_width)),
            "z_new": Out(ArrayLayout(signed(config.bits), lanes)),
            "z_valid": Out(1),
            "z_addr": Out(address_shape(config.words_per_row)),
            "saturations": Out(range(lanes + 1)),
            "beat_sum": Out(signed(config.beat_sum_width)),
            "beat_valid": Out(1),
            "beat_first": Out(1),
            "beat_last": Out(1),
            "dot": Out(signed(config.dot_width)),
            "dot_valid": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        lanes = []
        for index in range(self.config.lanes):
            lane = MaccLane(config=self.config, lane=index)
            m.submodules[f"lane{index}"] = lane
            lanes.append(lane)
            m.d.comb += [
                lane.seed.eq(self.seed), lane.load.eq(self.load), lane.valid.eq(self.valid),
                lane.active.eq(self.mask[index]),
                lane.x_cur.eq(self.x_cur[index]), lane.x_next.eq(self.x_next[index]),
                lane.z.eq(self.z[index]), lane.grad.eq(self.grad[index]),
                lane.coef.eq(self.coef),
                self.z_new[index].eq(lane.z_new),
            ]
            if self.config.problem != "linreg":
                m.d.comb += lane.decay.eq(self.decay)

        # Beat flags alongside the lane stages A, B, C.
        control = register(m, "stage_a", self.valid, self.first, self.last, self.addr)
        control = register(m, "stage_b1", *control)
        valid_b, first_b, last_b, addr_b = register(m, "stage_b", *control)
        m.d.comb += [self.z_valid.eq(valid_b), self.z_addr.eq(addr_b)]
        control = register(m, "stage_c", valid_b, first_b, last_b)
        m.d.sync += self.saturations.eq(Mux(valid_b, sum(lane.saturated for lane in lanes), 0))

        # With split products the lanes' sums of two halves are the tree's level 0.
        total, (tree_valid, tree_first, tree_last) = adder_tree(
            m, [lane.product for lane in lanes], control,
            odd_levels=split_product(self.config))
        m.d.comb += [self.beat_sum.eq(total), self.beat_valid.eq(tree_valid),
                     self.beat_first.eq(tree_first), self.beat_last.eq(tree_last)]

        with m.If(tree_valid):
            m.d.sync += self.dot.eq(Mux(tree_first, 0, self.dot) + total)
        m.d.sync += self.dot_valid.eq(tree_valid & tree_last)
        return m
