"""Property: the sample-order source's order-memory port keeps within what it can hold and
loses no entry.

:class:`SampleRowSource` with a host-given order reads one entry per request from the order
memory and turns it into the row address of its ``rows`` stream. The memory side is free in
every cycle (``request.ready``, ``response.valid`` and the entry), constrained only by the
stream protocol (a beat offered and not taken stays offered with the same data) and by what a
memory can do (no beat that no accepted request asked for; entries are sample indices below
``n``, as a host order's are). The consumer of ``rows`` (``ready``) is free too.
"""

from __future__ import annotations

from amaranth import Mux, Signal
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.hdl.rows import SampleRowSource

from .harness import PropertyHarness

__all__ = ["ORDER_ENTRIES_IN_FLIGHT", "OrderPortHarness", "order_port_depth"]

#: Entries the source may have requested and not yet turned into a row address: the one entry
#: register in front of the index register. A source with a deeper buffer (several requests
#: outstanding) proves the same properties with its own figure here.
ORDER_ENTRIES_IN_FLIGHT = 1


def order_port_depth(config: HardwareConfig) -> int:
    """The bound: a load, then two entries each requested, delayed by a stalling memory, read,
    registered and taken as an address (``ORDER_INDEX_REGISTERS`` = 3), and a third request."""
    return 24


class OrderPortHarness(PropertyHarness):
    """:class:`SampleRowSource` (host-given order) against any order memory.

    Free: ``load`` (assumed only when no entry is requested, owed or on its way to an address:
    the core issues a SEED only in IDLE, where the source holds the next row address, which a
    step or the SEED's prefetch waits for, and has nothing else in flight), the seed, ``n`` (``1..n_max``, static), ``row_words``
    (``1..W``, static), the order memory and the ``rows`` consumer.
    Checked in every cycle: each request asks for one entry, at the position that follows the
    previous request's (0 after a load); a request is issued only when no entry is owed; at
    most :data:`ORDER_ENTRIES_IN_FLIGHT` entries are owed or held in front of the address
    register; the port is ready whenever an entry is owed (no beat refused under any timing),
    and no beat arrives while the previous one has not yet become an address (none is
    overwritten: none lost); every address the source offers is ``entry * row_words`` of the
    oldest entry not yet taken, and none is offered without one.

    Parameters
    ----------
    config : HardwareConfig
        The build.
    source_class : type
        The source to prove (a broken subclass shows that the proof can fail).
    """

    def __init__(self, *, config: HardwareConfig, source_class=SampleRowSource):
        self.source_class = source_class
        super().__init__(config=config)

    def check(self, m, platform):
        cfg = self.config
        m.submodules.rows = rows = self.source_class(config=cfg)
        request, response = rows.order.request, rows.order.response
        n, row_words = AnyConst(rows.n.shape()), AnyConst(rows.row_words.shape())
        load = AnySeq(1)
        m.d.comb += [Assume((n >= 1) & (n <= cfg.n_max)),
                     Assume((row_words >= 1) & (row_words <= cfg.words_per_row)),
                     rows.seed.eq(AnySeq(32)), rows.load.eq(load), rows.host_order.eq(1),
                     rows.n.eq(n), rows.row_words.eq(row_words),
                     rows.rows.ready.eq(AnySeq(1)),
                     request.ready.eq(AnySeq(1)), response.valid.eq(AnySeq(1)),
                     response.payload.eq(AnySeq(response.payload.shape()))]

        # The memory: entries owed for accepted requests; a beat offered and not taken stays.
        accepted = request.valid & request.ready
        taken = response.valid & response.ready
        owed = Signal(range(2 * ORDER_ENTRIES_IN_FLIGHT + 2))
        m.d.sync += owed.eq(owed + Mux(accepted, request.payload.length, 0) - taken)
        with m.If(response.valid):
            m.d.comb += Assume((owed != 0) & (response.payload < n))
        held, held_payload = Signal(), Signal.like(response.payload)
        m.d.sync += [held.eq(response.valid & ~response.ready), held_payload.eq(response.payload)]
        with m.If(held):
            m.d.comb += Assume(response.valid & (response.payload == held_payload))

        # The harness's view: requests since the load, the entry taken and not yet an address.
        requests = Signal.like(request.payload.addr)
        pending, pending_address = Signal(), Signal.like(rows.rows.payload)
        delivered = rows.rows.valid & rows.rows.ready
        with m.If(accepted):
            m.d.sync += requests.eq(requests + 1)
        with m.If(delivered):
            m.d.sync += pending.eq(0)
        with m.If(taken):
            m.d.sync += [pending.eq(1), pending_address.eq(response.payload * row_words)]
        with m.If(load):
            m.d.comb += Assume(~request.valid & (owed == 0) & ~(pending & ~rows.rows.valid))
            m.d.sync += [requests.eq(0), pending.eq(0)]

        m.d.comb += [
            Assert(~request.valid | (request.payload.length == 1), "a request of several entries"),
            Assert(~request.valid | (request.payload.addr == requests), "order position"),
            Assert(~request.valid | (owed == 0), "a request while an entry is owed"),
            Assert(owed + pending <= ORDER_ENTRIES_IN_FLIGHT, "more entries in flight than held"),
            Assert((owed == 0) | response.ready, "an entry owed is refused"),
            Assert(~(taken & pending & ~delivered), "an entry arrives over one not yet used"),
            Assert(~rows.rows.valid | pending, "an address without an entry"),
            Assert(~rows.rows.valid | (rows.rows.payload == pending_address), "wrong address"),
        ]
