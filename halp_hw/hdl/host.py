"""The host side of the system's ports: the memory layouts, and a driver for Amaranth
testbenches."""

from __future__ import annotations

from halp_hw.golden.full_gradient import PassWidths
from halp_hw.golden.hardware import HardwareConfig

from .core import COMMAND_ARG_BITS, Command

__all__ = ["pack_words", "unpack_words", "value_words", "data_words", "value_addresses",
           "pass_region_words", "epoch_constants", "write_words", "SystemDriver"]


def pack_words(values, *, lanes: int, width: int) -> list[int]:
    """Host side of the memory layout: ``values`` (one row or the vector) as memory words.

    Value ``j`` goes to word ``j // lanes``, bits ``[(j % lanes) * width, ...)``, two's
    complement; unused lanes of the last word hold 0.
    """
    mask = (1 << width) - 1
    words = [0] * -(-len(values) // lanes)
    for j, value in enumerate(values):
        words[j // lanes] |= (int(value) & mask) << ((j % lanes) * width)
    return words


def unpack_words(words, *, lanes: int, width: int, count: int) -> list[int]:
    """The first ``count`` signed values held in ``words`` (inverse of :func:`pack_words`)."""
    mask, sign = (1 << width) - 1, 1 << (width - 1)
    values = []
    for j in range(count):
        raw = (int(words[j // lanes]) >> ((j % lanes) * width)) & mask
        values.append(raw - (raw & sign) * 2)
    return values


def value_words(config: HardwareConfig, value: int) -> list[int]:
    """A per-sample value as its ``config.sample_words`` memory words (two's complement of
    ``sample_value_bits`` bits, lowest word first)."""
    word_bits = config.lanes * config.data_bits
    raw = int(value) & ((1 << config.sample_value_bits) - 1)
    return [(raw >> (k * word_bits)) & ((1 << word_bits) - 1) for k in range(config.sample_words)]


def data_words(config: HardwareConfig, x, values=None) -> list[int]:
    """The data memory image of the quantized data ``x`` (n x d): the rows back to back,
    ``config.fetch_words(d)`` words each (the row's ``ceil(d / L)`` words, then the words of its
    per-sample value, ``values[i]`` or 0), so row ``i`` starts at word
    ``i * config.fetch_words(d)``."""
    return [word for i, row in enumerate(x)
            for word in (pack_words(row, lanes=config.lanes, width=config.data_bits)
                         + value_words(config, 0 if values is None else values[i]))]


def value_addresses(config: HardwareConfig, n: int, d: int) -> list[int]:
    """The data-memory addresses of the value words, in the order of :func:`value_words` of
    samples ``0 .. n-1``."""
    stride, beats = config.fetch_words(d), config.beats(d)
    return [i * stride + beats + k for i in range(n) for k in range(config.sample_words)]


def pass_region_words(config: HardwareConfig, pass_x, targets) -> list[int]:
    """The memory image of the full-gradient pass's region: row ``i``'s ``ceil(d/L)`` words of
    ``gradient_data_bits`` values, then its target ``targets[i]`` as ``target_words`` words
    (two's complement of ``dot_width`` bits, lowest word first)."""
    widths = PassWidths.of(config)
    mask = (1 << widths.dot_width) - 1
    word_mask = (1 << widths.word_bits) - 1
    image = []
    for row, target in zip(pass_x, targets):
        image += pack_words(row, lanes=config.lanes, width=widths.data_bits)
        raw = int(target) & mask
        image += [(raw >> (k * widths.word_bits)) & word_mask
                  for k in range(widths.target_words)]
    return image


def epoch_constants(host) -> dict:
    """The values of the core's constant ports for the epoch on chip, from an
    :class:`~halp_hw.golden.epoch.OnChipEpochHost` (``docs/numeric-contract.md``)."""
    constants = host.constants
    ports = {"l2_mantissa": constants.l2.mantissa, "l2_exponent": constants.l2.exponent,
             "gradient_mantissa": constants.step.mantissa,
             "gradient_shift": (constants.step.exponent + constants.gradient_unit
                                + host.config.frac_bits),
             "bound_mantissa": constants.bound.mantissa,
             "bound_exponent": constants.bound.exponent,
             "center_exponent": constants.center_exponent}
    if host.config.problem == "logreg":
        ports["pass_margin_shift"] = host.pass_margin_shift
    return ports


async def write_words(ctx, addr, data, enable, words, addresses=None) -> None:
    """Write ``words`` through a write port, one word per cycle, at ``addresses`` (default
    0, 1, ...)."""
    for offset, word in enumerate(words):
        ctx.set(addr, offset if addresses is None else addresses[offset])
        ctx.set(data, word)
        ctx.set(enable, 1)
        await ctx.tick()
    ctx.set(enable, 0)


class SystemDriver:
    """The host side of :class:`halp_hw.hdl.system.HALPSystem`, for Amaranth simulator
    testbenches.

    Parameters
    ----------
    ctx : amaranth.sim.SimulatorContext
        The testbench context (``async def bench(ctx)``).
    system : HALPSystem
        The simulated system.

    Attributes
    ----------
    config : HardwareConfig
        The core's build.
    """

    def __init__(self, ctx, system):
        self.ctx, self.system, self.config = ctx, system, system.core.config

    async def _write(self, port: str, words, addresses=None) -> None:
        await write_words(self.ctx, *(getattr(self.system, f"{port}_wr_{name}")
                                      for name in ("addr", "data", "en")), words, addresses)

    async def load_data(self, x) -> None:
        """Preload the data memory with the quantized data ``x`` (n x d ints)."""
        await self._write("data", data_words(self.config, x))

    async def load_sample_values(self, values, d: int) -> None:
        """Write the per-sample values of an epoch next to the rows (logistic, SVM)."""
        words = [word for value in values for word in value_words(self.config, value)]
        await self._write("data", words, value_addresses(self.config, len(values), d))

    async def load_order(self, order) -> None:
        """Preload the order memory with a host-given sample order."""
        await self._write("order", [int(index) for index in order])

    async def load_gradient(self, grad) -> None:
        """Write the gradient memory (``d`` ints of ``grad_width`` bits)."""
        cfg = self.config
        await self._write("g", pack_words(grad, lanes=cfg.lanes, width=cfg.grad_width))

    async def load_epoch(self, host) -> None:
        """Program the constants of the epoch on chip and preload the pass's region."""
        for name, value in epoch_constants(host).items():
            self.ctx.set(getattr(self.system, name), value)
        await self._write("pass", pass_region_words(self.config, host.pass_x, host.targets))

    async def read_center(self, d: int) -> list[int]:
        """The first ``d`` entries of the on-chip center ``wc`` (one word per cycle)."""
        return await self._read_memory("center", self.config.center_bits, d)

    async def _read_memory(self, port: str, width: int, d: int) -> list[int]:
        """The first ``d`` entries of the memory behind ``{port}_rd_addr``/``{port}_rd_data``
        (one word per cycle), ``width`` bits each."""
        address = getattr(self.system, f"{port}_rd_addr")
        data = getattr(self.system, f"{port}_rd_data")
        words = []
        for word in range(self.config.beats(d)):
            self.ctx.set(address, word)
            await self.ctx.tick()
            words.append(self.ctx.get(data))
        return unpack_words(words, lanes=self.config.lanes, width=width, count=d)

    async def command(self, op: Command | int, arg: int) -> int:
        """Issue one command (a :class:`Command`, or the code of the EPOCH command), wait until
        the core is ready again; return the cycles ``busy`` was high after the command was
        accepted."""
        ctx, system = self.ctx, self.system
        ctx.set(system.cmd_op.as_value(), op.value if isinstance(op, Command) else op)
        ctx.set(system.cmd_arg, arg & ((1 << COMMAND_ARG_BITS) - 1))
        ctx.set(system.cmd_valid, 1)
        while not ctx.get(system.cmd_ready):
            await ctx.tick()
        await ctx.tick()
        ctx.set(system.cmd_valid, 0)
        busy_cycles = 0
        while ctx.get(system.busy):
            busy_cycles += 1
            await ctx.tick()
        while not ctx.get(system.cmd_ready):
            await ctx.tick()
        return busy_cycles

    async def read_z(self, d: int) -> list[int]:
        """The first ``d`` entries of ``z`` (one word per cycle)."""
        return await self._read_memory("z", self.config.bits, d)

    def status(self) -> dict:
        """The counters and the bit-centering register."""
        system = self.system
        return {name: self.ctx.get(getattr(system, name))
                for name in ("cycles", "steps", "saturations", "exponent", "epoch")}
