"""Faulty off-chip memories for the verification suite (never part of a production build).

Each class has the constructor and signature of :class:`halp_hw.hdl.memory_model.OffChipMemory`
and wraps one, changing only how its response beats reach the core:

``jitter``
    Random extra delays: a xorshift32 stream holds a beat back in about a quarter of the
    cycles. The data and their order are intact, so the run must stay bit-exact (only the
    cycle count grows).
``drop-beat``
    The beat number :data:`FAULTY_BEAT` (counted from reset) is taken from the memory and
    never delivered.
``duplicate-beat``
    The beat number :data:`FAULTY_BEAT` is delivered twice.

A verification run must catch the last two: a mismatch, or a hang that it names.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring

from halp_hw.golden.prng import STATE_BITS, xorshift32
from halp_hw.hdl.memory_model import TIMING_INPUTS, OffChipMemory

__all__ = ["FAULTY_BEAT", "MEMORY_FAULTS", "memory_class"]

#: The beat (from 0, counted from reset) that ``drop-beat`` and ``duplicate-beat`` break: in the
#: seed command's second row fetch for rows of more than two words, else later.
FAULTY_BEAT = 5
#: Seed of the ``jitter`` stream.
JITTER_SEED = 0x1234567


class _FaultyMemory(wiring.Component):
    """An :class:`OffChipMemory` whose response goes through :meth:`_deliver`."""

    def __init__(self, **parameters):
        self.inner = OffChipMemory(**parameters)
        self.timing, self.depth, self.data_width = (self.inner.timing, self.inner.depth,
                                                    self.inner.data_width)
        super().__init__(dict(self.inner.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self.inner
        m.d.comb += [inner.preload_addr.eq(self.preload_addr),
                     inner.preload_data.eq(self.preload_data),
                     inner.preload_en.eq(self.preload_en)]
        if self.timing is None:
            m.d.comb += [getattr(inner, name).eq(getattr(self, name)) for name in TIMING_INPUTS]
        wiring.connect(m, wiring.flipped(self.port.request), inner.port.request)
        m.d.comb += self.port.response.payload.eq(inner.port.response.payload)
        self._deliver(m, inner.port.response, self.port.response)
        return m

    def _deliver(self, m, source, sink):
        raise NotImplementedError


class JitteryMemory(_FaultyMemory):
    def _deliver(self, m, source, sink):
        state = Signal(STATE_BITS, init=xorshift32(JITTER_SEED))
        m.d.sync += state.eq(_xorshift(state))
        hold = state[-2:] == 0
        m.d.comb += [sink.valid.eq(source.valid & ~hold), source.ready.eq(sink.ready & ~hold)]


def _xorshift(state):
    state = state ^ (state << 13)[:STATE_BITS]
    state = state ^ (state >> 17)
    return state ^ (state << 5)[:STATE_BITS]


class _BeatFault(_FaultyMemory):
    def _deliver(self, m, source, sink):
        beats = Signal(range(FAULTY_BEAT + 2))
        with m.If(source.valid & source.ready & (beats <= FAULTY_BEAT)):
            m.d.sync += beats.eq(beats + 1)
        self._break(m, source, sink, at_fault=beats == FAULTY_BEAT)


class DroppingMemory(_BeatFault):
    def _break(self, m, source, sink, at_fault):
        m.d.comb += [sink.valid.eq(source.valid & ~at_fault),
                     source.ready.eq(sink.ready | at_fault)]


class DuplicatingMemory(_BeatFault):
    def _break(self, m, source, sink, at_fault):
        repeated = Signal()
        first_copy = at_fault & ~repeated
        with m.If(first_copy & sink.valid & sink.ready):
            m.d.sync += repeated.eq(1)
        m.d.comb += [sink.valid.eq(source.valid), source.ready.eq(sink.ready & ~first_copy)]


#: Fault name -> the memory class that has it.
MEMORY_FAULTS = {"jitter": JitteryMemory, "drop-beat": DroppingMemory,
                 "duplicate-beat": DuplicatingMemory}


def memory_class(fault: str | None):
    """The data memory class for a memory fault name (None: the correct model)."""
    return OffChipMemory if fault is None else MEMORY_FAULTS[fault]
