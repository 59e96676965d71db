"""The row fetcher and the on-chip row buffer: rows fetched ahead, several requests in flight."""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from halp_hw.golden.hardware import HardwareConfig

from .lane import check_config
from .memory_port import read_port_signature
from .rows import row_address_shape
from .sequencer import buffer_address_shape

__all__ = ["row_port_signature", "RowFetcher"]


def row_port_signature(config: HardwareConfig) -> wiring.Signature:
    """The data memory's read port: requests of up to ``W`` words of ``L * data_bits`` bits."""
    return read_port_signature(addr_width=row_address_shape(config).width,
                               length_width=max(1, config.words_per_row.bit_length()),
                               data_width=config.lanes * config.data_bits)


class RowFetcher(wiring.Component):
    """Fetches rows into the slots of the row buffer in ring order; the buffer's two read
    ports feed a pass.

    On ``start`` the fetcher requests ``row_words`` words at ``row_addr`` (the request is valid
    from the next cycle until the memory accepts it; ``start`` only while ``request_free``).
    Several requests may be in flight: the responses, in request order, fill the slots one after
    the other (slot ``k mod S`` for the ``k``-th row since ``restart``), one word per beat,
    always ready while a row is owed. ``pending`` counts the rows requested and not yet
    complete; it falls in the cycle after a row's last word. The buffer holds
    ``S = config.row_slots`` rows of ``W`` words; its read ports have one cycle of latency.

    Parameters
    ----------
    config : HardwareConfig
        The build: ``S`` slots of ``W = words_per_row`` words of ``L * data_bits`` bits.

    Attributes
    ----------
    restart : In(1)
        Fill from slot 0 again (no row in flight).
    start : In(1)
        Fetch the row at ``row_addr`` into the next slot.
    row_addr : In(row_address_shape(config))
        Word address of the row in off-chip memory.
    row_words : In(range(W + 1))
        Words per row, at least 1 (static).
    request_free : Out(1)
        No request waits for the memory (``start`` allowed).
    pending : Out(range(S + 1))
        Rows requested and not yet complete.
    memory : Out(row_port_signature(config))
        The data memory's read port.
    cur_addr, next_addr : In(buffer_address_shape(config))
        Buffer read addresses (rows ``i_t`` and ``i_{t+1}`` of a pass).
    cur_data, next_data : Out(L * data_bits)
        The words read one cycle earlier.
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        buffer_address = buffer_address_shape(config)
        word = config.lanes * config.data_bits
        super().__init__({
            "restart": In(1),
            "start": In(1),
            "row_addr": In(row_address_shape(config)),
            "row_words": In(range(config.words_per_row + 1)),
            "request_free": Out(1),
            "pending": Out(range(config.row_slots + 1)),
            "memory": Out(row_port_signature(config)),
            "cur_addr": In(buffer_address),
            "next_addr": In(buffer_address),
            "cur_data": Out(word),
            "next_data": Out(word),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        words, capacity = cfg.words_per_row, cfg.row_slots * cfg.words_per_row
        m.submodules.buffer = buffer = Memory(shape=cfg.lanes * cfg.data_bits, depth=capacity,
                                              init=[])
        write, cur_read, next_read = (buffer.write_port(), buffer.read_port(),
                                      buffer.read_port())
        m.d.comb += [cur_read.addr.eq(self.cur_addr), self.cur_data.eq(cur_read.data),
                     next_read.addr.eq(self.next_addr), self.next_data.eq(next_read.data)]

        request, response = self.memory.request, self.memory.response
        m.d.comb += self.request_free.eq(~request.valid)
        with m.If(request.valid & request.ready):
            m.d.sync += request.valid.eq(0)
        with m.If(self.start):
            m.d.sync += [request.valid.eq(1), request.payload.addr.eq(self.row_addr),
                         request.payload.length.eq(self.row_words)]

        # Responses fill the slots in ring order; a row is complete with its last word.
        received = Signal(range(words + 1))  # never zero-width in Verilog
        slot_base = Signal(range(capacity))
        fill = Signal(range(capacity))
        beat = Signal()
        row_done = Signal()
        m.d.comb += [response.ready.eq(self.pending != 0),
                     beat.eq(response.valid & response.ready),
                     write.addr.eq(fill), write.data.eq(response.payload), write.en.eq(beat),
                     row_done.eq(beat & (received + 1 == self.row_words))]
        next_base = Mux(slot_base == capacity - words, 0, slot_base + words)
        with m.If(beat):
            m.d.sync += [fill.eq(fill + 1), received.eq(received + 1)]
        with m.If(row_done):
            m.d.sync += [slot_base.eq(next_base), fill.eq(next_base), received.eq(0)]
        m.d.sync += self.pending.eq(self.pending + self.start - row_done)
        with m.If(self.restart):
            m.d.sync += [slot_base.eq(0), fill.eq(0), received.eq(0)]
        return m
