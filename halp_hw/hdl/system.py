"""The simulation top: the core with its off-chip memories (data, sample order and, with the
full gradient on chip, the pass's region).

The memories are :class:`~halp_hw.hdl.memory_model.OffChipMemory` models with the timing of a
:class:`~halp_hw.golden.memory.MemoryTiming`, fixed in the build or set through the system's
inputs (:data:`TIMING_PORTS`); the host preloads them through their write ports before the run,
and drives the core's host port through the same-named ports of the system.
"""

from __future__ import annotations

from amaranth import Module, Shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from halp_hw.golden.full_gradient import PassWidths
from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.memory import ORDER_WORD_BITS, MemoryTiming
from halp_hw.golden.validation import HalpInputError, check_int

from .centering import address_shape
from .core import HALPCore
from .memory_model import TIMING_INPUTS, OffChipMemory

__all__ = ["MEMORY_PORTS", "TIMING_PORTS", "HALPSystem", "system_for_run", "timing_inputs"]

#: The core's memory ports, which the system connects inside instead of exposing.
MEMORY_PORTS = ("row_memory", "order_memory", "pass_memory")
#: The core's write port into the data memory (a logistic build with the epoch on chip writes
#: each row's margin there), which the system shares with the host's preload.
MARGIN_WRITE = ("margin_wr_addr", "margin_wr_data", "margin_wr_en")
#: The system's inputs of the memories' timing (built with ``memory=None``), by field of
#: :class:`~halp_hw.golden.memory.MemoryTiming`.
TIMING_PORTS = {name: f"memory_{name}" for name in TIMING_INPUTS}


