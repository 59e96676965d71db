"""The issue stage of a pass: row-buffer read addresses, lane masks and beat flags."""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.hardware import HardwareConfig

from .centering import address_shape
from .lane import check_config

__all__ = ["OPERAND_DELAY", "buffer_address_shape", "BeatSequencer"]

#: Registers from the issue stage to the lanes' inputs: the row buffer's synchronous read, then
#: the operand registers (block RAM outputs are slow; nothing computes on them directly).
OPERAND_DELAY = 2


def buffer_address_shape(config: HardwareConfig):
    """Word addresses of the row buffer: ``config.row_slots`` rows of ``W`` words."""
    return address_shape(config.row_slots * config.words_per_row)


class BeatSequencer(wiring.Component):
    """One beat per cycle until ``d`` features are covered; latency 1 from ``start`` to the
    first beat, ``OPERAND_DELAY`` more to the lanes; throughput one beat per cycle.

    ``lanes_left`` counts down from ``d`` by ``L``: beat ``k``'s lane mask is ``lanes_left > l``
    and the last beat is ``lanes_left <= L``, so no division by ``L`` is needed.

    Parameters
    ----------
    config : HardwareConfig
        The build.

    Attributes
    ----------
    start : In(1)
        Begin a pass: the first beat issues in the next cycle.
    d : In(range(d_max + 1))
        Features per row (at least 1).
    cur_base, next_base : In(buffer_address_shape(config))
        Where rows ``i_t`` and ``i_{t+1}`` start in the row buffer, taken on ``start``.
    issuing, first : Out(1)
        Issue stage: a beat is issued; it is the pass's first.
    cur_addr, next_addr : Out(buffer_address_shape(config))
        Issue stage: the row-buffer read addresses of the beat.
    word : Out(address_shape(W))
        Issue stage: the ``z`` / ``G`` word of the beat.
    lane_valid, lane_first, lane_last : Out(1)
        The beat's flags when its operands reach the lanes, ``OPERAND_DELAY`` cycles after issue.
    lane_word : Out(address_shape(W))
        The beat's word, at the same time.
    lane_mask : Out(lanes)
        At the same time: bit ``l`` is set when lane ``l`` holds a feature.
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        buffer_address = buffer_address_shape(config)
        word = address_shape(config.words_per_row)
        super().__init__({
            "start": In(1),
            "d": In(range(config.d_max + 1)),
            "cur_base": In(buffer_address),
            "next_base": In(buffer_address),
            "issuing": Out(1),
            "first": Out(1),
            "cur_addr": Out(buffer_address),
            "next_addr": Out(buffer_address),
            "word": Out(word),
            "lane_valid": Out(1),
            "lane_first": Out(1),
            "lane_last": Out(1),
            "lane_word": Out(word),
            "lane_mask": Out(config.lanes),
        })

    def elaborate(self, platform):
        m = Module()
        lanes = self.config.lanes
        lanes_left = Signal(range(-lanes, self.config.d_max + 1))
        last = Signal()
        mask = Signal(lanes)
        m.d.comb += [last.eq(lanes_left <= lanes),
                     *(mask[lane].eq(lanes_left > lane) for lane in range(lanes))]
        with m.If(self.start):
            m.d.sync += [self.issuing.eq(1), self.first.eq(1), self.word.eq(0),
                         lanes_left.eq(self.d), self.cur_addr.eq(self.cur_base),
                         self.next_addr.eq(self.next_base)]
        with m.Elif(self.issuing):
            m.d.sync += [self.cur_addr.eq(self.cur_addr + 1),
                         self.next_addr.eq(self.next_addr + 1), self.word.eq(self.word + 1),
                         lanes_left.eq(lanes_left - lanes), self.first.eq(0)]
            with m.If(last):
                m.d.sync += self.issuing.eq(0)
        beat = [self.issuing, self.first, last, self.word, mask]
        for stage in range(OPERAND_DELAY - 1):
            delayed = [Signal.like(value, name=f"{value.name}_{stage}") for value in beat]
            m.d.sync += [copy.eq(value) for copy, value in zip(delayed, beat)]
            beat = delayed
        m.d.sync += [output.eq(value) for output, value in zip(
            (self.lane_valid, self.lane_first, self.lane_last, self.lane_word, self.lane_mask),
            beat)]
        return m
