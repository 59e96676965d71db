"""The off-chip memory read port: a request stream and a response stream (``amaranth.lib.stream``).

A request asks for ``length`` consecutive words from word address ``addr``; the response is those
words in order, one per beat, with valid/ready back-pressure. Requests are served in order. The
core drives the request side (``Out``), a memory (``halp_hw.hdl.memory_model.OffChipMemory`` in
simulation) the other (``In``, the flipped signature).
"""

from __future__ import annotations

from amaranth.lib import stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.wiring import In, Out

__all__ = ["read_request_layout", "read_port_signature"]


def read_request_layout(*, addr_width: int, length_width: int) -> StructLayout:
    """The payload of a read request: ``addr`` (word address) and ``length`` (words)."""
    return StructLayout({"addr": addr_width, "length": length_width})


def read_port_signature(*, addr_width: int, length_width: int,
                        data_width: int) -> wiring.Signature:
    """A memory read port as seen by its requester.

    Parameters
    ----------
    addr_width, length_width, data_width : int
        Widths of the word address, of the request length (words) and of a word.

    Attributes
    ----------
    request : Out(stream.Signature(read_request_layout(...)))
        Read requests.
    response : In(stream.Signature(data_width))
        The words read, in request order.
    """
    return wiring.Signature({
        "request": Out(stream.Signature(read_request_layout(addr_width=addr_width,
                                                            length_width=length_width))),
        "response": In(stream.Signature(data_width)),
    })
