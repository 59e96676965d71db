"""A deterministic off-chip memory for simulation: fixed latency, bandwidth and burst size, set
when it is built or, so that one build serves every timing, by the testbench through its inputs.

It implements :class:`halp_hw.golden.memory.MemoryTiming` cycle for cycle, so the golden cycle
model (:func:`halp_hw.golden.memory.run_cycles`) and the RTL's ``cycles`` counter agree.
It belongs to the simulation top (:class:`halp_hw.hdl.system.HALPSystem`), not to the
accelerator: the data are preloaded through its write port before a run.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from halp_hw.golden.memory import TIMING_LIMITS, MemoryTiming
from halp_hw.golden.validation import HalpInputError, check_int

from .centering import address_shape
from .memory_port import read_port_signature

__all__ = ["OffChipMemory"]


#: Width of the memory's cycle counter and due times (simulation only: never wraps in a run).
TIME_BITS = 48
#: The inputs of a memory built without a timing: MemoryTiming's fields, each wide enough for
#: its largest value.
TIMING_INPUTS = {name: range(limit + 1) for name, limit in TIMING_LIMITS.items()}


class OffChipMemory(wiring.Component):
    """One read port and one preload write port on ``depth`` words of ``data_width`` bits.

    Timing (:class:`~halp_hw.golden.memory.MemoryTiming`), pipelined: a request is accepted in
    any cycle in which the queue of ``queue_depth`` waiting requests has room
    (``request.ready``); the requests are served in order. A request of ``k`` words is cut into
    bursts of ``timing.burst_words(data_width)``. A request's first burst may stream from
    ``latency`` cycles after its acceptance, and not before the cycle after the previous
    request's last word; each further burst ``latency`` cycles after the last word of the burst
    before. A streaming burst earns ``8 * bytes_per_cycle`` bits of credit per cycle and
    presents a word whenever the credit covers it, at most one per cycle; while a presented word
    is not taken the credit holds. A request of length 0 is accepted and ignored. Throughput:
    ``min(1, 8 * bytes_per_cycle / data_width)`` words per cycle within a burst. A word at an
    address outside the memory (``depth`` or above) reads as all ones, so that a wrong high
    address bit shows in the data instead of wrapping around to a word that exists.

    Parameters
    ----------
    timing : MemoryTiming or None
        Latency, bandwidth and burst size; None makes them inputs (:data:`TIMING_INPUTS`), held
        from before the first request to the end of the run.
    depth : int
        Words held (at least 2).
    data_width : int
        Bits per word.
    addr_width, length_width : int
        Widths of the request's fields (as the requester's port has them).
    queue_depth : int
        Requests that may wait while another is served (at least 1).

    Attributes
    ----------
    port : In(read_port_signature(...))
        The read port (request in, response out).
    preload_addr, preload_data, preload_en : In
        Write one word per cycle (before a run).
    latency, bytes_per_cycle, burst_bytes : In
        The timing's fields (with ``timing=None`` only), wide enough for their largest values
        (:data:`halp_hw.golden.memory.TIMING_LIMITS`).
    """

    def __init__(self, *, timing: MemoryTiming | None, depth: int, data_width: int, addr_width: int,
                 length_width: int, queue_depth: int = 16):
        if timing is not None and not isinstance(timing, MemoryTiming):
            raise HalpInputError(f"timing must be a MemoryTiming or None, not {timing!r}")
        self.timing = timing
        self.depth = max(2, check_int("memory depth (words)", depth, 1))
        self.data_width = check_int("memory word width (bits)", data_width, 1)
        self.queue_depth = check_int("memory request queue depth", queue_depth, 1)
        check_int("memory address width", addr_width, 1)
        check_int("memory request length width", length_width, 1)
        timing_inputs = {} if timing is not None else {
            name: In(shape) for name, shape in TIMING_INPUTS.items()}
        super().__init__({
            "port": In(read_port_signature(addr_width=addr_width, length_width=length_width,
                                           data_width=data_width)),
            "preload_addr": In(address_shape(self.depth)),
            "preload_data": In(data_width),
            "preload_en": In(1),
            **timing_inputs,
        })

    def _timing(self, length_width: int):
        """Latency, burst words (at most the longest request, then a request is one burst) and
        credit earned per cycle (at most a word: a word per cycle is the port's limit), as
        numbers when built in, else as values of the inputs; and the comb statements of those."""
        width, longest = self.data_width, (1 << length_width) - 1
        if self.timing is not None:
            return (self.timing.latency, min(self.timing.burst_words(width), longest),
                    min(8 * self.timing.bytes_per_cycle, width), [])
        whole = Signal(range(TIMING_LIMITS["burst_bytes"] * 8 // width + 1))
        burst_words, earn = Signal(length_width), Signal(range(width + 1))
        return (self.latency, burst_words, earn, [
            whole.eq(self.burst_bytes * 8 // width),
            burst_words.eq(Mux(whole == 0, 1, Mux(whole > longest, longest, whole))),
            earn.eq(Mux(self.bytes_per_cycle * 8 >= width, width, self.bytes_per_cycle * 8))])

    def elaborate(self, platform):
        m = Module()
        width = self.data_width
        m.submodules.storage = storage = Memory(shape=width, depth=self.depth, init=[])
        write, read = storage.write_port(), storage.read_port()
        m.d.comb += [write.addr.eq(self.preload_addr), write.data.eq(self.preload_data),
                     write.en.eq(self.preload_en)]

        request, response = self.port.request, self.port.response
        now = Signal(TIME_BITS)
        m.d.sync += now.eq(now + 1)
        entry = StructLayout({"addr": len(request.payload.addr),
                              "length": len(request.payload.length), "due": TIME_BITS})
        m.submodules.queue = queue = SyncFIFO(width=entry.size, depth=self.queue_depth)
        longest = (1 << len(request.payload.length)) - 1
        latency, burst_words, earn, timing = self._timing(len(request.payload.length))
        m.d.comb += timing
        arriving, head = Signal(entry), Signal(entry)
        m.d.comb += [arriving.addr.eq(request.payload.addr),
                     arriving.length.eq(request.payload.length),
                     arriving.due.eq(now + latency),
                     queue.w_data.eq(arriving), head.eq(queue.r_data)]

        busy = Signal()
        pointer = Signal.like(request.payload.addr)
        remaining = Signal.like(request.payload.length)
        burst_left = Signal.like(request.payload.length)
        start_at = Signal(TIME_BITS)
        accept, fire, last_fire = Signal(), Signal(), Signal()
        m.d.comb += [request.ready.eq(queue.w_rdy), accept.eq(request.valid & request.ready),
                     fire.eq(response.valid & response.ready),
                     last_fire.eq(fire & (remaining == 1))]
        streaming = busy & (now >= start_at)
        if isinstance(earn, int) and earn == width:  # built in: a word whenever streaming
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

        def next_burst(length):
            if isinstance(burst_words, int) and burst_words == longest:  # a request, a burst
                return length
            return Mux(length > burst_words, burst_words, length)

        # The engine takes the next request when idle or with its last word: the queue's head,
        # else the request accepted in this cycle (which then skips the queue).
        free = ~busy | last_fire
        from_queue = free & queue.r_rdy
        direct = free & ~queue.r_rdy & accept & (request.payload.length != 0)
        m.d.comb += [queue.r_en.eq(from_queue),
                     queue.w_en.eq(accept & (request.payload.length != 0) & ~direct)]
        taken = Signal(entry)
        m.d.comb += taken.eq(Mux(from_queue, head, arriving))
        load = from_queue | direct

        # The read port holds the presented word: it reads ahead on a load and on each beat.
        read_addr = Signal.like(request.payload.addr)
        inside = Signal()  # the word read was inside the memory
        m.d.comb += [read_addr.eq(Mux(load, taken.addr, Mux(fire, pointer + 1, pointer))),
                     read.addr.eq(read_addr),
                     response.payload.eq(Mux(inside, read.data, (1 << width) - 1))]
        m.d.sync += inside.eq(read_addr < self.depth)

        with m.If(fire):
            m.d.sync += [pointer.eq(pointer + 1), remaining.eq(remaining - 1),
                         burst_left.eq(burst_left - 1)]
            with m.If(remaining == 1):
                m.d.sync += busy.eq(0)
            with m.Elif(burst_left == 1):
                m.d.sync += [burst_left.eq(next_burst(remaining - 1)),
                             start_at.eq(now + latency), *restart_credit]
        with m.If(load):
            m.d.sync += [busy.eq(1), pointer.eq(taken.addr), remaining.eq(taken.length),
                         burst_left.eq(next_burst(taken.length)), start_at.eq(taken.due),
                         *restart_credit]
        return m
