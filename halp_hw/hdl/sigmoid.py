"""The fixed-point sigmoid unit: a ROM of the sigmoid with linear interpolation, 5 stages.

Golden: :func:`halp_hw.golden.sigmoid.fixed_sigmoid` (the table is
:func:`halp_hw.golden.sigmoid.sigmoid_table`, computed once per build for both).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from halp_hw.golden.sigmoid import sigmoid_table

from .faults import check_fault
from .lane import check_config

__all__ = ["SigmoidUnit"]


class SigmoidUnit(wiring.Component):
    """``y = sigmoid(a)`` in fixed point, one input per cycle, five pipeline stages.

    Stage 1 takes the saturated magnitude and sign of ``a``; stage 2 reads the ROM word
    (``base``, ``delta``) of the segment; stage 3 registers it; stage 4 multiplies ``delta`` by
    the position in the segment; stage 5 adds the rounded product to ``base`` and mirrors
    negative inputs (``2**O - p``). The whole pipeline advances when its output is free
    (``o.ready`` high or ``o.valid`` low), so back-pressure stalls it without losing a value.

    Latency: 5 cycles from an accepted input to its ``o.valid``. Throughput: one input per cycle
    while ``o.ready`` stays high.

    Parameters
    ----------
    config : halp_hw.golden.hardware.HardwareConfig
        The build; its ``sigmoid_in_bits``, ``sigmoid_in_frac``, ``sigmoid_out_bits`` and
        ``sigmoid_table_bits`` set the unit's widths and table.
    fault : str or None
        ``sigmoid-table`` stores every nonzero rise one LSB low (:mod:`.faults`).

    Attributes
    ----------
    i : In(stream.Signature(signed(sigmoid_in_bits)))
        The input ``a``, value ``a 2**-sigmoid_in_frac``.
    o : Out(stream.Signature(unsigned(sigmoid_out_bits)))
        The output ``y``, value ``y 2**-sigmoid_out_bits``, in input order.
    """

    def __init__(self, *, config, fault: str | None = None):
        self.config = check_config(config)
        self.fault = check_fault(fault)
        self.table = sigmoid_table(self.config)
        super().__init__({
            "i": In(stream.Signature(signed(self.config.sigmoid_in_bits))),
            "o": Out(stream.Signature(unsigned(self.config.sigmoid_out_bits))),
        })

    def elaborate(self, platform):
        m = Module()
        config, table = self.config, self.table
        in_bits, out_bits, shift = config.sigmoid_in_bits, config.sigmoid_out_bits, table.shift
        magnitude_max = 2 ** (in_bits - 1) - 1
        broken = self.fault == "sigmoid-table"
        word = [int(base) | (max(int(delta) - broken, 0) << out_bits)
                for base, delta in zip(table.base, table.delta)]
        m.submodules.rom = rom = Memory(shape=out_bits + table.delta_width, depth=len(word),
                                        init=word)
        read = rom.read_port()

        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance),
                     read.en.eq(advance)]

        # stage 1: sign, saturated magnitude, segment and position
        valid1, negative1 = Signal(), Signal()
        magnitude = Signal(unsigned(in_bits - 1))
        absolute = Mux(self.i.payload < 0, -self.i.payload, self.i.payload)
        with m.If(advance):
            m.d.sync += [valid1.eq(self.i.valid), negative1.eq(self.i.payload < 0),
                         magnitude.eq(Mux(absolute > magnitude_max, magnitude_max, absolute))]
        # stage 2: the ROM word of the segment (the read port registers it)
        valid2, negative2 = Signal(), Signal()
        position2 = Signal(unsigned(shift))
        m.d.comb += read.addr.eq(magnitude[shift:])
        with m.If(advance):
            m.d.sync += [valid2.eq(valid1), negative2.eq(negative1),
                         position2.eq(magnitude[:shift])]
        # stage 3: the ROM word registered (a block RAM's output feeds no multiplier directly)
        valid3, negative3 = Signal(), Signal()
        base3, delta3 = Signal(unsigned(out_bits)), Signal(unsigned(table.delta_width))
        position3 = Signal(unsigned(shift))
        with m.If(advance):
            m.d.sync += [valid3.eq(valid2), negative3.eq(negative2), position3.eq(position2),
                         base3.eq(read.data[:out_bits]), delta3.eq(read.data[out_bits:])]
        # stage 4: rise = delta * position
        valid4, negative4 = Signal(), Signal()
        base4 = Signal(unsigned(out_bits))
        product = Signal(unsigned(table.delta_width + shift))
        with m.If(advance):
            m.d.sync += [valid4.eq(valid3), negative4.eq(negative3), base4.eq(base3),
                         product.eq(delta3 * position3)]
        # stage 5: round the rise half up, add it to the base, mirror negative inputs
        positive = Signal(unsigned(out_bits))
        m.d.comb += positive.eq(base4 + ((product + (1 << (shift - 1))) >> shift))
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(valid4),
                         self.o.payload.eq(Mux(negative4, (1 << out_bits) - positive, positive))]
        return m
