"""The row fetcher and the on-chip row buffer: one row per request from off-chip memory."""

from __future__ import annotations

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from halp_hw.golden.hardware import HardwareConfig

from .lane import check_config
from .memory_port import read_port_signature
from .rows import row_address_shape
from .sequencer import ROW_SLOTS, buffer_address_shape

__all__ = ["row_port_signature", "RowFetcher"]


def row_port_signature(config: HardwareConfig) -> wiring.Signature:
    """The data memory's read port: requests of up to ``W`` words of ``L * data_bits`` bits."""
    return read_port_signature(addr_width=row_address_shape(config).width,
                               length_width=max(1, config.max_fetch_words.bit_length()),
                               data_width=config.lanes * config.data_bits)


class RowFetcher(wiring.Component):
    """Fetches one row into a slot of the row buffer; the buffer's two read ports feed a pass.

    On ``start`` the fetcher requests ``row_words`` words at ``row_addr`` (the request is valid
    from the next cycle until the memory accepts it) and writes the response beats to the
    buffer from ``fill_base`` on, one per beat, always ready while fetching. In a logistic or
    SVM build the row is followed in memory by ``config.sample_words`` words holding its
    per-sample value: the fetch requests those too and shifts them into ``value`` instead of
    the buffer; ``refresh`` fetches only the value words of the row fetched last (its value
    changed in memory), into ``value``. ``busy`` is high from
    the cycle after ``start`` to the cycle of the last beat, inclusive. The buffer holds
    ``ROW_SLOTS`` rows of ``W`` words; its read ports have one cycle of latency.

    Parameters
    ----------
    config : HardwareConfig
        The build: ``W = words_per_row`` words of ``L * data_bits`` bits per slot.

    Attributes
    ----------
    start : In(1)
        Fetch the row at ``row_addr`` into the slot at ``fill_base`` (only while not busy).
    refresh : In(1)
        Fetch the value words of the last row again (only while not busy; logistic and SVM).
    row_addr : In(row_address_shape(config))
        Word address of the row in off-chip memory.
    row_words : In(range(W + 1))
        Words per row, at least 1 (without the value words).
    fill_base : In(buffer_address_shape(config))
        First buffer word of the slot to fill.
    busy : Out(1)
        A fetch is under way.
    memory : Out(row_port_signature(config))
        The data memory's read port.
    cur_addr, next_addr : In(buffer_address_shape(config))
        Buffer read addresses (rows ``i_t`` and ``i_{t+1}`` of a pass).
    cur_data, next_data : Out(L * data_bits)
        The words read one cycle earlier.
    value : Out(sample_words * L * data_bits)
        The value words of the row fetched last (logistic and SVM builds only).
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        buffer_address = buffer_address_shape(config)
        word = config.lanes * config.data_bits
        value = ({"refresh": In(1), "value": Out(config.sample_words * word)}
                 if config.sample_words else {})
        super().__init__({
            **value,
            "start": In(1),
            "row_addr": In(row_address_shape(config)),
            "row_words": In(range(config.words_per_row + 1)),
            "fill_base": In(buffer_address),
            "busy": Out(1),
            "memory": Out(row_port_signature(config)),
            "cur_addr": In(buffer_address),
            "next_addr": In(buffer_address),
            "cur_data": Out(word),
            "next_data": Out(word),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        m.submodules.buffer = buffer = Memory(shape=cfg.lanes * cfg.data_bits,
                                              depth=ROW_SLOTS * cfg.words_per_row, init=[])
        write, cur_read, next_read = (buffer.write_port(), buffer.read_port(),
                                      buffer.read_port())
        m.d.comb += [cur_read.addr.eq(self.cur_addr), self.cur_data.eq(cur_read.data),
                     next_read.addr.eq(self.next_addr), self.next_data.eq(next_read.data)]

        request, response = self.memory.request, self.memory.response
        value_words = cfg.sample_words
        remaining = Signal(range(cfg.words_per_row + value_words + 1))
        fill = Signal.like(self.fill_base)
        beat = response.valid & response.ready
        row_and_value = self.row_words + value_words if value_words else self.row_words
        with m.If(request.valid & request.ready):
            m.d.sync += request.valid.eq(0)
        with m.If(self.start):
            m.d.sync += [request.valid.eq(1), request.payload.addr.eq(self.row_addr),
                         request.payload.length.eq(row_and_value),
                         remaining.eq(row_and_value),
                         fill.eq(self.fill_base), self.busy.eq(1)]
        m.d.comb += [response.ready.eq(self.busy), write.addr.eq(fill),
                     write.data.eq(response.payload),
                     write.en.eq(beat & (remaining > value_words) if value_words else beat)]
        with m.If(beat):
            m.d.sync += [fill.eq(fill + 1), remaining.eq(remaining - 1)]
            with m.If(remaining == 1):
                m.d.sync += self.busy.eq(0)
        if value_words:
            # The value words arrive last, lowest first: shift them in from the top.
            row = Signal.like(self.row_addr)
            with m.If(self.start):
                m.d.sync += row.eq(self.row_addr)
            with m.If(self.refresh):
                m.d.sync += [request.valid.eq(1),
                             request.payload.addr.eq(row + self.row_words),
                             request.payload.length.eq(value_words),
                             remaining.eq(value_words), self.busy.eq(1)]
            word = cfg.lanes * cfg.data_bits
            with m.If(beat & (remaining <= value_words)):
                m.d.sync += self.value.eq(Cat(self.value[word:], response.payload))
        return m
