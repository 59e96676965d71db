"""The epoch on chip: the FULL_GRADIENT command (pass, then finish) and the UPDATE command.

``docs/numeric-contract.md`` ("The epoch on the accelerator") and
:mod:`halp_hw.golden.epoch` (``EpochAcceleratorModel``) are what this block implements; the
core (:class:`halp_hw.hdl.core.HALPCore`, built with ``full_gradient=True``) issues the
commands and wires the gradient memory, ``z`` and the scale register to it.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.full_gradient import (CONSTANT_BITS, CONSTANT_EXPONENT_BITS,
                                          SCALE_EXPONENT_BITS)
from halp_hw.golden.logistic_pass import PASS_MARGIN_SHIFT_BITS

from .center_store import CenterStore
from .center_update import SHIFT_BITS
from .centering import address_shape
from .gradient_finish import GRADIENT_SHIFT_BITS, GradientFinish
from .gradient_pass import GradientPass, pass_port_signature
from .lane import check_config
from .rows import row_address_shape

__all__ = ["CENTER_EXPONENT_BITS", "EPOCH_COMMAND", "HOST_PORTS", "LOGISTIC_PORTS", "host_ports",
           "EpochOp", "EpochUnit"]

#: ``cmd_op`` of the core's EPOCH command in a build with the full gradient on chip:
#: ``cmd_arg`` bit 0 is an :class:`EpochOp`, ``busy`` is high for the command's cycles
#: (:mod:`halp_hw.golden.epoch_timing`). Not a member of :class:`halp_hw.hdl.core.Command`, so
#: that the default core's ports and Verilog stay as they are.
EPOCH_COMMAND = 3

#: Width of the signed center exponent ``ec`` (-1024..1024).
CENTER_EXPONENT_BITS = 12

#: The ports the host drives or reads directly (the core forwards them under the same name).
HOST_PORTS = ("pass_memory", "l2_mantissa", "l2_exponent", "gradient_mantissa",
              "gradient_shift", "bound_mantissa", "bound_exponent", "center_exponent",
              "center_rd_addr", "center_rd_data")
#: What a logistic build adds: the pass's margin shift (static) and its write of the margins
#: into the data memory (which the system connects, as the pass's read port).
LOGISTIC_PORTS = ("pass_margin_shift", "margin_wr_addr", "margin_wr_data", "margin_wr_en")


def host_ports(config) -> tuple:
    """The ports of the epoch unit that the core forwards under the same name."""
    return HOST_PORTS + (LOGISTIC_PORTS if config.problem == "logreg" else ())


class EpochOp(enum.Enum, shape=1):
    """The argument (bit 0) of the core's EPOCH command (:data:`EPOCH_COMMAND`)."""

    #: The pass over all rows, the scale exponent, ``G`` and the recenter.
    FULL_GRADIENT = 0
    #: ``wc <- clamp(wc + rshift(z, ec - e))``.
    UPDATE_CENTER = 1


