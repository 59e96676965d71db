"""FPGA-only HDL: a pin-saving top level, and the reference MACC that the core's Fmax is judged by.

The core's host port has hundreds of bits, far more than a small package has pins (iCE40 UP5K
sg48: 39 I/Os). :class:`SerialPortWrapper` keeps every port of a design inside the chip, so that
place and route sees the design's own register-to-register paths and only five pins leave the
chip. The wrapper is a separate module in the netlist, so the flow counts the design's resources
without it.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.validation import HalpInputError, check_int

__all__ = ["SerialPortWrapper", "ReferenceMacc", "WRAPPED_DESIGN_NAME"]

#: Submodule name of the wrapped design (Yosys names its module ``<top>.<this>``).
WRAPPED_DESIGN_NAME = "design"


class SerialPortWrapper(wiring.Component):
    """Every port of ``design`` kept inside the chip: five pins, whatever the design's ports.

    The design's inputs are the bits of a shift register (``shift`` moves ``shift_in`` in), so
    every input comes from a flip-flop and no input is a constant that synthesis could fold.
    Its outputs are XOR-reduced into one registered pin, ``parity``, so no output is unused and
    optimized away. This is a measuring harness, not a host interface: it costs one flip-flop
    per input bit and about one LUT per three output bits, the least that keeps the design whole
    (iCE40 parts are small).

    Parameters
    ----------
    design : amaranth.lib.wiring.Component
        The component to wrap (its clock domain is the wrapper's ``sync``).

    Attributes
    ----------
    shift_in, shift : Signal(1), in
        The input chain's data and shift enable.
    parity : Signal(1), out
        The XOR of all the design's outputs, registered.
    design : amaranth.lib.wiring.Component
        The wrapped component.
    input_bits, output_bits : int
        Bits of the design's input and output ports.
    """

    def __init__(self, *, design: wiring.Component):
        if not isinstance(design, wiring.Component):
            raise HalpInputError(f"design must be an Amaranth wiring.Component, not {design!r}")
        self.design = design
        self._inputs, self._outputs = [], []
        for _path, member, value in design.signature.flatten(design):
            ports = self._inputs if member.flow == wiring.In else self._outputs
            ports.append(Value.cast(value))
        self.input_bits = sum(len(port) for port in self._inputs)
        self.output_bits = sum(len(port) for port in self._outputs)
        if self.input_bits == 0 or self.output_bits == 0:
            raise HalpInputError("design must have at least one input and one output port")
        super().__init__({"shift_in": In(1), "shift": In(1), "parity": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules[WRAPPED_DESIGN_NAME] = self.design
        input_chain = Signal(self.input_bits)
        with m.If(self.shift):
            m.d.sync += input_chain.eq(Cat(self.shift_in, input_chain[:-1]))
        m.d.comb += Cat(*self._inputs).eq(input_chain)
        m.d.sync += self.parity.eq(Cat(*self._outputs).xor())
        return m


class ReferenceMacc(wiring.Component):
    """A lone registered multiply-accumulate: the best Fmax a MACC gets on a part.

    ``acc <= clear ? 0 : acc + a * b`` with registered operands and a registered product (three
    register stages, as the accelerator's lanes have), so its Fmax is the multiplier's
    register-to-register delay: the yardstick for the core's critical path.

    Parameters
    ----------
    width : int
        Width of the signed operands ``a`` and ``b``, 2..18 (one DSP multiplier on ECP5).

    Attributes
    ----------
    a, b : Signal(signed(width)), in
        The operands.
    clear : Signal(1), in
        Clears the accumulator (registered like the operands).
    acc : Signal(signed(3 * width)), out
        The accumulator: the product's width plus ``width`` bits of headroom.
    """

    def __init__(self, *, width: int = 8):
        self.width = check_int("MACC width", width, 2, 18)
        super().__init__({
            "a": In(signed(width)),
            "b": In(signed(width)),
            "clear": In(1),
            "acc": Out(signed(3 * width)),
        })

    def elaborate(self, platform):
        m = Module()
        a = Signal.like(self.a)
        b = Signal.like(self.b)
        product = Signal(signed(2 * self.width))
        clear = Signal(2)
        m.d.sync += [a.eq(self.a), b.eq(self.b), product.eq(a * b),
                     clear.eq(Cat(self.clear, clear[0]))]
        with m.If(clear[1]):
            m.d.sync += self.acc.eq(0)
        with m.Else():
            m.d.sync += self.acc.eq(self.acc + product)
        return m
