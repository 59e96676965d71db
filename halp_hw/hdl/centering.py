"""The bit-centering register: the scale of ``z`` and which ``z`` words hold data this epoch.

A recenter must clear ``z`` in one cycle, whatever ``d``: instead of writing zeros to every word
of the ``z`` memory, one valid bit per word says whether the word was written since the last
recenter, and a read of an invalid word returns 0.
"""

from __future__ import annotations

from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from halp_hw.golden.hardware import HardwareConfig

from .lane import check_config

__all__ = ["EXPONENT_BITS", "EPOCH_BITS", "address_shape", "BitCenteringRegister"]

#: Width of the signed scale exponent: ``z`` is in units of ``2**exponent``.
EXPONENT_BITS = 8
#: Width of the epoch count (wraps around).
EPOCH_BITS = 16


def address_shape(depth: int):
    """The address shape of a memory of ``depth`` words (at least one bit: Verilog has no
    zero-width ports)."""
    return unsigned(max(1, ceil_log2(depth)))


class BitCenteringRegister(wiring.Component):
    """Scale exponent, epoch count and one valid bit per ``z`` word.

    Parameters
    ----------
    config : HardwareConfig
        The build; ``config.words_per_row`` valid bits are kept.

    Attributes
    ----------
    recenter : In(1)
        Clear every valid bit, load ``exponent_in``, count one epoch (one cycle).
    exponent_in : In(signed(EXPONENT_BITS))
        The new scale exponent, taken on ``recenter``.
    restart : In(1)
        The seed command: clear every valid bit, exponent 0, epoch 0. Wins over ``recenter``.
    write_addr : In(address_shape(words_per_row))
        The ``z`` word being written.
    set_valid : In(1)
        Mark ``write_addr`` valid (the ``z`` write enable).
    read_addr : In(address_shape(words_per_row))
        The ``z`` word being read (the memory read port's address).
    read_valid : Out(1)
        Registered like the memory read data: whether the word read one cycle ago was valid then.
        The reader ANDs it into the data.
    exponent : Out(signed(EXPONENT_BITS))
        The scale register.
    epoch : Out(unsigned(EPOCH_BITS))
        Recenters since the last restart.
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        address = address_shape(config.words_per_row)
        super().__init__({
            "recenter": In(1),
            "exponent_in": In(signed(EXPONENT_BITS)),
            "restart": In(1),
            "write_addr": In(address),
            "set_valid": In(1),
            "read_addr": In(address),
            "read_valid": Out(1),
            "exponent": Out(signed(EXPONENT_BITS)),
            "epoch": Out(unsigned(EPOCH_BITS)),
        })

    def elaborate(self, platform):
        m = Module()
        words = self.config.words_per_row
        valid = Signal(words)
        m.d.sync += self.read_valid.eq(valid.bit_select(self.read_addr, 1))
        with m.If(self.restart):
            m.d.sync += [valid.eq(0), self.exponent.eq(0), self.epoch.eq(0)]
        with m.Elif(self.recenter):
            m.d.sync += [valid.eq(0), self.exponent.eq(self.exponent_in),
                         self.epoch.eq(self.epoch + 1)]
        with m.Elif(self.set_valid):
            m.d.sync += valid.bit_select(self.write_addr, 1).eq(1)
        return m
