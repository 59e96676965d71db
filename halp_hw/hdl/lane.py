"""One MACC lane: the update of one ``z`` feature per beat and its product with the next sample.

Pipeline (``docs/datapath.md``), counted in registers from the lane inputs (the read stage):

    A  (1)  p = x_cur * coef,  zg = ((z << F) + r) - grad,  r = top F bits of the advanced PRNG,
            zd = z * decay (the L2 term; logistic and SVM builds only)
    B1 (2)  update = zg - p [- zd]
    B2 (3)  z_new = clamp(update >> F, bits),  saturated      (inactive lane: 0, no flag)
    C  (4)  product = x_next * z_new

When the vector unit's adder tree has an odd number of levels (``clog2(L)`` odd, e.g. L = 8),
its last register stage holds a single adder level; there stage C registers the two half
products ``x_next[:h] * z_new`` and ``x_next[h:] * z_new`` (``h = data_bits // 2``: half as
many partial products each, a shallower multiplier in LUTs) and ``product`` is their sum, which
the tree counts as its first adder level (:func:`split_product`). The timing is the same.

Both multiplies have registered inputs and outputs (ECP5 DSPs get no internal registers). A
coefficient wider than one hard multiplier's operand is split: stage A registers the partial
products ``x_cur * coef[:COEF_SPLIT]`` and ``x_cur * coef[COEF_SPLIT:]`` (one 18 x 18 ECP5 DSP
each) and stage B1 adds them into its update sum, so no adder follows a DSP within a cycle; the
shift and clamp have stage B2 to themselves. The
random bits go in below ``z << F`` in stage A (a concatenation), so stage B adds no more
operands than before the split, and the lane's rounder only shifts and saturates.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.prng import STATE_BITS, lane_stream
from halp_hw.golden.validation import HalpInputError, check_int

from .prng import Xorshift32
from .rounder import StochasticRounder

__all__ = ["check_config", "rounding_bits", "split_product", "MaccLane", "COEF_SPLIT"]

#: Low coefficient bits (unsigned) in the first partial product of ``x_cur * coef``: with the
#: sign bit an ECP5 MULT18X18D operand is 18 bits.
COEF_SPLIT = 17


def rounding_bits(draw, frac_bits: int):
    """The ``F`` random bits of a lane's draw: its top ``frac_bits`` bits
    (``docs/numeric-contract.md``)."""
    return draw[STATE_BITS - frac_bits:]


def split_product(config: HardwareConfig) -> bool:
    """Whether stage C registers two half products whose sum the adder tree completes: when the
    tree's ``clog2(L)`` levels are odd, so its register stages have an adder level to spare."""
    return (config.lanes - 1).bit_length() % 2 == 1


def check_config(config) -> HardwareConfig:
    """Return ``config`` if it is a :class:`HardwareConfig` (it validated itself); else raise."""
    if not isinstance(config, HardwareConfig):
        raise HalpInputError(f"config must be a halp_hw.golden.hardware.HardwareConfig, not {config!r}")
    return config