class EpochUnit(wiring.Component):
    """:class:`GradientPass`, :class:`GradientFinish` and :class:`CenterStore`, in sequence.

    Latency: ``done`` is high in the cycle ``pass_cycles + finish_cycles`` (FULL_GRADIENT) or
    ``update_cycles`` (UPDATE_CENTER) after ``start`` (:mod:`halp_hw.golden.epoch_timing`);
    one command at a time.

    Parameters
    ----------
    config : halp_hw.golden.hardware.HardwareConfig
        The build.

    Attributes
    ----------
    start : In(1)
        Start ``op`` (while idle).
    op : In(EpochOp)
    n, d : In(range(n_max + 1)), In(range(d_max + 1))
    row_words : In(range(words_per_row + 1))
        Rows, features and words per row, ``ceil(d/L)``; static.
    pass_memory : Out(pass_port_signature(config))
        The read port of the pass's region.
    l2_mantissa, l2_exponent, gradient_mantissa, gradient_shift, bound_mantissa, bound_exponent
        The host-given constants (:class:`GradientFinish`); static.
    center_exponent : In(signed(CENTER_EXPONENT_BITS))
        ``ec``; static.
    center_rd_addr : In(address_shape(words_per_row))
    center_rd_data : Out(lanes * center_bits)
        The host's read port of ``wc`` (while idle).
    previous : In(signed(SCALE_EXPONENT_BITS))
        The scale register.
    recenter : Out(1)
    exponent : Out(signed(SCALE_EXPONENT_BITS))
        Clear ``z`` and load ``exponent`` into the scale register (one cycle).
    g_addr, g_data, g_en : Out
        The gradient memory's write port.
    z_addr, z_reading, z_data
        The read of ``z`` by the update (:class:`CenterStore`).
    saturations : Out(range(lanes + 1))
        Clamps of ``G`` or ``wc`` in this cycle.
    done : Out(1)
        The command ends in this cycle.
    pass_margin_shift, margin_wr_addr, margin_wr_data, margin_wr_en
        Logistic builds: :class:`GradientPass`'s ``margin_shift`` and margin write.
    """

    def __init__(self, *, config):
        self.config = cfg = check_config(config)
        word = address_shape(cfg.words_per_row)
        logistic = {}
        if cfg.problem == "logreg":
            logistic = {"pass_margin_shift": In(signed(PASS_MARGIN_SHIFT_BITS)),
                        "margin_wr_addr": Out(row_address_shape(cfg)),
                        "margin_wr_data": Out(cfg.lanes * cfg.data_bits),
                        "margin_wr_en": Out(1)}
        super().__init__({
            **logistic,
            "start": In(1),
            "op": In(EpochOp),
            "n": In(range(cfg.n_max + 1)),
            "d": In(range(cfg.d_max + 1)),
            "row_words": In(range(cfg.words_per_row + 1)),
            "pass_memory": Out(pass_port_signature(cfg)),
            "l2_mantissa": In(CONSTANT_BITS),
            "l2_exponent": In(signed(CONSTANT_EXPONENT_BITS)),
            "gradient_mantissa": In(CONSTANT_BITS),
            "gradient_shift": In(signed(GRADIENT_SHIFT_BITS)),
            "bound_mantissa": In(CONSTANT_BITS),
            "bound_exponent": In(signed(CONSTANT_EXPONENT_BITS)),
            "center_exponent": In(signed(CENTER_EXPONENT_BITS)),
            "center_rd_addr": In(word),
            "center_rd_data": Out(cfg.lanes * cfg.center_bits),
            "previous": In(signed(SCALE_EXPONENT_BITS)),
            "recenter": Out(1),
            "exponent": Out(signed(SCALE_EXPONENT_BITS)),
            "g_addr": Out(word),
            "g_data": Out(cfg.lanes * cfg.grad_width),
            "g_en": Out(1),
            "z_addr": Out(word),
            "z_reading": Out(1),
            "z_data": In(cfg.lanes * cfg.bits),
            "saturations": Out(range(cfg.lanes + 1)),
            "done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        m.submodules.gradient_pass = gradient_pass = GradientPass(config=cfg)
        m.submodules.finish = finish = GradientFinish(config=cfg)
        m.submodules.center = center = CenterStore(config=cfg)
        wiring.connect(m, wiring.flipped(self.pass_memory), gradient_pass.memory)
        full_gradient = self.start & (self.op == EpochOp.FULL_GRADIENT)
        m.d.comb += [
            gradient_pass.start.eq(full_gradient), gradient_pass.n.eq(self.n),
            gradient_pass.row_words.eq(self.row_words),
            gradient_pass.center_data.eq(center.read_data),
            gradient_pass.acc_addr.eq(finish.acc_addr),
            finish.start.eq(gradient_pass.done), finish.d.eq(self.d),
            finish.acc_data.eq(gradient_pass.acc_data),
            finish.center_data.eq(center.read_data), finish.previous.eq(self.previous),
            center.update.eq(self.start & (self.op == EpochOp.UPDATE_CENTER)),
            center.row_words.eq(self.row_words),
            center.shift.eq(self.center_exponent - self.previous),
            center.z_data.eq(self.z_data),
            center.read_addr.eq(Mux(gradient_pass.active, gradient_pass.center_addr,
                                    Mux(finish.reading, finish.center_addr,
                                        self.center_rd_addr))),
            self.center_rd_data.eq(center.read_data),
            self.recenter.eq(finish.recenter), self.exponent.eq(finish.exponent),
            self.g_addr.eq(finish.g_addr), self.g_data.eq(finish.g_data),
            self.g_en.eq(finish.g_en),
            self.z_addr.eq(center.z_addr), self.z_reading.eq(center.z_reading),
            self.saturations.eq(finish.saturations + center.saturations),
            self.done.eq(finish.done | center.done),
        ]
        for name in ("l2_mantissa", "l2_exponent", "gradient_mantissa", "gradient_shift",
                     "bound_mantissa", "bound_exponent"):
            m.d.comb += getattr(finish, name).eq(getattr(self, name))
        if cfg.problem == "logreg":
            m.d.comb += [gradient_pass.margin_shift.eq(self.pass_margin_shift),
                         *(getattr(self, name).eq(getattr(gradient_pass, name))
                           for name in ("margin_wr_addr", "margin_wr_data", "margin_wr_en"))]
        return m
