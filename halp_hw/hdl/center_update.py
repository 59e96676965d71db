"""The end-of-epoch center update ``wc_j <- clamp(wc_j + rshift(z_j, ec - e), center_bits)``.

Golden: :func:`halp_hw.golden.full_gradient.update_center` (``docs/numeric-contract.md``, "The
epoch on the accelerator"). ``rshift(z, s)`` is ``z << -s`` for ``s <= 0`` and
``((z >> (s - 1)) + 1) >> 1`` (nearest, ties up) for ``s > 0``. The shift is clamped to
``-center_bits .. bits`` first, which changes no result: a nonzero ``z`` shifted left by
``center_bits`` or more saturates the sum on the side of ``z`` anyway, and ``rshift`` of a
``bits``-bit ``z`` by ``bits`` or more is 0.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .lane import check_config
from .rounder import saturate

__all__ = ["SHIFT_BITS", "CenterUpdateUnit"]

#: Width of the signed shift ``ec - e`` (``ec`` in -1024..1024, ``e`` 8-bit).
SHIFT_BITS = 12


class CenterUpdateUnit(wiring.Component):
    """One word of L lanes per cycle: ``wc + rshift(z, shift)``, clamped, and the clamp count.

    Latency: 1 cycle from an accepted word to its ``o.valid``. Throughput: one word per cycle
    while ``o.ready`` stays high; back-pressure holds the output register and the input.

    Parameters
    ----------
    config : halp_hw.golden.hardware.HardwareConfig
        The build: ``lanes``, ``bits`` (``z``) and ``center_bits`` (``wc``).

    Attributes
    ----------
    i : In(stream.Signature(StructLayout(z, center)))
        A word of ``z`` (``lanes`` x ``bits``) and the same lanes of ``wc``
        (``lanes`` x ``center_bits``), lane ``l`` in the ``l``-th field of each.
    shift : In(signed(SHIFT_BITS))
        ``ec - e``; static during an update.
    o : Out(stream.Signature(StructLayout(center, saturations)))
        The updated ``wc`` word and how many of its lanes clamped.
    """

    def __init__(self, *, config):
        self.config = check_config(config)
        lanes = self.config.lanes
        self.word = data.StructLayout({
            "z": data.ArrayLayout(signed(self.config.bits), lanes),
            "center": data.ArrayLayout(signed(self.config.center_bits), lanes)})
        self.result = data.StructLayout({
            "center": data.ArrayLayout(signed(self.config.center_bits), lanes),
            "saturations": range(lanes + 1)})
        super().__init__({
            "i": In(stream.Signature(self.word)),
            "shift": In(signed(SHIFT_BITS)),
            "o": Out(stream.Signature(self.result)),
        })

    def elaborate(self, platform):
        m = Module()
        config = self.config
        advance = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(advance)

        shift = Signal(signed(SHIFT_BITS))
        m.d.comb += shift.eq(Mux(self.shift < -config.center_bits, -config.center_bits,
                                 Mux(self.shift > config.bits, config.bits, self.shift)))
        left = Signal(range(config.center_bits + 1))
        right = Signal(range(config.bits + 1))
        m.d.comb += [left.eq(Mux(shift < 0, -shift, 0)), right.eq(Mux(shift > 0, shift - 1, 0))]

        centers, clamps = [], []
        for lane in range(config.lanes):
            z = self.i.payload.z[lane]
            rounded = ((z >> right) + 1) >> 1
            offset = Signal(signed(config.bits + config.center_bits + 1))
            m.d.comb += offset.eq(Mux(shift > 0, rounded, z << left))
            total = Signal(signed(config.bits + config.center_bits + 2))
            m.d.comb += total.eq(self.i.payload.center[lane] + offset)
            value, clamped = saturate(total, config.center_bits)
            centers.append(value)
            clamps.append(clamped)
        with m.If(advance):
            m.d.sync += self.o.valid.eq(self.i.valid)
            m.d.sync += [self.o.payload.center[lane].eq(value)
                         for lane, value in enumerate(centers)]
            m.d.sync += self.o.payload.saturations.eq(sum(clamps))
        return m
