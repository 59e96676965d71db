"""The HALP core: memories, the sample-index source, the control FSM, counters and the host port.

One inner step is one pass over the words of a row (see ``docs/datapath.md``): pass ``t`` streams
row ``i_t`` (to update ``z`` with the coefficient of the previous pass) and row ``i_{t+1}`` (whose
dot product with the new ``z`` gives the next coefficient) through the vector unit, so a step costs
``config.step_cycles(d)`` cycles. The FSM is a fixed schedule: ``beats(d)`` issue cycles, then
``config.pipeline_latency`` cycles in which the pipeline drains and the coefficient is formed.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import enum, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from halp_hw.golden.hardware import STEP_MANTISSA_BITS, HardwareConfig
from halp_hw.golden.prng import SAMPLE_STREAM, STATE_BITS
from halp_hw.golden.validation import HalpInputError

from .centering import EPOCH_BITS, EXPONENT_BITS, BitCenteringRegister, address_shape
from .coefficient import StepCoefficient
from .faults import check_fault
from .lane import check_config
from .prng import Xorshift32
from .vector import VectorUnit

__all__ = [
    "CYCLE_COUNTER_BITS", "EVENT_COUNTER_BITS", "COMMAND_ARG_BITS", "DRAW_LATENCY", "DRAWS_AHEAD",
    "OPERAND_DELAY", "MAX_DATA_WORDS", "Command", "SampleRowSource", "BeatSequencer", "HALPCore",
    "pack_words", "unpack_words", "CoreDriver",
]

#: Width of the ``cycles`` status counter.
CYCLE_COUNTER_BITS = 48
#: Width of the ``steps`` and ``saturations`` status counters.
EVENT_COUNTER_BITS = 32
#: Width of a command's argument (a seed, an exponent, a step count).
COMMAND_ARG_BITS = 32
#: Cycles from a draw request to the new row base being usable (advance, multiply, row base).
DRAW_LATENCY = 3
#: Sample indices drawn ahead at the seed command: pass t reads rows i_t and i_{t+1}.
DRAWS_AHEAD = 2
#: Registers from the issue stage to the lanes' inputs: the memories' synchronous read, then the
#: operand registers (block RAM outputs are slow; nothing computes on them directly).
OPERAND_DELAY = 2
#: Largest data memory, in words of L values: 4 Mbit at 8 lanes of 8 bits, more block RAM than
#: the largest ECP5 has (and generating its Verilog already takes about half a minute).
MAX_DATA_WORDS = 1 << 16


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


def on_chip_memory(width: int, depth: int) -> Memory:
    """An on-chip memory of ``depth`` words; at least two, because a one-word memory has a
    zero-width address, which Verilog cannot declare."""
    return Memory(shape=width, depth=max(2, depth), init=[])


class Command(enum.Enum, shape=2):
    """``cmd_op`` values of :class:`HALPCore`."""

    #: Load every random stream from ``cmd_arg``, clear ``z`` and the coefficient, reset the
    #: scale register, draw the first two sample indices. Takes a few cycles (``cmd_ready`` low).
    SEED = 0
    #: Clear ``z`` and the coefficient, load the exponent (``cmd_arg`` low 8 bits, signed),
    #: count an epoch. One cycle.
    RECENTER = 1
    #: Run ``cmd_arg`` inner steps (0 is a no-op); ``busy`` for ``cmd_arg * step_cycles(d)``.
    RUN = 2


class SampleRowSource(wiring.Component):
    """The sample-index stream as data-memory row bases: the two rows of the next pass.

    A draw advances the stream (``halp_hw.golden.prng.SAMPLE_STREAM``), takes ``(state * n) >> 32`` and
    scales it to the row base ``index * W``, each step in its own register so that neither
    multiply sits on another path; the new base is usable ``DRAW_LATENCY`` cycles after the
    draw. Each draw shifts ``row_base_next`` into ``row_base_cur``.

    Parameters
    ----------
    config : HardwareConfig
        The build (``n_max``, ``words_per_row``).
    fault : str or None
        ``index-off-by-one`` uses index ``i + 1`` (mod ``n``) instead of the drawn ``i``.

    Attributes
    ----------
    seed : In(32)
        The user seed, used on ``load``.
    load : In(1)
        Reseed the stream.
    draw : In(1)
        Draw the next sample.
    n : In(range(n_max + 1))
        Number of samples.
    row_base_cur, row_base_next : Out(address_shape(n_max * W))
        The rows ``i_t`` and ``i_{t+1}`` of the next pass, as word addresses.
    """

    def __init__(self, *, config: HardwareConfig, fault: str | None = None):
        self.config = check_config(config)
        self.fault = check_fault(fault)
        row_base = address_shape(config.n_max * config.words_per_row)
        super().__init__({
            "seed": In(STATE_BITS),
            "load": In(1),
            "draw": In(1),
            "n": In(range(config.n_max + 1)),
            "row_base_cur": Out(row_base),
            "row_base_next": Out(row_base),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.prng = prng = Xorshift32(stream=SAMPLE_STREAM, fault=self.fault)
        m.d.comb += [prng.seed.eq(self.seed), prng.load.eq(self.load),
                     prng.advance.eq(self.draw)]
        advanced, product_ready = Signal(), Signal()
        product = Signal(STATE_BITS + len(self.n))
        m.d.sync += [advanced.eq(self.draw), product_ready.eq(advanced),
                     product.eq(prng.state * self.n)]
        index = product[STATE_BITS:]
        if self.fault == "index-off-by-one":
            following = Signal(range(self.config.n_max + 1))
            m.d.comb += following.eq(index + 1)
            index = Mux(following == self.n, 0, following)
        with m.If(product_ready):
            m.d.sync += [self.row_base_cur.eq(self.row_base_next),
                         self.row_base_next.eq(index * self.config.words_per_row)]
        return m


class BeatSequencer(wiring.Component):
    """The issue stage of a pass: one beat per cycle until ``d`` features are covered.

    ``lanes_left`` counts down from ``d`` by ``L``: beat ``k``'s lane mask is ``lanes_left > l``
    and the last beat is ``lanes_left <= L``, so no division by ``L`` is needed.

    Parameters
    ----------
    config : HardwareConfig
        The build.

    Attributes
    ----------
    start : In(1)
        Begin a pass: the first beat issues in the next cycle.
    d : In(range(d_max + 1))
        Features per row (at least 1).
    row_base_cur, row_base_next : In(address_shape(n_max * W))
        The pass's rows ``i_t`` and ``i_{t+1}``, taken on ``start``.
    issuing, first : Out(1)
        Issue stage: a beat is issued; it is the pass's first.
    x_cur_addr, x_next_addr : Out(address_shape(n_max * W))
        Issue stage: the data-memory read addresses of the beat.
    word : Out(address_shape(W))
        Issue stage: the ``z`` / ``G`` word of the beat.
    lane_valid, lane_first, lane_last : Out(1)
        The beat's flags when its operands reach the lanes, ``OPERAND_DELAY`` cycles after issue.
    lane_word : Out(address_shape(W))
        The beat's word, at the same time.
    lane_mask : Out(lanes)
        At the same time: bit ``l`` is set when lane ``l`` holds a feature.
    """

    def __init__(self, *, config: HardwareConfig):
        self.config = check_config(config)
        row_address = address_shape(config.n_max * config.words_per_row)
        word = address_shape(config.words_per_row)
        super().__init__({
            "start": In(1),
            "d": In(range(config.d_max + 1)),
            "row_base_cur": In(row_address),
            "row_base_next": In(row_address),
            "issuing": Out(1),
            "first": Out(1),
            "x_cur_addr": Out(row_address),
            "x_next_addr": Out(row_address),
            "word": Out(word),
            "lane_valid": Out(1),
            "lane_first": Out(1),
            "lane_last": Out(1),
            "lane_word": Out(word),
            "lane_mask": Out(config.lanes),
        })

    def elaborate(self, platform):
        m = Module()
        lanes = self.config.lanes
        lanes_left = Signal(range(-lanes, self.config.d_max + 1))
        last = Signal()
        mask = Signal(lanes)
        m.d.comb += [last.eq(lanes_left <= lanes),
                     *(mask[lane].eq(lanes_left > lane) for lane in range(lanes))]
        with m.If(self.start):
            m.d.sync += [self.issuing.eq(1), self.first.eq(1), self.word.eq(0),
                         lanes_left.eq(self.d), self.x_cur_addr.eq(self.row_base_cur),
                         self.x_next_addr.eq(self.row_base_next)]
        with m.Elif(self.issuing):
            m.d.sync += [self.x_cur_addr.eq(self.x_cur_addr + 1),
                         self.x_next_addr.eq(self.x_next_addr + 1), self.word.eq(self.word + 1),
                         lanes_left.eq(lanes_left - lanes), self.first.eq(0)]
            with m.If(last):
                m.d.sync += self.issuing.eq(0)
        beat = [self.issuing, self.first, last, self.word, mask]
        for stage in range(OPERAND_DELAY - 1):
            delayed = [Signal.like(value, name=f"{value.name}_{stage}") for value in beat]
            m.d.sync += [copy.eq(value) for copy, value in zip(delayed, beat)]
            beat = delayed
        m.d.sync += [output.eq(value) for output, value in zip(
            (self.lane_valid, self.lane_first, self.lane_last, self.lane_word, self.lane_mask),
            beat)]
        return m


class HALPCore(wiring.Component):
    """The accelerator: runs T inner steps of bit-centered SVRG on command.

    Parameters
    ----------
    config : HardwareConfig
        The build: every width and memory size comes from it.
    fault : str or None
        A deliberately broken variant from :mod:`halp_hw.hdl.faults` (for the verification suite),
        passed down to the blocks; the core itself acts on ``index-off-by-one``.

    Attributes
    ----------
    x_wr_addr, x_wr_data, x_wr_en : In
        Host write port of the data memory: word ``row * W + beat``, lane ``l`` in bits
        ``[l * data_bits, (l + 1) * data_bits)``.
    g_wr_addr, g_wr_data, g_wr_en : In
        Host write port of the gradient memory (``grad_width`` bits per lane).
    z_rd_addr : In
        Host read address of ``z`` (used while not busy).
    z_rd_data : Out(lanes * bits)
        ``z`` word read one cycle earlier; a word not written since the last recenter reads 0.
    n, d : In
        Problem size, static while busy.
    mantissa : In(STEP_MANTISSA_BITS)
        The step mantissa ``m``.
    cmd_valid, cmd_ready, cmd_op, cmd_arg
        The command handshake (see :class:`Command`).
    busy : Out(1)
        High while a run is in progress.
    cycles, steps, saturations : Out
        Counters since reset: busy cycles, inner steps, saturated ``z`` updates.
    exponent, epoch : Out
        The bit-centering register.
    """

    def __init__(self, *, config: HardwareConfig, fault: str | None = None):
        self.config = check_config(config)
        self.fault = check_fault(fault)
        words = config.words_per_row
        if config.n_max * words > MAX_DATA_WORDS:
            raise HalpInputError(
                f"the data memory would hold n_max * ceil(d_max / lanes) = {config.n_max} * "
                f"{words} = {config.n_max * words} words; HALPCore holds at most "
                f"{MAX_DATA_WORDS}: reduce n_max or d_max, or add lanes")
        super().__init__({
            "x_wr_addr": In(address_shape(config.n_max * words)),
            "x_wr_data": In(config.lanes * config.data_bits),
            "x_wr_en": In(1),
            "g_wr_addr": In(address_shape(words)),
            "g_wr_data": In(config.lanes * config.grad_width),
            "g_wr_en": In(1),
            "z_rd_addr": In(address_shape(words)),
            "z_rd_data": Out(config.lanes * config.bits),
            "n": In(range(config.n_max + 1)),
            "d": In(range(config.d_max + 1)),
            "mantissa": In(STEP_MANTISSA_BITS),
            "cmd_valid": In(1),
            "cmd_ready": Out(1, init=1),
            "cmd_op": In(Command),
            "cmd_arg": In(COMMAND_ARG_BITS),
            "busy": Out(1),
            "cycles": Out(CYCLE_COUNTER_BITS),
            "steps": Out(EVENT_COUNTER_BITS),
            "saturations": Out(EVENT_COUNTER_BITS),
            "exponent": Out(signed(EXPONENT_BITS)),
            "epoch": Out(unsigned(EPOCH_BITS)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        words = cfg.words_per_row
        m.submodules.x_mem = x_mem = on_chip_memory(cfg.lanes * cfg.data_bits, cfg.n_max * words)
        m.submodules.g_mem = g_mem = on_chip_memory(cfg.lanes * cfg.grad_width, words)
        m.submodules.z_mem = z_mem = on_chip_memory(cfg.lanes * cfg.bits, words)
        m.submodules.centering = centering = BitCenteringRegister(config=cfg)
        m.submodules.rows = rows = SampleRowSource(config=cfg, fault=self.fault)
        m.submodules.sequencer = sequencer = BeatSequencer(config=cfg)
        m.submodules.vector = vector = VectorUnit(config=cfg, fault=self.fault)
        m.submodules.coefficient = coefficient = StepCoefficient(config=cfg)
        x_write, g_write, z_write = x_mem.write_port(), g_mem.write_port(), z_mem.write_port()
        x_cur_read, x_next_read = x_mem.read_port(), x_mem.read_port()
        g_read, z_read = g_mem.read_port(), z_mem.read_port()

        # Host writes, status, and the row and beat sources.
        m.d.comb += [
            x_write.addr.eq(self.x_wr_addr), x_write.data.eq(self.x_wr_data),
            x_write.en.eq(self.x_wr_en),
            g_write.addr.eq(self.g_wr_addr), g_write.data.eq(self.g_wr_data),
            g_write.en.eq(self.g_wr_en),
            self.exponent.eq(centering.exponent), self.epoch.eq(centering.epoch),
            rows.n.eq(self.n), sequencer.d.eq(self.d),
            sequencer.row_base_cur.eq(rows.row_base_cur),
            sequencer.row_base_next.eq(rows.row_base_next),
        ]

        # Issue stage -> synchronous reads; z is masked by the valid bits; the host reads z
        # through the same port while not busy.
        z_addr = Signal.like(sequencer.word)
        z_word = Signal.like(self.z_rd_data)
        m.d.comb += [
            x_cur_read.addr.eq(sequencer.x_cur_addr), x_next_read.addr.eq(sequencer.x_next_addr),
            g_read.addr.eq(sequencer.word),
            z_addr.eq(Mux(self.busy, sequencer.word, self.z_rd_addr)),
            z_read.addr.eq(z_addr), centering.read_addr.eq(z_addr),
            z_word.eq(Mux(centering.read_valid, z_read.data, 0)),
            self.z_rd_data.eq(z_word),
        ]

        # Operand registers -> vector unit -> step coefficient -> back to the lanes' stage A.
        x_cur, x_next = Signal.like(x_cur_read.data), Signal.like(x_next_read.data)
        grad, z = Signal.like(g_read.data), Signal.like(z_word)
        m.d.sync += [x_cur.eq(x_cur_read.data), x_next.eq(x_next_read.data),
                     grad.eq(g_read.data), z.eq(z_word)]
        m.d.comb += [
            vector.x_cur.eq(x_cur), vector.x_next.eq(x_next), vector.z.eq(z), vector.grad.eq(grad),
            vector.mask.eq(sequencer.lane_mask), vector.valid.eq(sequencer.lane_valid),
            vector.first.eq(sequencer.lane_first), vector.last.eq(sequencer.lane_last),
            vector.addr.eq(sequencer.lane_word), vector.coef.eq(coefficient.coef),
            coefficient.dot.eq(vector.dot), coefficient.dot_valid.eq(vector.dot_valid),
            coefficient.mantissa.eq(self.mantissa),
        ]

        # Stage B: z write-back (the vector unit carries the word address along).
        m.d.comb += [
            z_write.addr.eq(vector.z_addr), z_write.data.eq(vector.z_new),
            z_write.en.eq(vector.z_valid),
            centering.write_addr.eq(vector.z_addr), centering.set_valid.eq(vector.z_valid),
        ]

        self._control(m, rows=rows, sequencer=sequencer, vector=vector, centering=centering,
                      coefficient=coefficient)
        m.d.sync += [self.cycles.eq(self.cycles + self.busy),
                     self.saturations.eq(self.saturations + vector.saturations)]
        return m

    def _control(self, m, *, rows, sequencer, vector, centering, coefficient):
        """The command FSM: IDLE, SEED (draws two rows ahead), RUN (T steps on a fixed
        schedule of ``beats(d)`` issue cycles plus ``pipeline_latency`` drain cycles)."""
        latency = self.config.pipeline_latency
        accept = Signal()
        m.d.comb += accept.eq(self.cmd_valid & self.cmd_ready)
        steps_left = Signal(COMMAND_ARG_BITS)
        drain = Signal(range(latency))
        seed_countdown = Signal(range(DRAWS_AHEAD + DRAW_LATENCY))
        # cmd_ready and busy are registers that change with the state (no decoding logic on
        # the host port; also defined from time 0 in event-driven simulators such as Icarus).
        with m.FSM(name="control"):
            with m.State("IDLE"):
                with m.If(accept):
                    with m.Switch(self.cmd_op):
                        with m.Case(Command.SEED):
                            m.d.comb += [
                                rows.seed.eq(self.cmd_arg), rows.load.eq(1),
                                vector.seed.eq(self.cmd_arg), vector.load.eq(1),
                                centering.restart.eq(1), coefficient.clear.eq(1),
                            ]
                            m.d.sync += [seed_countdown.eq(DRAWS_AHEAD + DRAW_LATENCY - 2),
                                         self.cmd_ready.eq(0)]
                            m.next = "SEED"
                        with m.Case(Command.RECENTER):
                            m.d.comb += [centering.recenter.eq(1), coefficient.clear.eq(1),
                                         centering.exponent_in.eq(self.cmd_arg[:EXPONENT_BITS])]
                        with m.Case(Command.RUN):
                            with m.If(self.cmd_arg != 0):
                                m.d.comb += sequencer.start.eq(1)
                                m.d.sync += [steps_left.eq(self.cmd_arg), self.cmd_ready.eq(0),
                                             self.busy.eq(1)]
                                m.next = "RUN"
            with m.State("SEED"):
                m.d.comb += rows.draw.eq(seed_countdown >= DRAW_LATENCY - 1)
                m.d.sync += seed_countdown.eq(seed_countdown - 1)
                with m.If(seed_countdown == 0):
                    m.d.sync += self.cmd_ready.eq(1)
                    m.next = "IDLE"
            with m.State("RUN"):
                # pass t draws i_{t+2} in its first cycle: ready long before the next pass
                m.d.comb += rows.draw.eq(sequencer.issuing & sequencer.first)
                with m.If(~sequencer.issuing):
                    m.d.sync += drain.eq(drain + 1)
                    with m.If(drain == latency - 1):
                        m.d.sync += [drain.eq(0), steps_left.eq(steps_left - 1),
                                     self.steps.eq(self.steps + 1)]
                        with m.If(steps_left == 1):
                            m.d.sync += [self.cmd_ready.eq(1), self.busy.eq(0)]
                            m.next = "IDLE"
                        with m.Else():
                            m.d.comb += sequencer.start.eq(1)


class CoreDriver:
    """The host side of :class:`HALPCore`'s port, for Amaranth simulator testbenches.

    Parameters
    ----------
    ctx : amaranth.sim.SimulatorContext
        The testbench context (``async def bench(ctx)``).
    core : HALPCore
        The simulated core.

    Attributes
    ----------
    config : HardwareConfig
        The core's build.
    """

    def __init__(self, ctx, core: HALPCore):
        self.ctx, self.core, self.config = ctx, core, core.config

    async def _write_memory(self, addr, data, en, words, base=0):
        for offset, word in enumerate(words):
            self.ctx.set(addr, base + offset)
            self.ctx.set(data, word)
            self.ctx.set(en, 1)
            await self.ctx.tick()
        self.ctx.set(en, 0)

    async def load_data(self, x):
        """Write the rows of the quantized data ``x`` (n x d ints) into the data memory."""
        cfg, core = self.config, self.core
        for row, values in enumerate(x):
            await self._write_memory(core.x_wr_addr, core.x_wr_data, core.x_wr_en,
                                     pack_words(values, lanes=cfg.lanes, width=cfg.data_bits),
                                     base=row * cfg.words_per_row)

    async def load_gradient(self, grad):
        """Write the gradient memory (``d`` ints of ``grad_width`` bits)."""
        cfg, core = self.config, self.core
        await self._write_memory(core.g_wr_addr, core.g_wr_data, core.g_wr_en,
                                 pack_words(grad, lanes=cfg.lanes, width=cfg.grad_width))

    async def command(self, op: Command, arg: int) -> int:
        """Issue one command, wait until the core is ready again; return the cycles ``busy``
        was high after the command was accepted."""
        ctx, core = self.ctx, self.core
        ctx.set(core.cmd_op, op)
        ctx.set(core.cmd_arg, arg & ((1 << COMMAND_ARG_BITS) - 1))
        ctx.set(core.cmd_valid, 1)
        while not ctx.get(core.cmd_ready):
            await ctx.tick()
        await ctx.tick()
        ctx.set(core.cmd_valid, 0)
        busy_cycles = 0
        while ctx.get(core.busy):
            busy_cycles += 1
            await ctx.tick()
        while not ctx.get(core.cmd_ready):
            await ctx.tick()
        return busy_cycles

    async def read_z(self, d: int) -> list[int]:
        """The first ``d`` entries of ``z`` (one word per cycle)."""
        cfg, core = self.config, self.core
        words = []
        for word in range(cfg.beats(d)):
            self.ctx.set(core.z_rd_addr, word)
            await self.ctx.tick()
            words.append(self.ctx.get(core.z_rd_data))
        return unpack_words(words, lanes=cfg.lanes, width=cfg.bits, count=d)

    def status(self) -> dict:
        """The counters and the bit-centering register."""
        core = self.core
        return {name: self.ctx.get(getattr(core, name))
                for name in ("cycles", "steps", "saturations", "exponent", "epoch")}
