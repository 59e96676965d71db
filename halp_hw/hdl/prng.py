"""One xorshift32 stream in hardware, bit-identical to :mod:`halp_hw.golden.prng`."""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.prng import MASK, STATE_BITS, stream_key, stream_seed
from halp_hw.golden.validation import check_int

__all__ = ["XORSHIFTS", "Xorshift32"]

#: Marsaglia's shifts (left, right, left), as in :func:`halp_hw.golden.prng.xorshift32`.
XORSHIFTS = (13, 17, 5)


class Xorshift32(wiring.Component):
    """The state register of random stream ``stream``, its next state, and seeding.

    ``load`` takes priority over ``advance``. After reset the state is
    ``halp_hw.golden.prng.stream_seed(0, stream)``, the state that seed 0 loads.

    Parameters
    ----------
    stream : int
        The stream number (``halp_hw.golden.prng.SAMPLE_STREAM`` or ``halp_hw.golden.prng.lane_stream(lane)``),
        0..2**32 - 1.

    Attributes
    ----------
    seed : In(32)
        The user seed, used on ``load``.
    load : In(1)
        Next state ``halp_hw.golden.prng.stream_seed(seed, stream)``.
    advance : In(1)
        Next state ``next_state`` (one draw).
    state : Out(32)
        The current state: after an advance, the draw's value.
    next_state : Out(32)
        ``xorshift32(state)``, combinational.
    """

    def __init__(self, *, stream: int):
        self.stream = check_int("stream", stream, 0, MASK)
        super().__init__({
            "seed": In(STATE_BITS),
            "load": In(1),
            "advance": In(1),
            "state": Out(STATE_BITS, init=stream_seed(0, self.stream)),
            "next_state": Out(STATE_BITS),
        })

    def elaborate(self, platform):
        m = Module()
        key = stream_key(self.stream)
        left1, right, left2 = XORSHIFTS
        step1, step2 = Signal(STATE_BITS), Signal(STATE_BITS)
        m.d.comb += [
            step1.eq(self.state ^ (self.state << left1)),
            step2.eq(step1 ^ (step1 >> right)),
            self.next_state.eq(step2 ^ (step2 << left2)),
        ]
        seeded = Signal(STATE_BITS)
        m.d.comb += seeded.eq(self.seed ^ key)
        with m.If(self.load):
            m.d.sync += self.state.eq(Mux(seeded == 0, key, seeded))
        with m.Elif(self.advance):
            m.d.sync += self.state.eq(self.next_state)
        return m
