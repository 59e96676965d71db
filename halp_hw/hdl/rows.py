"""The sample order as a stream of row addresses in off-chip memory."""

from __future__ import annotations

from amaranth import Module, Mux, ResetInserter, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.memory import ORDER_WORD_BITS
from halp_hw.golden.prng import SAMPLE_STREAM, STATE_BITS

from .centering import address_shape
from .lane import check_config
from .memory_port import read_port_signature
from .prng import Xorshift32

__all__ = ["ORDER_ADDRESS_BITS", "row_address_shape", "order_port_signature", "SampleRowSource"]

#: Width of the position in a host-given order (entries are words of ``ORDER_WORD_BITS``).
ORDER_ADDRESS_BITS = 32


def row_address_shape(config: HardwareConfig):
    """Word addresses of the data in off-chip memory: ``n_max`` rows of up to ``W`` words
    (and the per-sample value's words)."""
    return address_shape(config.n_max * config.max_fetch_words)


def order_port_signature() -> wiring.Signature:
    """The read port of a host-given order: one ``ORDER_WORD_BITS`` entry per request."""
    return read_port_signature(addr_width=ORDER_ADDRESS_BITS, length_width=1,
                               data_width=ORDER_WORD_BITS)


class SampleRowSource(wiring.Component):
    """The sample indices as row addresses ``index * row_words``, one ahead in a stream.

    The indices come from the xorshift32 stream (``halp_hw.golden.prng.SAMPLE_STREAM``:
    advance, ``(state * n) >> 32``) or, with ``host_order``, from the order memory (entry ``k``
    for the ``k``-th sample since ``load``). Each index is scaled to the row address in its own
    register, so no multiply sits on another's path. After ``load``, and after each address is
    taken, the next one is produced: ``halp_hw.golden.memory.DRAW_LATENCY`` cycles later from the
    xorshift32 stream (it advances in the cycle after the take). A host-given order is read
    ``ORDER_AHEAD = config.row_slots`` entries ahead of the addresses taken (``load`` requests
    that many, each take one more, one request per cycle, accepted from the cycle after); an
    entry waits in a queue and is popped in the cycle its predecessor's address is taken or in
    the cycle after it arrives, whichever is later; its address is valid
    ``ORDER_INDEX_REGISTERS`` cycles after the pop.

    Parameters
    ----------
    config : HardwareConfig
        The build (``n_max``, ``words_per_row``).

    Attributes
    ----------
    seed : In(32)
        The user seed, used on ``load``.
    load : In(1)
        Restart: reseed the stream, go back to the first order entry, drop the held address.
    host_order : In(1)
        Take indices from the order memory (static between loads).
    n : In(range(n_max + 1))
        Number of samples.
    row_words : In(range(W + 1))
        The row stride in memory, ``config.fetch_words(d)`` (static).
    rows : Out(stream.Signature(row_address_shape(config)))
        The row address of the next sample.
    order : Out(order_port_signature())
        Reads the host-given order.
    quiet : Out(1)
        An address is held and no order entry is owed or in flight (nothing changes until the
        next take).
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        super().__init__({
            "seed": In(STATE_BITS),
            "load": In(1),
            "host_order": In(1),
            "n": In(range(config.n_max + 1)),
            "row_words": In(range(config.max_fetch_words + 1)),
            "rows": Out(stream.Signature(row_address_shape(config))),
            "order": Out(order_port_signature()),
            "quiet": Out(1),
        })

    def sample_index(self, entry, drawn):
        """The index of the next sample: the order entry with ``host_order``, else the draw
        ``(state * n) >> 32``."""
        return Mux(self.host_order, entry, drawn)

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        loaded, refill = Signal(), Signal()
        m.d.sync += loaded.eq(self.load)
        m.d.comb += refill.eq(loaded | (self.rows.valid & self.rows.ready))
        with m.If(self.rows.valid & self.rows.ready):
            m.d.sync += self.rows.valid.eq(0)

        # xorshift32: advance (in the cycle after the take: the take's decision fans out to
        # much of the core, the state's 32 registers stay off its path), then state * n as four
        # registered partial products (16 bits of the state by half of n each: one 18 x 18 DSP
        # apiece), two registered half sums and their registered total: no adder or second DSP
        # behind a multiply.
        m.submodules.prng = prng = Xorshift32(stream=SAMPLE_STREAM)
        advance = Signal()
        m.d.sync += advance.eq(refill & ~self.host_order & ~self.load)
        m.d.comb += [prng.seed.eq(self.seed), prng.load.eq(self.load), prng.advance.eq(advance)]
        half, n_half = STATE_BITS // 2, (len(self.n) + 1) // 2
        stages = [Signal(name=f"draw_stage{stage}") for stage in range(4)]
        m.d.sync += [stage.eq(before) for stage, before in zip(stages, [prng.advance, *stages])]
        state_parts = (prng.state[:half], prng.state[half:])
        n_parts = (self.n[:n_half], self.n[n_half:])
        partials = {(s, k): Signal(half + n_half, name=f"partial{s}{k}")
                    for s in range(2) for k in range(2)}
        m.d.sync += [partial.eq(state_parts[s] * n_parts[k])
                     for (s, k), partial in partials.items()]
        sums = [Signal(half + len(self.n) + 1, name=f"partial_sum{s}") for s in range(2)]
        m.d.sync += [sums[s].eq(partials[s, 0] + (partials[s, 1] << n_half)) for s in range(2)]
        product = Signal(STATE_BITS + len(self.n))
        m.d.sync += product.eq(sums[0] + (sums[1] << half))
        product_ready = stages[-1]

        # Host-given order, read ORDER_AHEAD entries ahead of the addresses taken: every take
        # owes one more request; the entries wait in a queue until the address stage is free.
        ahead = cfg.row_slots
        request, response = self.order.request, self.order.response
        taken = Signal()
        m.d.comb += taken.eq(self.rows.valid & self.rows.ready & self.host_order)
        position = Signal(ORDER_ADDRESS_BITS)
        owed = Signal(range(2 * ahead + 2))
        in_flight = Signal(range(ahead + 2))
        accepted = Signal()
        m.d.comb += [request.valid.eq(owed != 0), accepted.eq(request.valid & request.ready),
                     request.payload.addr.eq(position), request.payload.length.eq(1),
                     response.ready.eq(1)]
        m.d.sync += [owed.eq(owed + taken - accepted),
                     in_flight.eq(in_flight + accepted - response.valid)]
        with m.If(accepted):
            m.d.sync += position.eq(position + 1)
        entries = SyncFIFO(width=len(self.n), depth=ahead)
        m.submodules.entries = entries = ResetInserter(self.load)(entries)
        entry = Signal(range(cfg.n_max + 1))
        entry_ready = Signal()
        index_ready = Signal()
        pop = Signal()
        m.d.comb += [entries.w_en.eq(response.valid), entries.w_data.eq(response.payload),
                     pop.eq(entries.r_rdy & ~entry_ready & ~index_ready
                            & (~self.rows.valid | taken)),
                     entries.r_en.eq(pop)]
        m.d.sync += [entry_ready.eq(pop), entry.eq(entries.r_data)]
        m.d.comb += self.quiet.eq(self.rows.valid & (owed == 0) & (in_flight == 0))

        index = self.sample_index(entry, product[STATE_BITS:])
        # The chosen index in a register of its own, so nothing sits in front of the multiply.
        index_held = Signal(range(cfg.n_max + 1))
        m.d.sync += [index_held.eq(index),
                     index_ready.eq(Mux(self.host_order, entry_ready, product_ready))]
        with m.If(index_ready):
            m.d.sync += [self.rows.payload.eq(index_held * self.row_words),
                         self.rows.valid.eq(1)]
        with m.If(self.load):
            m.d.sync += [self.rows.valid.eq(0), position.eq(0),
                         owed.eq(Mux(self.host_order, ahead, 0)), entry_ready.eq(0),
                         index_ready.eq(0)]
        return m
