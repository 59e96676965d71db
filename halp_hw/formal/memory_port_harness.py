"""Property: the row fetcher's memory port keeps within its response buffer and loses no beat.

The memory side of the port is free in every cycle (``request.ready``, ``response.valid`` and
its data), constrained only by the stream protocol (``amaranth.lib.stream``: a beat offered and
not taken stays offered with the same data) and by what a memory can do: it sends no beat that
no accepted request asked for. The fetcher's response buffer is a slot of the row buffer.
"""

from __future__ import annotations

from amaranth import Mux, Signal
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.hdl.fetcher import RowFetcher
from halp_hw.hdl.sequencer import ROW_SLOTS

from .harness import PropertyHarness

__all__ = ["MEMORY_PORT_SCRIPT", "MemoryPortHarness", "memory_port_depth"]

#: The row buffer's contents play no part in the port's protocol: its memory is cut out (its
#: read data become free values), which keeps the solver on the handshake and the counters.
MEMORY_PORT_SCRIPT = "cutpoint top.fetcher/t:$mem*; opt_clean"


#: Longest row the bounded proof fetches: the fetcher's logic does not depend on the length
#: beyond its counter's width, and the bound (with a stall allowed before every beat) grows
#: with it.
MAX_PROVEN_ROW_WORDS = 4


def proven_row_words(config: HardwareConfig) -> int:
    """``min(W, MAX_PROVEN_ROW_WORDS)``."""
    return min(config.words_per_row, MAX_PROVEN_ROW_WORDS)


def memory_port_depth(config: HardwareConfig) -> int:
    """The bound: a longest proven row with a stall before every beat, then a second fetch's
    start (the checks after a fetch, and a request following it)."""
    return 2 * proven_row_words(config) + 8


class MemoryPortHarness(PropertyHarness):
    """:class:`RowFetcher` against any memory behind its read port.

    Free: ``start`` (only while the fetcher is not busy, as the core does), the row address,
    the slot (one of the ``ROW_SLOTS`` bases) and ``row_words`` (``1..min(W, 4)``, static as
    ``d``; see :data:`MAX_PROVEN_ROW_WORDS`).
    Checked in every cycle: at most one request is outstanding, and a request is issued only
    when no beat of an earlier one is owed (the words owed never exceed the room left in the
    slot, at most ``W``); whenever a beat is owed the fetcher is ready for it, so a beat offered
    is taken in that cycle under any back-pressure; ``busy`` falls exactly when the last owed
    beat has been taken, after ``row_words`` beats.

    Parameters
    ----------
    config : HardwareConfig
        The build (``W = words_per_row`` words of ``L * data_bits`` bits).
    fetcher_class : type
        The fetcher to prove (a broken subclass shows that the proof can fail).
    """

    def __init__(self, *, config: HardwareConfig, fetcher_class=RowFetcher):
        self.fetcher_class = fetcher_class
        super().__init__(config=config)

    def check(self, m, platform):
        words = self.config.words_per_row
        m.submodules.fetcher = fetcher = self.fetcher_class(config=self.config)
        request, response = fetcher.memory.request, fetcher.memory.response
        start = AnySeq(1)
        slot, row_words = AnyConst(range(ROW_SLOTS)), AnyConst(range(words + 1))
        base = Signal.like(fetcher.fill_base)
        m.d.comb += [Assume((row_words >= 1) & (row_words <= proven_row_words(self.config))),
                     base.eq(slot * words),
                     fetcher.start.eq(start),
                     fetcher.row_addr.eq(AnySeq(fetcher.row_addr.shape())),
                     fetcher.row_words.eq(row_words), fetcher.fill_base.eq(base),
                     request.ready.eq(AnySeq(1)), response.valid.eq(AnySeq(1)),
                     response.payload.eq(AnySeq(response.payload.shape()))]
        with m.If(start):
            m.d.comb += Assume(~fetcher.busy)

        # The memory: beats owed for accepted requests; a beat offered and not taken stays.
        accepted = request.valid & request.ready
        taken = response.valid & response.ready
        owed = Signal(range(2 * words + 1))
        m.d.sync += owed.eq(owed + Mux(accepted, request.payload.length, 0) - taken)
        with m.If(response.valid):
            m.d.comb += Assume(owed != 0)
        held, held_payload = Signal(), Signal.like(response.payload)
        m.d.sync += [held.eq(response.valid & ~response.ready), held_payload.eq(response.payload)]
        with m.If(held):
            m.d.comb += Assume(response.valid & (response.payload == held_payload))

        # The fetch as the harness sees it: beats taken since the start.
        fetching, count = Signal(), Signal(range(words + 1))
        with m.If(taken):
            m.d.sync += count.eq(count + 1)
        with m.If(start):
            m.d.sync += [fetching.eq(1), count.eq(0)]
        with m.Elif(fetching & ~fetcher.busy):
            m.d.sync += fetching.eq(0)

        m.d.comb += [
            Assert(~request.valid | ((owed == 0) & fetcher.busy), "request while a beat is owed"),
            Assert(owed + count <= row_words, "more words owed than the slot has room for"),
            Assert((owed == 0) | response.ready, "a beat owed is refused"),
            Assert(~accepted | (request.payload.length == row_words), "request length"),
        ]
        with m.If(start):
            m.d.comb += Assert(owed == 0, "a fetch starts while beats are owed")
        with m.If(fetching & ~fetcher.busy):
            m.d.comb += Assert((count == row_words) & (owed == 0), "busy fell early or late")
        with m.If(fetching & fetcher.busy & (count == row_words)):
            m.d.comb += Assert(False, "busy after the last beat")
