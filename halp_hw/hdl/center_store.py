"""The on-chip center ``wc`` (``w~ = wc * 2**ec``) and its end-of-epoch update."""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .adder_tree import register
from .center_update import SHIFT_BITS, CenterUpdateUnit
from .centering import address_shape
from .lane import check_config

__all__ = ["BLOCK_RAM", "CenterStore"]

#: Attributes that map a wide, shallow memory of the epoch to block RAM (DP16KD on the ECP5)
#: instead of LUT RAM: the LUTs go to the pass's multipliers.
BLOCK_RAM = {"ram_style": "block"}


class CenterStore(wiring.Component):
    """The ``wc`` memory (zero after reset), one read port for its readers, and the UPDATE
    sweep ``wc <- clamp(wc + rshift(z, ec - e), center_bits)`` through
    :class:`CenterUpdateUnit`.

    The update reads one word of ``z`` and ``wc`` per cycle from the cycle after ``update``,
    the unit adds (1 cycle) and the word is written back.

    Latency: ``done`` rises ``ceil(d/L) + 2`` cycles after ``update``
    (:func:`~halp_hw.golden.epoch_timing.update_cycles`); throughput: one word per cycle.

    Parameters
    ----------
    config : halp_hw.golden.hardware.HardwareConfig
        The build: ``lanes``, ``bits``, ``center_bits``, ``d_max``.

    Attributes
    ----------
    read_addr : In(address_shape(words_per_row))
        The word other readers read (while no update runs).
    read_data : Out(lanes * center_bits)
        The word read one cycle earlier.
    update : In(1)
        Start the update sweep.
    row_words : In(range(words_per_row + 1))
        Words of ``d`` features; static.
    shift : In(signed(SHIFT_BITS))
        ``ec - e``; static during the update.
    z_addr : Out(address_shape(words_per_row))
    z_reading : Out(1)
        The update reads the ``z`` word ``z_addr``.
    z_data : In(lanes * bits)
        That word, one cycle later (0 where not written this epoch).
    saturations : Out(range(lanes + 1))
        Lanes clamped in this cycle's write.
    done : Out(1)
        One cycle: the last word is written.
    """

    def __init__(self, *, config):
        self.config = check_config(config)
        word = address_shape(self.config.words_per_row)
        lanes = self.config.lanes
        super().__init__({
            "read_addr": In(word),
            "read_data": Out(lanes * self.config.center_bits),
            "update": In(1),
            "row_words": In(range(self.config.words_per_row + 1)),
            "shift": In(signed(SHIFT_BITS)),
            "z_addr": Out(word),
            "z_reading": Out(1),
            "z_data": In(lanes * self.config.bits),
            "saturations": Out(range(lanes + 1)),
            "done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        m.submodules.memory = memory = Memory(shape=cfg.lanes * cfg.center_bits,
                                              depth=max(2, cfg.words_per_row), init=[],
                                              attrs=BLOCK_RAM)
        write, read = memory.write_port(), memory.read_port()
        m.submodules.unit = unit = CenterUpdateUnit(config=cfg)

        beat = Signal.like(self.z_addr)
        last = Signal()
        m.d.comb += [last.eq(beat + 1 == self.row_words), self.z_addr.eq(beat),
                     read.addr.eq(Mux(self.z_reading, beat, self.read_addr)),
                     self.read_data.eq(read.data)]
        with m.If(self.update):
            m.d.sync += [self.z_reading.eq(1), beat.eq(0)]
        with m.Elif(self.z_reading):
            m.d.sync += beat.eq(beat + 1)
            with m.If(last):
                m.d.sync += self.z_reading.eq(0)

        valid_a, addr_a, last_a = register(m, "update_read", self.z_reading, beat, last)
        m.d.comb += [unit.i.valid.eq(valid_a), unit.i.payload.z.eq(self.z_data),
                     unit.i.payload.center.eq(read.data), unit.shift.eq(self.shift),
                     unit.o.ready.eq(1)]
        addr_b, last_b = register(m, "update_add", addr_a, last_a)
        m.d.comb += [write.addr.eq(addr_b), write.data.eq(unit.o.payload.center),
                     write.en.eq(unit.o.valid),
                     self.saturations.eq(Mux(unit.o.valid, unit.o.payload.saturations, 0)),
                     self.done.eq(unit.o.valid & last_b)]
        return m
