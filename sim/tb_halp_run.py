"""A whole hardware-mode HALP run on HALPCore: the host loop of ``halp-hw simulate``.

The data (and a host-given sample order) are preloaded into the off-chip memory models of
:class:`halp_hw.hdl.system.HALPSystem` once; then every epoch is a gradient load, a RECENTER and
one RUN of T steps, during which the testbench only waits for ``busy`` to fall (no
Python per simulated cycle). The host is :class:`halp_hw.golden.hardware.HalpHost` and the loop is
:func:`halp_hw.runtime.backends.drive_halp`, the same as on the golden model, so the report (the trace
and ``z`` after every epoch) is comparable number for number with the ``model`` backend.

Parameters (``tb_support.params()``): ``config`` (HardwareConfig fields), ``run`` (HardwareRun
fields), ``memory`` (MemoryTiming fields), ``problem`` (an ``.npz`` of
:func:`halp_hw.golden.datasets.save_problem`); ``report`` (where the results go) and
``progress`` (one line per finished epoch, ``tb_support.report_progress``) come from the runner.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from halp_hw.golden.datasets import read_problem
from halp_hw.golden.epoch import make_host
from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.hardware import HalpHost, HardwareRun
from halp_hw.golden.memory import MemoryTiming
from halp_hw.hdl.core import COMMAND_ARG_BITS, Command
from halp_hw.hdl.epoch_unit import EPOCH_COMMAND, EpochOp
from halp_hw.hdl.host import (epoch_constants, pack_words, pass_region_words, unpack_words,
                              value_addresses, value_words)
from halp_hw.hdl.system import timing_inputs
from halp_hw.runtime.backends import drive_halp
from tb_support import hardware_config, params, report_progress, reset


class CocotbAccelerator:
    """HALPSystem's host port driven from cocotb, with the interface :func:`drive_halp` uses.

    Inputs change just after a falling clock edge and outputs are read before the next one
    (``tb_support``'s convention).

    Parameters
    ----------
    dut : cocotb handle
        The simulated ``HALPSystem`` (top level).
    config : HardwareConfig
        Its build.
    d : int
        Features of the problem (the words of ``z`` read back).
    """

    def __init__(self, dut, config, d: int, padding_rng: np.random.Generator | None = None):
        self.dut, self.config, self.d = dut, config, d
        self.padding_rng = padding_rng

    def _pack(self, values, width: int) -> list[int]:
        """``values`` as memory words; with ``padding_rng``, the lanes past ``d`` of the last
        word hold random values (which the core must ignore) instead of 0."""
        values = list(values)
        if self.padding_rng is not None:
            padding = self.config.beats(len(values)) * self.config.lanes - len(values)
            low, high = int_range(width)
            values += self.padding_rng.integers(low, high + 1, size=padding).tolist()
        return pack_words(values, lanes=self.config.lanes, width=width)

    #: The inputs that idle at 0 after reset.
    IDLE_INPUTS = ("cmd_valid", "data_wr_en", "order_wr_en", "g_wr_en")

    async def _write(self, port: str, words, addresses=None) -> None:
        addr, data, enable = (getattr(self.dut, f"{port}_wr_{name}")
                              for name in ("addr", "data", "en"))
        for offset, word in enumerate(words):
            addr.value = offset if addresses is None else addresses[offset]
            data.value, enable.value = int(word), 1
            await FallingEdge(self.dut.clk)
        enable.value = 0

    async def command(self, op: Command | int, arg: int, wait: bool = True) -> None:
        """Issue a command (a :class:`Command`, or the code of the EPOCH command) and return
        once the core is ready for the next one (or, without ``wait``, once the core has
        accepted it: the next command is then presented while the core still carries this one
        out)."""
        dut = self.dut
        dut.cmd_op.value = op.value if isinstance(op, Command) else op
        dut.cmd_arg.value = arg & ((1 << COMMAND_ARG_BITS) - 1)
        dut.cmd_valid.value = 1
        while not dut.cmd_ready.value:
            await FallingEdge(dut.clk)
        await FallingEdge(dut.clk)  # accepted on the rising edge in between
        dut.cmd_valid.value = 0
        if not wait:
            return
        if dut.busy.value:
            await FallingEdge(dut.busy)  # a whole RUN without Python per cycle
            await FallingEdge(dut.clk)
        while not dut.cmd_ready.value:
            await FallingEdge(dut.clk)

    async def load(self, host: HalpHost) -> None:
        """Program the problem size, step mantissa and sample order, preload the memories and
        seed, as a host does once (and set the memories' timing, a build that has it as inputs)."""
        dut = self.dut
        for port, value in timing_inputs(host.memory).items():
            if hasattr(dut, port):
                getattr(dut, port).value = value
        dut.n.value, dut.d.value, dut.mantissa.value = host.problem.n, self.d, host.mantissa
        dut.host_order.value = int(host.order is not None)
        for name in ("coef_shift", "margin_shift", "decay"):
            if hasattr(dut, name):
                handle = getattr(dut, name)
                handle.value = getattr(host.step, name) & ((1 << len(handle)) - 1)
        if hasattr(host, "constants"):  # the epoch on chip: its constants and data region
            for name, value in epoch_constants(host).items():
                handle = getattr(dut, name)
                handle.value = value & ((1 << len(handle)) - 1)
            await self._write("pass", pass_region_words(self.config, host.pass_x,
                                                        host.targets))
        await self._write("data", [word for row in host.x_ints
                                   for word in (self._pack(row, self.config.data_bits)
                                                + value_words(self.config, 0))])
        if host.order is not None:
            await self.load_order(host.order)
        await self.command(Command.SEED, host.run.seed)

    async def load_order(self, entries) -> None:
        """Write a host-given sample order into the order memory (read from the next SEED)."""
        await self._write("order", entries)

    async def load_gradient(self, grad_ints) -> None:
        await self._write("g", self._pack(grad_ints, self.config.grad_width))

    async def load_sample_values(self, values) -> None:
        words = [word for value in values for word in value_words(self.config, value)]
        await self._write("data", words, value_addresses(self.config, len(values), self.d))

    async def recenter(self, exponent: int) -> None:
        await self.command(Command.RECENTER, exponent)

    async def run(self, steps: int) -> None:
        await self.command(Command.RUN, steps)

    async def _read_memory(self, port: str, width: int) -> list:
        """The first ``d`` entries of the memory behind ``{port}_rd_addr``/``{port}_rd_data``
        (one word per cycle), ``width`` bits each."""
        address, data = getattr(self.dut, f"{port}_rd_addr"), getattr(self.dut, f"{port}_rd_data")
        words = []
        for word in range(self.config.beats(self.d)):
            address.value = word
            await FallingEdge(self.dut.clk)
            words.append(int(data.value))
        return unpack_words(words, lanes=self.config.lanes, width=width, count=self.d)

    async def read_z(self) -> list:
        return await self._read_memory("z", self.config.bits)

    async def counters(self) -> tuple[int, int]:
        return int(self.dut.saturations.value), int(self.dut.cycles.value)

    async def full_gradient(self) -> None:
        await self.command(EPOCH_COMMAND, EpochOp.FULL_GRADIENT.value)

    async def update_center(self) -> None:
        await self.command(EPOCH_COMMAND, EpochOp.UPDATE_CENTER.value)

    async def read_gradient(self) -> list:
        """The gradient memory ``G`` (a build with the epoch on chip)."""
        return await self._read_memory("g", self.config.grad_width)

    async def read_center(self) -> tuple[list, int]:
        center = await self._read_memory("center", self.config.center_bits)
        return center, self.dut.exponent.value.to_signed()


async def run_halp(dut) -> None:
    """Load the problem of ``params()``, run :func:`drive_halp` on the core, write the report
    (on whatever clock the simulation has)."""
    p = params()
    config, run = hardware_config(p["config"]), HardwareRun(**p["run"])
    host = make_host(read_problem(p["problem"]), config, run, MemoryTiming(**p["memory"]))
    await reset(dut, CocotbAccelerator.IDLE_INPUTS)
    accelerator = CocotbAccelerator(dut, config, host.problem.d)
    await accelerator.load(host)
    loop = await drive_halp(host, accelerator, lambda epoch: report_progress(f"epoch {epoch}"))
    Path(p["report"]).write_text(json.dumps({"trace": host.trace.to_dict(),
                                             "loop": dataclasses.asdict(loop)}))


@cocotb.test()
async def halp_run(dut):
    await run_halp(dut)
