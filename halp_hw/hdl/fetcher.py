"""The row fetcher and the on-chip row buffer: rows fetched ahead, several requests in flight."""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal
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
                               length_width=max(1, config.max_fetch_words.bit_length()),
                               data_width=config.lanes * config.data_bits)


class RowFetcher(wiring.Component):
    """Fetches rows into the slots of the row buffer in ring order; the buffer's two read
    ports feed a pass.

    On ``start`` the fetcher requests a row at ``row_addr`` (the request is valid from the next
    cycle until the memory accepts it; ``start`` only while ``request_free``). Several requests
    may be in flight: the responses, in request order, fill the slots one after the other (slot
    ``k mod S`` for the ``k``-th row since ``restart``), one word per beat, always ready while a
    row is owed. ``pending`` counts the rows requested and not yet complete; it falls in the
    cycle after a row's last word. The buffer holds ``S = config.row_slots`` rows of ``W``
    words; its read ports have one cycle of latency.

    In a logistic or SVM build a row is followed in memory by ``config.sample_words`` words
    holding its per-sample value: a row's request asks for those too, and they go to the value
    register of the row's slot instead of the buffer (the row is complete with them). While
    idle (nothing pending), ``refresh`` reads the value words of the row of every slot again,
    one slot after the other (the host rewrote them); ``refreshing`` is high until the last
    has arrived. ``value`` is the value of the slot ``value_slot``.

    Parameters
    ----------
    config : HardwareConfig

    Attributes
    ----------
    restart : In(1)
        Fill from slot 0 again (no row in flight).
    start : In(1)
        Fetch the row at ``row_addr`` into the next slot.
    row_addr : In(row_address_shape(config))
        Word address of the row in off-chip memory.
    row_words : In(range(W + 1))
        Words per row, at least 1 (static; without the value words).
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
    refresh : In(1)
        Read every slot's value words again (logistic and SVM builds only).
    refreshing : Out(1)
        A refresh is under way (logistic and SVM builds only).
    value_slot : In(range(S))
        The slot whose value ``value`` shows (logistic and SVM builds only).
    value : Out(sample_words * L * data_bits)
        That slot's value words (logistic and SVM builds only).
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        buffer_address = buffer_address_shape(config)
        word = config.lanes * config.data_bits
        value = ({"refresh": In(1), "refreshing": Out(1),
                  "value_slot": In(range(config.row_slots)),
                  "value": Out(config.sample_words * word)}
                 if config.sample_words else {})
        super().__init__({
            **value,
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
        value_words = cfg.sample_words
        row_and_value = self.row_words + value_words if value_words else self.row_words
        m.d.comb += self.request_free.eq(~request.valid)
        with m.If(request.valid & request.ready):
            m.d.sync += request.valid.eq(0)
        with m.If(self.start):
            m.d.sync += [request.valid.eq(1), request.payload.addr.eq(self.row_addr),
                         request.payload.length.eq(row_and_value)]

        # Responses fill the slots in ring order; a row is complete with its last word.
        received = Signal(range(words + value_words + 1))  # never zero-width in Verilog
        slot_base = Signal(range(capacity))
        fill = Signal(range(capacity))
        beat = Signal()
        row_done = Signal()
        # A row's beat (not a refresh's): the value words follow the row's.
        row_beat = beat & ~self.refreshing if value_words else beat
        in_row = (received < self.row_words) if value_words else 1
        m.d.comb += [response.ready.eq(self.pending != 0),
                     beat.eq(response.valid & response.ready),
                     write.addr.eq(fill), write.data.eq(response.payload),
                     write.en.eq(row_beat & in_row),
                     row_done.eq(beat & (received + 1 == row_and_value))]
        next_base = Mux(slot_base == capacity - words, 0, slot_base + words)
        with m.If(beat):
            m.d.sync += received.eq(received + 1)
        with m.If(row_beat):
            m.d.sync += fill.eq(fill + 1)
        with m.If(row_done):
            m.d.sync += [slot_base.eq(next_base), fill.eq(next_base), received.eq(0)]
        m.d.sync += self.pending.eq(self.pending + self.start - row_done)
        with m.If(self.restart):
            m.d.sync += [slot_base.eq(0), fill.eq(0), received.eq(0)]
        if value_words:
            self._values(m, received=received, beat=beat, row_done=row_done)
        return m

    def _values(self, m, *, received, beat, row_done):
        """The value registers of the slots: filled by a row's last words, or by a refresh."""
        cfg = self.config
        slots, value_words = cfg.row_slots, cfg.sample_words
        word = cfg.lanes * cfg.data_bits
        request, response = self.memory.request, self.memory.response
        values = [Signal(value_words * word, name=f"slot{slot}_value") for slot in range(slots)]
        addresses = [Signal.like(self.row_addr, name=f"slot{slot}_row") for slot in range(slots)]
        requested = Signal(range(slots))  # the slot of the next row requested
        filled = Signal(range(slots))  # the slot of the row arriving
        incoming = Signal(value_words * word)
        # The value words arrive last, lowest first: shift them in from the top.
        shifted = Cat(incoming[word:], response.payload) if value_words > 1 else response.payload
        refreshed = Signal(range(slots))
        with m.If(self.start):
            m.d.sync += requested.eq(Mux(requested == slots - 1, 0, requested + 1))
            for slot in range(slots):
                with m.If(requested == slot):
                    m.d.sync += addresses[slot].eq(self.row_addr)
        with m.If(beat):
            m.d.sync += incoming.eq(shifted)
        with m.If(row_done):
            m.d.sync += filled.eq(Mux(filled == slots - 1, 0, filled + 1))
            for slot in range(slots):
                with m.If(filled == slot):
                    m.d.sync += values[slot].eq(shifted)
        with m.If(self.restart):
            m.d.sync += [requested.eq(0), filled.eq(0)]

        # Refresh: one request of the value words per slot, each after the one before arrived.
        owed = Signal()  # a refresh request of slot ``refreshed`` is in flight
        value_done = Signal()
        m.d.comb += value_done.eq(self.refreshing & beat & (received + 1 == value_words))
        with m.If(self.refreshing):
            m.d.comb += response.ready.eq(1)
        with m.If(self.refresh):
            m.d.sync += [self.refreshing.eq(1), refreshed.eq(0), owed.eq(0)]
        with m.If(self.refreshing & ~owed):
            m.d.sync += [owed.eq(1), request.valid.eq(1), request.payload.length.eq(value_words)]
            for slot in range(slots):
                with m.If(refreshed == slot):
                    m.d.sync += request.payload.addr.eq(addresses[slot] + self.row_words)
        with m.If(value_done):
            m.d.sync += [owed.eq(0), received.eq(0),
                         refreshed.eq(refreshed + 1)]
            for slot in range(slots):
                with m.If(refreshed == slot):
                    m.d.sync += values[slot].eq(shifted)
            with m.If(refreshed == slots - 1):
                m.d.sync += self.refreshing.eq(0)
        selected = values[0]
        for slot in range(1, slots):
            selected = Mux(self.value_slot == slot, values[slot], selected)
        m.d.comb += self.value.eq(selected)
