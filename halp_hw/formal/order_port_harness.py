"""Property: the sample-order source's order-memory port keeps within what it can hold and
loses no entry.

:class:`SampleRowSource` with a host-given order reads the order ``row_slots`` entries ahead of
the row addresses taken, one entry per request, several requests in flight, and turns the
entries, in order, into the row addresses of its ``rows`` stream. The memory side is free in
every cycle (``request.ready``, ``response.valid`` and the entry), constrained only by the
stream protocol (a beat offered and not taken stays offered with the same data) and by what a
memory can do (no beat that no accepted request asked for; entries are sample indices below
``n``, as a host order's are). The consumer of ``rows`` (``ready``) is free too.
"""

from __future__ import annotations

from amaranth import Array, Mux, Signal
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.hdl.rows import SampleRowSource

from .harness import PropertyHarness

__all__ = ["ORDER_PORT_SCRIPT", "order_entries_in_flight", "OrderPortHarness",
           "order_port_depth"]

#: The source's entry queue as registers: the solver handles them far faster than an array.
ORDER_PORT_SCRIPT = "memory_map; opt_clean"


def order_entries_in_flight(config: HardwareConfig) -> int:
    """Entries the source may have requested and not yet turned into a row address taken: it
    reads the order ``row_slots`` entries ahead (``halp_hw.golden.memory``), so every entry
    of its queue, its registers and its requests counts."""
    return config.row_slots


def order_port_depth(config: HardwareConfig) -> int:
    """The bound: a load, the ``row_slots`` requests it owes, each entry delayed by a stalling
    memory, queued, registered and taken as an address (``ORDER_INDEX_REGISTERS`` = 3), and
    the request each take owes."""
    return 3 * config.row_slots + 8


class OrderPortHarness(PropertyHarness):
    """:class:`SampleRowSource` (host-given order) against any order memory.

    Free: ``load`` (assumed only when no request waits and no entry is owed by the memory:
    the core issues a SEED only in IDLE, where the source is ``quiet``; the entries queued are
    discarded), the seed, ``n`` (``1..n_max``, static), ``row_words`` (``1..W``, static), the
    order memory and the ``rows`` consumer.
    Checked in every cycle: each request asks for one entry, at the position that follows the
    previous request's (0 after a load); at most :func:`order_entries_in_flight` entries are
    owed by the memory or held before their address is taken (none overflows the queue); the
    port is ready whenever an entry is owed (no beat refused under any timing); every address
    the source offers is ``entry * row_words`` of the oldest entry arrived and not yet taken,
    and none is offered without one.

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
        limit = order_entries_in_flight(cfg)
        owed = Signal(range(2 * limit + 2))
        m.d.sync += owed.eq(owed + Mux(accepted, request.payload.length, 0) - taken)
        with m.If(response.valid):
            m.d.comb += Assume((owed != 0) & (response.payload < n))
        held, held_payload = Signal(), Signal.like(response.payload)
        m.d.sync += [held.eq(response.valid & ~response.ready), held_payload.eq(response.payload)]
        with m.If(held):
            m.d.comb += Assume(response.valid & (response.payload == held_payload))

        # The harness's view: requests since the load; the addresses of the entries arrived and
        # not yet taken, oldest first (a ring of limit + 1).
        requests = Signal.like(request.payload.addr)
        ring = Array(Signal.like(rows.rows.payload, name=f"expected{slot}")
                     for slot in range(limit + 1))
        head, tail = Signal(range(limit + 1)), Signal(range(limit + 1))
        queued = Signal(range(2 * limit + 2))
        delivered = rows.rows.valid & rows.rows.ready

        def following(pointer):
            return Mux(pointer == limit, 0, pointer + 1)

        with m.If(accepted):
            m.d.sync += requests.eq(requests + 1)
        with m.If(taken):
            m.d.sync += [ring[tail].eq(response.payload * row_words), tail.eq(following(tail))]
        with m.If(delivered):
            m.d.sync += head.eq(following(head))
        m.d.sync += queued.eq(queued + taken - delivered)
        with m.If(load):
            m.d.comb += Assume(~request.valid & (owed == 0))
            m.d.sync += [requests.eq(0), head.eq(0), tail.eq(0), queued.eq(0)]

        m.d.comb += [
            Assert(~request.valid | (request.payload.length == 1), "a request of several entries"),
            Assert(~request.valid | (request.payload.addr == requests), "order position"),
            Assert(owed + queued <= limit, "more entries in flight than held"),
            Assert((owed == 0) | response.ready, "an entry owed is refused"),
            Assert(~rows.rows.valid | (queued != 0), "an address without an entry"),
            Assert(~rows.rows.valid | (rows.rows.payload == ring[head]), "wrong address"),
        ]
