"""A deterministic off-chip memory for simulation: fixed latency, bandwidth and burst size.

It implements :class:`halp_hw.golden.memory.MemoryTiming` cycle for cycle, so the golden cycle
model (:func:`halp_hw.golden.memory.inner_step_cycles`) and the RTL's ``cycles`` counter agree.
It belongs to the simulation top (:class:`halp_hw.hdl.system.HALPSystem`), not to the
accelerator: the data are preloaded through its write port before a run.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.validation import HalpInputError, check_int

from .centering import address_shape
from .memory_port import read_port_signature

__all__ = ["OffChipMemory"]


class OffChipMemory(wiring.Component):
    """One read port and one preload write port on ``depth`` words of ``data_width`` bits.

    Timing (:class:`~halp_hw.golden.memory.MemoryTiming`): the request is accepted in a cycle in
    which the memory is idle (``request.ready``); a request of ``k`` words is cut into bursts of
    ``timing.burst_words(data_width)``. Each burst waits ``latency - 1`` cycles after the
    request's acceptance (or the previous burst's last word), then earns
    ``8 * bytes_per_cycle`` bits of credit per cycle and presents a word whenever the credit
    covers it, at most one per cycle; while a presented word is not taken the credit holds. The
    memory is idle again in the cycle after the request's last word. A request of length 0 is
    accepted and ignored. Throughput: ``min(1, 8 * bytes_per_cycle / data_width)`` words per
    cycle within a burst.

    Parameters
    ----------
    timing : MemoryTiming
        Latency, bandwidth and burst size.
    depth : int
        Words held (at least 2).
    data_width : int
        Bits per word.
    addr_width, length_width : int
        Widths of the request's fields (as the requester's port has them).

    Attributes
    ----------
    port : In(read_port_signature(...))
        The read port (request in, response out).
    preload_addr, preload_data, preload_en : In
        Write one word per cycle (before a run).
    """

    def __init__(self, *, timing: MemoryTiming, depth: int, data_width: int, addr_width: int,
                 length_width: int):
        if not isinstance(timing, MemoryTiming):
            raise HalpInputError(f"timing must be a MemoryTiming, not {timing!r}")
        self.timing = timing
        self.depth = max(2, check_int("memory depth (words)", depth, 1))
        self.data_width = check_int("memory word width (bits)", data_width, 1)
        check_int("memory address width", addr_width, 1)
        check_int("memory request length width", length_width, 1)
        super().__init__({
            "port": In(read_port_signature(addr_width=addr_width, length_width=length_width,
                                           data_width=data_width)),
            "preload_addr": In(address_shape(self.depth)),
            "preload_data": In(data_width),
            "preload_en": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        timing, width = self.timing, self.data_width
        m.submodules.storage = storage = Memory(shape=width, depth=self.depth, init=[])
        write, read = storage.write_port(), storage.read_port()
        m.d.comb += [write.addr.eq(self.preload_addr), write.data.eq(self.preload_data),
                     write.en.eq(self.preload_en)]

        request, response = self.port.request, self.port.response
        burst_words = timing.burst_words(width)
        earn = 8 * timing.bytes_per_cycle
        busy = Signal()
        pointer = Signal.like(request.payload.addr)
        remaining = Signal.like(request.payload.length)
        burst_left = Signal(range(burst_words + 1))
        wait = Signal(range(max(2, timing.latency)))  # never zero-width in Verilog
        accept = Signal()
        fire = Signal()
        m.d.comb += [request.ready.eq(~busy), accept.eq(request.valid & request.ready),
                     fire.eq(response.valid & response.ready)]
        streaming = busy & (wait == 0)
        if earn >= width:  # a word per cycle: the port, not the bandwidth, is the limit
            m.d.comb += response.valid.eq(streaming)
            restart_credit = []
        else:
            credit = Signal(range(width))
            earned = credit + earn
            m.d.comb += response.valid.eq(streaming & (earned >= width))
            with m.If(streaming):
                with m.If(fire):
                    m.d.sync += credit.eq(earned - width)
                with m.Elif(~response.valid):
                    m.d.sync += credit.eq(earned)
            restart_credit = [credit.eq(0)]

        # The read port holds the presented word: it reads ahead on acceptance and on each beat.
        m.d.comb += [read.addr.eq(Mux(accept, request.payload.addr,
                                      Mux(fire, pointer + 1, pointer))),
                     response.payload.eq(read.data)]

        longest = (1 << len(request.payload.length)) - 1

        def next_burst(length):
            if burst_words >= longest:  # no request is longer than a burst
                return length
            return Mux(length > burst_words, burst_words, length)

        with m.If(accept & (request.payload.length != 0)):
            m.d.sync += [busy.eq(1), pointer.eq(request.payload.addr),
                         remaining.eq(request.payload.length),
                         burst_left.eq(next_burst(request.payload.length)),
                         wait.eq(timing.latency - 1), *restart_credit]
        with m.If(busy & (wait != 0)):
            m.d.sync += wait.eq(wait - 1)
        with m.If(fire):
            m.d.sync += [pointer.eq(pointer + 1), remaining.eq(remaining - 1),
                         burst_left.eq(burst_left - 1)]
            with m.If(remaining == 1):
                m.d.sync += busy.eq(0)
            with m.Elif(burst_left == 1):
                m.d.sync += [burst_left.eq(next_burst(remaining - 1)),
                             wait.eq(timing.latency - 1), *restart_credit]
        return m
