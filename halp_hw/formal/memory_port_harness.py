"""Property: the row fetcher's memory port keeps within its row buffer and loses no beat.

The memory side of the port is free in every cycle (``request.ready``, ``response.valid`` and
its data), constrained only by the stream protocol (``amaranth.lib.stream``: a beat offered and
not taken stays offered with the same data) and by what a memory can do: it sends no beat that
no accepted request asked for. Several requests may be in flight, as the core issues them.
"""

from __future__ import annotations

from amaranth import Mux, Signal
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.hdl.fetcher import RowFetcher

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
    """The bound: three longest proven rows in flight with a stall before every beat, and the
    starts and checks around them."""
    return 3 * (2 * proven_row_words(config) + 1) + 6


class MemoryPortHarness(PropertyHarness):
    """:class:`RowFetcher` against any memory behind its read port.

    Free: ``restart`` (only with nothing in flight, and before the first fetch), ``start``
    (only while ``request_free`` and fewer than ``row_slots - 1`` rows are pending, as the core
    does), the row address and ``row_words`` (``1..min(W, 4)``, static as ``d``; see
    :data:`MAX_PROVEN_ROW_WORDS`).
    Checked in every cycle: the words of the rows pending are exactly those owed by the memory,
    those of a request not yet accepted and those of the row being received (no beat lost,
    none over-owed); ``pending`` stays below ``row_slots`` (a row never overwrites a slot still
    to be read); whenever a beat is owed the fetcher is ready for it, so a beat offered is taken
    in that cycle under any back-pressure; a request asks for ``row_words`` words.

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
        cfg = self.config
        words, slots = cfg.words_per_row, cfg.row_slots
        m.submodules.fetcher = fetcher = self.fetcher_class(config=cfg)
        request, response = fetcher.memory.request, fetcher.memory.response
        start, restart = AnySeq(1), AnySeq(1)
        row_words = AnyConst(range(words + 1))
        m.d.comb += [Assume((row_words >= 1) & (row_words <= proven_row_words(cfg))),
                     fetcher.start.eq(start), fetcher.restart.eq(restart),
                     fetcher.row_addr.eq(AnySeq(fetcher.row_addr.shape())),
                     fetcher.row_words.eq(row_words),
                     request.ready.eq(AnySeq(1)), response.valid.eq(AnySeq(1)),
                     response.payload.eq(AnySeq(response.payload.shape()))]

        # The memory: words owed for accepted requests; a beat offered and not taken stays.
        accepted = request.valid & request.ready
        taken = response.valid & response.ready
        owed = Signal(range(slots * words + 1))
        m.d.sync += owed.eq(owed + Mux(accepted, request.payload.length, 0) - taken)
        with m.If(response.valid):
            m.d.comb += Assume(owed != 0)
        held, held_payload = Signal(), Signal.like(response.payload)
        m.d.sync += [held.eq(response.valid & ~response.ready), held_payload.eq(response.payload)]
        with m.If(held):
            m.d.comb += Assume(response.valid & (response.payload == held_payload))

        # The core's use: a restart first and with nothing in flight; starts within the slots.
        restarted = Signal()
        with m.If(restart):
            m.d.sync += restarted.eq(1)
            m.d.comb += Assume((fetcher.pending == 0) & fetcher.request_free & ~start)
        with m.If(start):
            m.d.comb += Assume(restarted & fetcher.request_free & (fetcher.pending < slots - 1))

        # The row being received, as the harness counts it.
        received = Signal(range(words + 1))
        with m.If(taken):
            m.d.sync += received.eq(Mux(received + 1 == row_words, 0, received + 1))
        with m.If(restart):
            m.d.sync += received.eq(0)

        waiting = Mux(request.valid, row_words, 0)
        with m.If(restarted):
            m.d.comb += [
                Assert(fetcher.pending * row_words == owed + waiting + received,
                       "the words of the pending rows differ from those owed and received"),
                Assert(fetcher.pending < slots, "more rows in flight than slots"),
            ]
        m.d.comb += [
            Assert((owed == 0) | response.ready, "a beat owed is refused"),
            Assert(~accepted | (request.payload.length == row_words), "request length"),
        ]