class MaccLane(wiring.Component):
    """Lane ``lane`` of the vector unit: stages A, B and C of one feature per beat.

    The lane owns its stochastic-rounding source, stream ``halp_hw.golden.prng.lane_stream(lane)``; it
    advances once per valid beat, masked or not, as in the golden model.

    Parameters
    ----------
    config : HardwareConfig
        The build; every width comes from it.
    lane : int
        The lane index, 0..config.lanes - 1.

    Attributes
    ----------
    seed : In(32)
        User seed of the lane PRNG, used on ``load``.
    load : In(1)
        Load the lane PRNG from ``seed`` (takes priority over ``valid``).
    valid : In(1)
        A beat is at the read stage: the PRNG advances.
    active : In(1)
        The beat's feature exists in this lane (the lane mask for ``d``).
    x_cur, x_next : In(signed(data_bits))
        ``x[i_t, j]`` (updates ``z``) and ``x[i_{t+1}, j]`` (multiplies the new ``z``).
    z : In(signed(bits))
        The current ``z_j``.
    grad : In(signed(grad_width))
        The gradient term ``G_j``.
    coef : In(signed(coef_width))
        The step coefficient ``c`` of this pass.
    decay : In(frac_bits)
        The L2 decay ``round(alpha lambda 2**F)`` (static); only in logistic and SVM builds.
    z_new : Out(signed(bits))
        Stage B2: the updated ``z_j``.
    saturated : Out(1)
        Stage B2: the update was clamped (never for an inactive lane).
    product : Out(signed(data_bits + bits))
        Stage C: ``x_next * z_new`` (with :func:`split_product`, the sum of its two registered
        halves, an adder after the registers).
    """

    def __init__(self, *, config: HardwareConfig, lane: int):
        self.config = check_config(config)
        self.lane = check_int("lane", lane, 0, config.lanes - 1)
        decay = {"decay": In(config.frac_bits)} if config.problem != "linreg" else {}
        super().__init__({
            **decay,
            "seed": In(STATE_BITS),
            "load": In(1),
            "valid": In(1),
            "active": In(1),
            "x_cur": In(signed(config.data_bits)),
            "x_next": In(signed(config.data_bits)),
            "z": In(signed(config.bits)),
            "grad": In(signed(config.grad_width)),
            "coef": In(signed(config.coef_width)),
            "z_new": Out(signed(config.bits)),
            "saturated": Out(1),
            "product": Out(signed(config.data_bits + config.bits)),
        })

    def update_sum(self, zg, product):
        """Stage B1's sum ``((z << F) + r - G) - x c``, from stage A's ``zg`` and ``x c``."""
        return zg - product

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        frac = cfg.frac_bits
        m.submodules.prng = prng = Xorshift32(stream=lane_stream(self.lane))
        m.submodules.rounder = rounder = StochasticRounder(
            in_width=cfg.update_width, frac_bits=frac, out_width=cfg.bits)

        # Stage A.
        m.d.comb += [prng.seed.eq(self.seed), prng.load.eq(self.load), prng.advance.eq(self.valid)]
        # (z << F) + r is a concatenation: adding the rounding bits here is free, and keeps
        # them out of stage B, where the partial products are added.
        scaled_z = Cat(rounding_bits(prng.next_state, frac), self.z).as_signed()
        zg = Signal((scaled_z - self.grad).shape())
        x_next_a = Signal.like(self.x_next)
        active_a = Signal()
        if cfg.coef_width > COEF_SPLIT + 1:
            coef_low, coef_high = self.coef[:COEF_SPLIT], self.coef[COEF_SPLIT:].as_signed()
            p_low = Signal((self.x_cur * coef_low).shape())
            p_high = Signal((self.x_cur * coef_high).shape())
            m.d.sync += [p_low.eq(self.x_cur * coef_low), p_high.eq(self.x_cur * coef_high)]
            p = p_low + (p_high << COEF_SPLIT)   # added in stage B1
        else:
            p = Signal((self.x_cur * self.coef).shape())
            m.d.sync += p.eq(self.x_cur * self.coef)
        m.d.sync += [
            zg.eq(scaled_z - self.grad),
            x_next_a.eq(self.x_next),
            active_a.eq(self.active),
        ]
        if cfg.problem != "linreg":
            decayed = Signal(signed(cfg.bits + cfg.frac_bits + 1))
            m.d.sync += decayed.eq(self.z * self.decay)
            p = p + decayed

        # Stage B1: the update sum.
        update_sum = Signal(signed(cfg.update_width))
        m.d.comb += update_sum.eq(self.update_sum(zg, p))
        update = Signal.like(update_sum)
        x_next_b1 = Signal.like(self.x_next)
        active_b1 = Signal()
        m.d.sync += [update.eq(update_sum), x_next_b1.eq(x_next_a), active_b1.eq(active_a)]

        # Stage B2: shift and clamp.
        m.d.comb += [rounder.value.eq(update), rounder.random.eq(0)]
        x_next_b = Signal.like(self.x_next)
        m.d.sync += [
            self.z_new.eq(Mux(active_b1, rounder.result, 0)),
            self.saturated.eq(active_b1 & rounder.saturated),
            x_next_b.eq(x_next_b1),
        ]

        # Stage C.
        if split_product(cfg):
            half = cfg.data_bits // 2
            low, high = x_next_b[:half], x_next_b[half:].as_signed()
            q_low, q_high = Signal((low * self.z_new).shape()), Signal((high * self.z_new).shape())
            m.d.sync += [q_low.eq(low * self.z_new), q_high.eq(high * self.z_new)]
            m.d.comb += self.product.eq(q_low + (q_high << half))
        else:
            m.d.sync += self.product.eq(x_next_b * self.z_new)
        return m