class HALPSystem(wiring.Component):
    """:class:`HALPCore` next to a data memory and an order memory of the same timing.

    Parameters
    ----------
    config : HardwareConfig
        The core's build.
    memory : MemoryTiming or None
        Latency, bandwidth and burst size of every memory; each queues up to
        ``config.row_slots`` requests, what the core may have in flight. None: they are the
        inputs :data:`TIMING_PORTS`, set before the first command (:func:`timing_inputs`), so
        that one build serves every timing.
    data_words : int
        Depth of the data memory (``n * config.fetch_words(d)`` words hold ``n`` rows).
    order_words : int
        Depth of the order memory (entries of a host-given order).
    memory_class : type
        The data memory's model: :class:`OffChipMemory` or a class with its constructor and
        signature (a verification suite's faulty memories).
    pass_words : int
        0: the core without the epoch on chip. Else the depth of the memory of the
        full-gradient pass's region (``n`` rows of ``PassWidths.row_words(ceil(d/L))`` words),
        of the same timing, and the core built with ``full_gradient=True``.
    core : wiring.Component or None
        The core to put next to the memories: None for a :class:`HALPCore` of ``config``, or a
        block with a core's signature (the mutation campaign's netlist, which adds a select
        input; every port but the memory ports is forwarded).

    Attributes
    ----------
    data_wr_addr, data_wr_data, data_wr_en : In
        Preload the data memory, one word per cycle.
    order_wr_addr, order_wr_data, order_wr_en : In
        Preload the order memory.
    pass_wr_addr, pass_wr_data, pass_wr_en : In
        Preload the pass's region (with ``pass_words``).
    memory_latency, memory_bytes_per_cycle, memory_burst_bytes : In
        The memories' timing (with ``memory=None``).
    (every port of HALPCore but its memory ports)
        Forwarded to the core under the same name.
    """

    def __init__(self, *, config: HardwareConfig, memory: MemoryTiming | None, data_words: int,
                 order_words: int = 2, memory_class=OffChipMemory, pass_words: int = 0,
                 core=None):
        if memory is not None and not isinstance(memory, MemoryTiming):
            raise HalpInputError(f"memory must be a MemoryTiming or None, not {memory!r}")
        check_int("pass memory words", pass_words, 0)
        self.core = (core if core is not None
                     else HALPCore(config=config, full_gradient=pass_words > 0))
        self.timing = memory
        data_port = self.core.signature.members["row_memory"].signature.members
        order_port = self.core.signature.members["order_memory"].signature.members
        self.data_memory = memory_class(
            timing=memory, depth=check_int("data memory words", data_words, 1),
            data_width=config.lanes * config.data_bits,
            addr_width=_payload_width(data_port, "addr"),
            length_width=_payload_width(data_port, "length"), queue_depth=config.row_slots)
        self.order_memory = OffChipMemory(
            timing=memory, depth=check_int("order memory words", order_words, 1),
            data_width=ORDER_WORD_BITS, addr_width=_payload_width(order_port, "addr"),
            length_width=_payload_width(order_port, "length"), queue_depth=config.row_slots)
        self.memories = {"data": self.data_memory, "order": self.order_memory}
        if pass_words:
            pass_port = self.core.signature.members["pass_memory"].signature.members
            self.memories["pass"] = OffChipMemory(
                timing=memory, depth=pass_words,
                data_width=_payload_width(pass_port, "data"),
                addr_width=_payload_width(pass_port, "addr"),
                length_width=_payload_width(pass_port, "length"), queue_depth=2)
        members = {name: member for name, member in self.core.signature.members.items()
                   if name not in MEMORY_PORTS + MARGIN_WRITE}
        for prefix, model in self.memories.items():
            members.update({f"{prefix}_wr_addr": In(address_shape(model.depth)),
                            f"{prefix}_wr_data": In(model.data_width),
                            f"{prefix}_wr_en": In(1)})
        if memory is None:
            members.update({port: In(TIMING_INPUTS[field]) for field, port in TIMING_PORTS.items()})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        core = self.core
        m.submodules.core = core
        ports = {"data": core.row_memory, "order": core.order_memory}
        if "pass" in self.memories:
            ports["pass"] = core.pass_memory
        for prefix, model in self.memories.items():
            m.submodules[f"{prefix}_memory"] = model
            wiring.connect(m, ports[prefix], model.port)
            m.d.comb += [model.preload_addr.eq(getattr(self, f"{prefix}_wr_addr")),
                         model.preload_data.eq(getattr(self, f"{prefix}_wr_data")),
                         model.preload_en.eq(getattr(self, f"{prefix}_wr_en"))]
            if self.timing is None:
                m.d.comb += [getattr(model, field).eq(getattr(self, port))
                             for field, port in TIMING_PORTS.items()]
        if hasattr(core, "margin_wr_en"):  # the core's writes (never while the host writes)
            with m.If(core.margin_wr_en):
                m.d.comb += [self.data_memory.preload_addr.eq(core.margin_wr_addr),
                             self.data_memory.preload_data.eq(core.margin_wr_data),
                             self.data_memory.preload_en.eq(1)]
        for name, member in core.signature.members.items():
            if name in MEMORY_PORTS + MARGIN_WRITE:
                continue
            inner, outer = getattr(core, name), getattr(self, name)
            m.d.comb += inner.eq(outer) if member.flow == In else outer.eq(inner)
        return m


def _payload_width(port_members, field: str) -> int:
    """Width of a field of a read port's request payload, or of its words (``data``)."""
    if field == "data":
        return Shape.cast(port_members["response"].signature.members["payload"].shape).width
    layout = port_members["request"].signature.members["payload"].shape
    return layout[field].width


def timing_inputs(memory: MemoryTiming) -> dict:
    """The values of a system's :data:`TIMING_PORTS` for ``memory``, by port name."""
    return {port: getattr(memory, field) for field, port in TIMING_PORTS.items()}


def system_for_run(config: HardwareConfig, memory: MemoryTiming | None, *, n: int, d: int,
                   order_entries: int = 0, memory_class=OffChipMemory,
                   full_gradient: bool = False, core=None) -> HALPSystem:
    """A system whose memories hold ``n`` rows of ``d`` features and ``order_entries`` entries
    of a host-given order (and, with ``full_gradient``, the pass's region of those rows), next
    to ``core`` (default: a :class:`HALPCore` of ``config``); with ``memory=None``, the
    memories' timing is set through :data:`TIMING_PORTS`."""
    pass_words = n * PassWidths.of(config).row_words(config.beats(d)) if full_gradient else 0
    return HALPSystem(config=config, memory=memory, data_words=n * config.fetch_words(d),
                      order_words=max(2, order_entries), memory_class=memory_class,
                      pass_words=pass_words, core=core)
