"""HALPCore with its off-chip memory models, and its blocks, in Amaranth's simulator against the
golden hardware model.

Each system test drives the host port exactly as a host would (preload the data and a sample
order, load G, SEED, RECENTER, RUN, read z back) and compares z and every counter, cycles
included, with :class:`halp_hw.golden.hardware.AcceleratorModel` driven with the same commands
and the same :class:`halp_hw.golden.memory.MemoryTiming`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from halp_hw.golden.hardware import STEP_MANTISSA_BITS, AcceleratorModel, HardwareConfig
from halp_hw.golden.memory import (DRAW_LATENCY, ORDER_INDEX_REGISTERS, ORDER_WORD_BITS,
                                   MemoryTiming, host_sample_order, order_lookahead,
                                   run_cycles, step_cost)
from halp_hw.golden.prng import MASK, SAMPLE_STREAM, SampleOrder, stream_key
from halp_hw.golden.validation import HalpInputError
from halp_hw.hdl.centering import EXPONENT_BITS, BitCenteringRegister
from halp_hw.hdl.core import Command, HALPCore, ceil_div_by_constant
from halp_hw.hdl.host import SystemDriver, pack_words, unpack_words, write_words
from halp_hw.hdl.memory_model import TIMING_INPUTS, OffChipMemory
from halp_hw.hdl.rows import SampleRowSource
from halp_hw.hdl.sequencer import OPERAND_DELAY, BeatSequencer
from halp_hw.hdl.system import HALPSystem
from halp_hw.testbenches.faults import injected

#: Memories from a word per cycle after one cycle to a slow, narrow, high-latency one with
#: bursts shorter than a row.
MEMORIES = {
    "fast": MemoryTiming(latency=1, bytes_per_cycle=64),
    "ddr3": MemoryTiming(),
    "narrow": MemoryTiming(latency=7, bytes_per_cycle=1),
    "bursty": MemoryTiming(latency=50, bytes_per_cycle=3, burst_bytes=4),
}


def signed_extremes(width: int) -> tuple[int, int]:
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def random_ints(rng, width: int, shape) -> np.ndarray:
    """Uniform ``width``-bit signed ints with the two extreme values planted."""
    low, high = signed_extremes(width)
    values = rng.integers(low, high + 1, size=shape)
    flat = values.reshape(-1)
    flat[: min(2, flat.size)] = [low, high][: min(2, flat.size)]
    return values


def simulate(dut, bench) -> None:
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@dataclass(frozen=True)
class Scenario:
    """One host session: data, then per epoch a gradient, a recenter and runs of T steps.

    ``epochs`` lists ``(exponent, gradient, [T, T, ...])``; several runs per epoch check that the
    coefficient carries over from one run to the next. ``host_order`` reads the sample order
    from memory (a permutation per epoch) instead of the xorshift32 stream.
    """

    config: HardwareConfig
    x: np.ndarray
    mantissa: int
    seed: int
    epochs: list
    memory: MemoryTiming = field(default_factory=MemoryTiming)
    host_order: bool = False

    @classmethod
    def random(cls, config, *, n, d, mantissa, seed, epochs, grad_width, data_seed=0,
               memory=None, host_order=False):
        """Random data and gradients with the extreme values planted; ``epochs`` lists
        ``(exponent, [T, ...])``."""
        rng = np.random.default_rng(data_seed)
        x = random_ints(rng, config.data_bits, (n, d))
        return cls(config, x, mantissa, seed,
                   [(exponent, random_ints(rng, grad_width, d), runs)
                    for exponent, runs in epochs], memory or MemoryTiming(), host_order)

    @property
    def order(self):
        if not self.host_order:
            return None
        steps = sum(sum(runs) for _, _, runs in self.epochs)
        return host_sample_order(self.x.shape[0], 1, steps, self.seed,
                                 order_lookahead(self.config))

    def golden(self, mantissa: int | None = None) -> tuple[list[dict], AcceleratorModel]:
        """The golden model's state after every run (optionally with another mantissa)."""
        model = AcceleratorModel(self.config, self.x, mantissa or self.mantissa, self.seed,
                                 memory=self.memory, order=self.order)
        states = []
        for epoch, (exponent, grad, runs) in enumerate(self.epochs, start=1):
            model.load_gradient(grad)
            model.recenter(exponent)
            for steps in runs:
                model.run(steps)
                order = "host" if self.host_order else "xorshift"
                busy = run_cycles(self.config, self.memory, self.x.shape[1], order, steps)
                states.append({"z": model.z.tolist(), "busy": busy,
                               "cycles": model.cycles, "steps": model.steps,
                               "saturations": model.saturations, "exponent": model.exponent,
                               "epoch": epoch})
        return states, model

    def simulate_core(self, *, back_to_back: bool = False,
                      memory_class=OffChipMemory) -> list[dict]:
        """The core's state after every run, driven through the system's host port.

        ``back_to_back`` issues every command in the first cycle the core accepts it (gradients
        are preloaded, and the state is only read at the end, so the list has one entry).
        """
        n, d = self.x.shape
        order = self.order
        system = HALPSystem(config=self.config, memory=self.memory,
                            data_words=n * self.config.beats(d),
                            order_words=2 if order is None else len(order),
                            memory_class=memory_class)
        states = []

        async def bench(ctx):
            host = SystemDriver(ctx, system)
            ctx.set(system.n, n)
            ctx.set(system.d, d)
            ctx.set(system.mantissa, self.mantissa)
            ctx.set(system.host_order, self.host_order)
            await host.load_data(self.x)
            if order is not None:
                await host.load_order(order)
            await host.command(Command.SEED, self.seed)
            for epoch, (exponent, grad, runs) in enumerate(self.epochs):
                if not back_to_back or epoch == 0:
                    await host.load_gradient(grad)
                await host.command(Command.RECENTER, exponent)
                for steps in runs:
                    busy = await host.command(Command.RUN, steps)
                    if not back_to_back:
                        states.append({"z": await host.read_z(d), "busy": busy,
                                       **host.status()})
            if back_to_back:
                states.append({"z": await host.read_z(d), "busy": busy, **host.status()})

        simulate(system, bench)
        return states


def run_core_against_golden(scenario: Scenario, fault: str | None = None,
                            memory_class=OffChipMemory) -> AcceleratorModel:
    """Compare core and golden model after every run; return the golden model."""
    want, model = scenario.golden()
    with injected(fault):
        got = scenario.simulate_core(memory_class=memory_class)
    mismatches = [(run, g, w) for run, (g, w) in enumerate(zip(got, want)) if g != w]
    assert len(got) == len(want) and not mismatches, mismatches[:1]
    return model


def sensitive_mantissa(config: HardwareConfig, d: int) -> int:
    """A step whose ``x * c`` term moves z by a few LSBs: the coefficient path matters."""
    target = 2.0 ** (config.frac_bits - 2 * config.data_bits + 18) / np.sqrt(d)
    return int(np.clip(round(target), 1, (1 << STEP_MANTISSA_BITS) - 1))


def assert_coefficient_matters(scenario: Scenario) -> None:
    """Guard against a toothless scenario: the dot product / coefficient path changes z."""
    with_step, _ = scenario.golden()
    without_step, _ = scenario.golden(mantissa=1)
    assert [state["z"] for state in with_step] != [state["z"] for state in without_step]


@pytest.mark.parametrize("memory", MEMORIES)
@pytest.mark.parametrize("host_order", [False, True], ids=["xorshift", "host-order"])
@pytest.mark.parametrize("config, n, d", [
    (HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=8, d_max=20, n_max=12), 12, 20),
    (HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=8, d_max=20, n_max=12), 7, 13),
    (HardwareConfig(bits=4, data_bits=6, frac_bits=5, lanes=3, d_max=10, n_max=9), 9, 10),
    (HardwareConfig(bits=16, data_bits=16, frac_bits=24, lanes=4, d_max=9, n_max=5), 5, 9),
    (HardwareConfig(bits=2, data_bits=2, frac_bits=1, lanes=1, d_max=3, n_max=4), 4, 3),
    (HardwareConfig(bits=12, data_bits=10, frac_bits=12, lanes=16, d_max=40, n_max=6), 6, 37),
    (HardwareConfig(bits=5, data_bits=4, frac_bits=3, lanes=2, d_max=2, n_max=3), 3, 1),
])
def test_core_matches_golden(config, n, d, host_order, memory):
    """Two epochs, several runs per epoch (T = 1 included), d not a multiple of L."""
    scenario = Scenario.random(config, n=n, d=d, mantissa=sensitive_mantissa(config, d),
                               seed=12345, epochs=[(-3, [1, 6]), (5, [4])],
                               grad_width=config.frac_bits + 1, memory=MEMORIES[memory],
                               host_order=host_order)
    model = run_core_against_golden(scenario)
    assert model.steps == 11 and model.saturations < model.steps * d
    assert_coefficient_matters(scenario)


def test_memory_bound_steps_are_counted():
    """A memory far slower than the pipeline: the count says what each step waited for (the
    expected figures worked out by hand from the memory's timing)."""
    memory = MemoryTiming(latency=7, bytes_per_cycle=1)
    # a row is 3 words of 32 bits: 12 cycles of transfer at 1 byte per cycle; a step computes
    # for 3 beats + 7 = 10 cycles.
    # With 3 row slots every step waits for the row it requests: request in cycle 1, 6 cycles
    # of wait, 12 of transfer, one to see it complete: 1 + 6 + 12 + 1 = 20 per step.
    tight = HardwareConfig(bits=8, data_bits=8, frac_bits=10, lanes=4, d_max=10, n_max=7,
                           row_slots=3)
    assert tight.step_cycles(10) == 10
    # With 8 slots, step u waits for the row requested by step u - 5. The first rows of a run
    # are on chip: steps cost 10 while the channel keeps up; row r (requested in cycle 10r + 1)
    # has its last word in cycle 19 + 12r (back to back on the channel), so step u ends at
    # max(10(u + 1), 12(u - 5) + 19 + 1): 10 per step up to u = 25, then 12u - 40.
    deep = HardwareConfig(bits=8, data_bits=8, frac_bits=10, lanes=4, d_max=10, n_max=7)
    for config, steps, busy in ((tight, 5, 5 * 20), (deep, 5, 5 * 10), (deep, 26, 26 * 10),
                                (deep, 40, 12 * 39 - 40)):
        scenario = Scenario.random(config, n=7, d=10, mantissa=sensitive_mantissa(config, 10),
                                   seed=4, epochs=[(0, [steps])],
                                   grad_width=config.frac_bits + 1, memory=memory)
        [state] = scenario.simulate_core()
        assert state["busy"] == state["cycles"] == busy, (config.row_slots, steps)
        assert run_cycles(config, memory, 10, "xorshift", steps) == busy
    steady = step_cost(deep, memory, 10)
    assert (steady.cycles, steady.bound) == (12, "memory")


def random_config(rng) -> tuple[HardwareConfig, int, int]:
    """A random build within every parameter's range (kept small for the simulator), and n, d."""
    lanes = int(rng.choice([1, 2, 3, 5, 8, 13, 64]))
    d_max = int(rng.integers(1, 3 * lanes + 2))
    n_max = int(rng.integers(1, 9))
    config = HardwareConfig(bits=int(rng.integers(2, 17)), data_bits=int(rng.integers(2, 17)),
                            frac_bits=int(rng.integers(1, 25)), lanes=lanes, d_max=d_max,
                            n_max=n_max)
    return config, int(rng.integers(1, n_max + 1)), int(rng.integers(1, d_max + 1))


def random_memory(rng) -> MemoryTiming:
    return MemoryTiming(latency=int(rng.integers(1, 30)),
                        bytes_per_cycle=int(rng.integers(1, 65)),
                        burst_bytes=int(rng.choice([1, 8, 64, 4096])))


@pytest.mark.parametrize("draw", range(6))
def test_core_matches_golden_on_random_builds(draw):
    rng = np.random.default_rng(1000 + draw)
    config, n, d = random_config(rng)
    scenario = Scenario.random(config, n=n, d=d, mantissa=sensitive_mantissa(config, d),
                               seed=draw * 0x1234567, epochs=[(draw - 3, [2, 3])],
                               grad_width=config.frac_bits + 1, data_seed=draw,
                               memory=random_memory(rng), host_order=bool(draw % 2))
    run_core_against_golden(scenario)


def test_core_single_sample():
    config = HardwareConfig(bits=6, data_bits=5, frac_bits=8, lanes=4, d_max=6, n_max=1)
    scenario = Scenario.random(config, n=1, d=6, mantissa=sensitive_mantissa(config, 6), seed=7,
                               epochs=[(0, [3])], grad_width=config.frac_bits + 1)
    run_core_against_golden(scenario)
    assert_coefficient_matters(scenario)


def test_core_saturating_run():
    """A large step and extreme gradients push z into both clamps; the counts must agree."""
    config = HardwareConfig(bits=4, data_bits=8, frac_bits=6, lanes=4, d_max=11, n_max=6)
    scenario = Scenario.random(config, n=6, d=11, mantissa=(1 << STEP_MANTISSA_BITS) - 1,
                               seed=99, epochs=[(-128, [5]), (127, [3])],
                               grad_width=config.grad_width)
    model = run_core_against_golden(scenario)
    assert model.saturations > 0


@pytest.mark.parametrize("memory", ["fast", "narrow"])
def test_core_back_to_back_commands(memory):
    """RUN, RUN, RECENTER, RUN with no idle cycle between them: the coefficient that lands just
    after busy falls is used by a following RUN and cancelled by a following RECENTER."""
    config = HardwareConfig(bits=8, data_bits=8, frac_bits=10, lanes=4, d_max=10, n_max=7)
    scenario = Scenario.random(config, n=7, d=10, mantissa=sensitive_mantissa(config, 10),
                               seed=21, epochs=[(2, [3, 1, 2]), (-1, [1, 4])],
                               grad_width=config.frac_bits + 1, memory=MEMORIES[memory])
    scenario = Scenario(config, scenario.x, scenario.mantissa, scenario.seed,
                        [(exponent, scenario.epochs[0][1], runs)     # one gradient, preloaded
                         for exponent, _, runs in scenario.epochs], scenario.memory)
    want, _ = scenario.golden()
    assert scenario.simulate_core(back_to_back=True) == want[-1:]
    assert_coefficient_matters(scenario)


def test_core_command_handshake():
    """SEED holds cmd_ready low while it fetches ``row_slots - 1`` rows (busy stays low, no
    cycle counted);
    RECENTER takes one cycle; RUN 0 and the unused op code 3 are accepted and do nothing."""
    config = HardwareConfig(bits=8, data_bits=8, frac_bits=8, lanes=4, d_max=8, n_max=4)
    memory = MemoryTiming(latency=5, bytes_per_cycle=64)
    system = HALPSystem(config=config, memory=memory, data_words=8)

    async def accept(ctx, op, arg):
        ctx.set(system.cmd_op.as_value(), op.value if isinstance(op, Command) else op)
        ctx.set(system.cmd_arg, arg)
        ctx.set(system.cmd_valid, 1)
        assert ctx.get(system.cmd_ready)
        await ctx.tick()
        ctx.set(system.cmd_valid, 0)

    async def bench(ctx):
        host = SystemDriver(ctx, system)
        ctx.set(system.n, 4)
        ctx.set(system.d, 8)
        await accept(ctx, Command.SEED, 5)
        not_ready = 0
        while not ctx.get(system.cmd_ready):
            assert not ctx.get(system.busy)
            not_ready += 1
            await ctx.tick()
        # the loads (1 cycle), the stream restarts (1 cycle); each row is requested as soon as
        # its address is ready (DRAW_LATENCY after the previous one, several rows in flight);
        # then the last row's fetch: the request, the read (4 cycles of latency + 2 words), the
        # completion
        fetch = 1 + (memory.latency - 1 + 2) + 1
        assert not_ready == 2 + DRAW_LATENCY * (config.row_slots - 1) + fetch
        assert host.status()["cycles"] == 0
        await accept(ctx, Command.RECENTER, -7)
        assert ctx.get(system.cmd_ready)
        assert (ctx.get(system.exponent), ctx.get(system.epoch)) == (-7, 1)
        before = host.status()
        await accept(ctx, Command.RUN, 0)
        await accept(ctx, 3, 1)
        for _ in range(3):
            assert ctx.get(system.cmd_ready) and not ctx.get(system.busy)
            await ctx.tick()
        assert host.status() == before

    simulate(system, bench)


@pytest.mark.parametrize("host_order", [False, True], ids=["xorshift", "host-order"])
def test_core_index_fault_is_caught(host_order):
    """The comparison is sharp enough to see a sample index off by one."""
    config = HardwareConfig(bits=8, data_bits=8, frac_bits=8, lanes=4, d_max=8, n_max=8)
    scenario = Scenario.random(config, n=8, d=8, mantissa=sensitive_mantissa(config, 8), seed=3,
                               epochs=[(0, [4])], grad_width=config.frac_bits + 1,
                               host_order=host_order)
    with pytest.raises(AssertionError):
        run_core_against_golden(scenario, fault="index-off-by-one")


def test_core_memory_does_not_grow_with_n():
    """The core holds z, G and row_slots row slots whatever n_max; n_max = 2**24 elaborates.
    Only the queue of order entries read ahead holds indices, of clog2(n_max + 1) bits."""
    from amaranth.back import rtlil

    small = HardwareConfig(lanes=8, d_max=100, n_max=1)
    huge = HardwareConfig(lanes=8, d_max=100, n_max=1 << 24)
    words, lanes, slots = small.words_per_row, small.lanes, small.row_slots
    for config, index_bits in ((small, 1), (huge, 25)):
        sizes = sorted(_memory_sizes(rtlil.convert(HALPCore(config=config))))
        assert sizes == sorted([(lanes * small.bits, words), (lanes * small.grad_width, words),
                                (lanes * small.data_bits, slots * words), (index_bits, slots)])


def _memory_sizes(rtlil_text: str) -> list[tuple[int, int]]:
    """(width, words) of every memory in an RTLIL text."""
    import re

    return [(int(width), int(size))
            for width, size in re.findall(r"memory width (\d+) size (\d+)", rtlil_text)]


@pytest.mark.usefixtures("discards_elaboratables")
def test_core_rejects_bad_config():
    with pytest.raises(HalpInputError, match="config"):
        HALPCore(config={"bits": 8})
    with pytest.raises(HalpInputError, match="n_max"):
        HardwareConfig(n_max=(1 << 24) + 1)
    with pytest.raises(HalpInputError, match="memory"):
        HALPSystem(config=HardwareConfig(), memory={"latency": 20}, data_words=4)


@pytest.mark.parametrize("divisor, limit", [(1, 7), (3, 4096), (8, 100), (13, 4096),
                                            (64, 4096)])
def test_ceil_div_by_constant(divisor, limit):
    value, result = Signal(range(limit + 1)), Signal(16)
    m = Module()
    m.d.comb += result.eq(ceil_div_by_constant(value, divisor, limit))
    checked = range(0, limit + 1, max(1, limit // 300))

    async def bench(ctx):
        for v in checked:
            ctx.set(value, v)
            assert ctx.get(result) == -(-v // divisor), v

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


def test_pack_unpack_round_trip():
    rng = np.random.default_rng(1)
    values = random_ints(rng, 5, 11).tolist()
    words = pack_words(values, lanes=4, width=5)
    assert len(words) == 3 and words[-1] >> (3 * 5) == 0   # unused lanes hold 0
    assert unpack_words(words, lanes=4, width=5, count=11) == values


async def take_rows(ctx, dut, count: int) -> list[tuple[int, int]]:
    """Take ``count`` row addresses, as soon as each is valid; (cycle waited, address) each."""
    got = []
    for _ in range(count):
        waited = 0
        while not ctx.get(dut.rows.valid):
            waited += 1
            await ctx.tick()
        got.append((waited, ctx.get(dut.rows.payload)))
        ctx.set(dut.rows.ready, 1)
        await ctx.tick()
        ctx.set(dut.rows.ready, 0)
    return got


@pytest.mark.parametrize("n, seed", [
    (1, 0), (13, 12345), (13, MASK), (200, stream_key(SAMPLE_STREAM)), (256, 0xDEADBEEF),
])
def test_sample_row_source_matches_sample_order(n, seed):
    """Row addresses are halp_hw.golden.prng.SampleOrder's indices times the row words, each
    DRAW_LATENCY cycles after the previous was taken; the seed equal to the stream key
    exercises the zero-state fallback."""
    config = HardwareConfig(lanes=8, d_max=20, n_max=256)
    dut = SampleRowSource(config=config)
    draws = 12
    want = (SampleOrder(n, seed).take(draws) * 3).tolist()

    async def bench(ctx):
        ctx.set(dut.n, n)
        ctx.set(dut.row_words, 3)
        ctx.set(dut.seed, seed)
        ctx.set(dut.load, 1)
        await ctx.tick()
        ctx.set(dut.load, 0)
        got = await take_rows(ctx, dut, draws)
        assert [address for _, address in got] == want
        assert [waited for waited, _ in got[1:]] == [DRAW_LATENCY - 1] * (draws - 1)

    simulate(dut, bench)


@pytest.mark.parametrize("memory", ["fast", "narrow"])
def test_sample_row_source_reads_host_order(memory):
    """With host_order the addresses follow the order memory, entry by entry; entries are read
    ahead, so an address is ready ``ORDER_INDEX_REGISTERS`` cycles after the previous was taken
    when its entry is there, later only when the memory cannot keep up (exact timing: the
    core-level comparisons with ``run_cycles``)."""
    config = HardwareConfig(lanes=8, d_max=20, n_max=50)
    timing = MEMORIES[memory]
    order = np.random.default_rng(5).permutation(50)[:10].tolist()
    m = Module()
    m.submodules.rows = dut = SampleRowSource(config=config)
    m.submodules.memory = model = OffChipMemory(timing=timing, depth=len(order),
                                                data_width=ORDER_WORD_BITS, addr_width=32,
                                                length_width=1)
    from amaranth.lib import wiring
    wiring.connect(m, dut.order, model.port)

    async def bench(ctx):
        await write_words(ctx, model.preload_addr, model.preload_data, model.preload_en, order)
        ctx.set(dut.n, 50)
        ctx.set(dut.row_words, 3)
        ctx.set(dut.host_order, 1)
        ctx.set(dut.load, 1)
        await ctx.tick()
        ctx.set(dut.load, 0)
        got = await take_rows(ctx, dut, len(order))
        assert [address for _, address in got] == [3 * entry for entry in order]
        waits = [waited for waited, _ in got[1:]]
        assert min(waits) >= ORDER_INDEX_REGISTERS - 1
        if memory == "fast":  # each entry has arrived long before its address is taken
            assert waits == [ORDER_INDEX_REGISTERS - 1] * (len(order) - 1)
        if memory == "narrow":  # one 32-bit entry per 4 cycles at 1 byte per cycle: entry j
            # leaves in cycle 11 + 4j, is popped in the next and taken 3 cycles later
            assert waits == [3] * (len(order) - 1)

    simulate(m, bench)


@pytest.mark.parametrize("timing", [MemoryTiming(latency=1, bytes_per_cycle=64),
                                    MemoryTiming(latency=4, bytes_per_cycle=3, burst_bytes=10),
                                    MemoryTiming(latency=2, bytes_per_cycle=1, burst_bytes=1)])
@pytest.mark.parametrize("stall", [False, True], ids=["always-ready", "back-pressure"])
@pytest.mark.parametrize("inputs", [False, True], ids=["built-in", "inputs"])
def test_memory_model_timing(timing, stall, inputs):
    """Words arrive in order; with an always-ready reader the last one leaves exactly
    ``read_cycles`` after acceptance, and back-pressure delays but never loses or repeats one;
    the same whether the timing is built in or set through the inputs."""
    width, words = 24, 7
    model = OffChipMemory(timing=None if inputs else timing, depth=16, data_width=width,
                          addr_width=4, length_width=3)
    contents = [(0x10101 * k) & 0xFFFFFF for k in range(16)]
    rng = np.random.default_rng(3)

    async def bench(ctx):
        if inputs:
            for name in TIMING_INPUTS:
                ctx.set(getattr(model, name), getattr(timing, name))
        await write_words(ctx, model.preload_addr, model.preload_data, model.preload_en, contents)
        for start in (2, 9):
            request = model.port.request
            ctx.set(request.payload, {"addr": start, "length": words})
            ctx.set(request.valid, 1)
            assert ctx.get(request.ready)
            await ctx.tick()
            ctx.set(request.valid, 0)
            received, cycle, last = [], 0, None
            while len(received) < words:
                cycle += 1
                ready = not stall or bool(rng.integers(2))
                ctx.set(model.port.response.ready, ready)
                if ready and ctx.get(model.port.response.valid):
                    received.append(ctx.get(model.port.response.payload))
                    last = cycle
                await ctx.tick()
            ctx.set(model.port.response.ready, 0)
            assert received == contents[start:start + words]
            if not stall:
                assert last == timing.read_cycles(words, width)
            for _ in range(3):
                assert not ctx.get(model.port.response.valid)
                await ctx.tick()

    simulate(model, bench)


def test_memory_model_words_outside_read_as_ones():
    """A request that runs past the last word (depth 10 of 16 addresses) or starts far above it
    (a high address bit the memory's own address would drop) reads all ones there, never the
    word the address wraps to."""
    width, depth = 12, 10
    model = OffChipMemory(timing=MemoryTiming(latency=2, bytes_per_cycle=8), depth=depth,
                          data_width=width, addr_width=8, length_width=3)
    contents = [0x101 * k + 1 for k in range(depth)]
    ones = (1 << width) - 1

    async def bench(ctx):
        await write_words(ctx, model.preload_addr, model.preload_data, model.preload_en, contents)
        ctx.set(model.port.response.ready, 1)
        for start, expected in ((7, contents[7:] + [ones] * 4), (128 + 3, [ones] * 7),
                                (0, contents[:7])):
            ctx.set(model.port.request.payload, {"addr": start, "length": 7})
            ctx.set(model.port.request.valid, 1)
            await ctx.tick()
            ctx.set(model.port.request.valid, 0)
            received = []
            while len(received) < 7:
                if ctx.get(model.port.response.valid):
                    received.append(ctx.get(model.port.response.payload))
                await ctx.tick()
            assert received == expected, (start, received)

    simulate(model, bench)


@pytest.mark.parametrize("lanes", [1, 3, 8])
def test_beat_sequencer_covers_d_features(lanes):
    """For every d: ceil(d/L) beats, consecutive addresses from the slot bases, lane masks that
    cover exactly d features, first/last flags at the ends."""
    config = HardwareConfig(lanes=lanes, d_max=17, n_max=4)
    dut = BeatSequencer(config=config)
    base_cur, base_next = 2 * config.words_per_row, config.words_per_row

    async def bench(ctx):
        ctx.set(dut.cur_base, base_cur)
        ctx.set(dut.next_base, base_next)
        for d in range(1, config.d_max + 1):
            ctx.set(dut.d, d)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            issued, at_lanes = [], []
            for cycle in range(-(-d // lanes) + OPERAND_DELAY + 1):
                if ctx.get(dut.issuing):
                    issued.append((cycle + OPERAND_DELAY, ctx.get(dut.cur_addr),
                                   ctx.get(dut.next_addr), ctx.get(dut.word),
                                   ctx.get(dut.first)))
                if ctx.get(dut.lane_valid):
                    at_lanes.append((cycle, ctx.get(dut.lane_word), ctx.get(dut.lane_mask),
                                     ctx.get(dut.lane_first), ctx.get(dut.lane_last)))
                await ctx.tick()
            # each beat reaches the lanes exactly OPERAND_DELAY cycles after its issue
            assert [beat[0] for beat in issued] == [beat[0] for beat in at_lanes]
            beats = [a[1:] + b[1:] for a, b in zip(issued, at_lanes)]
            count = -(-d // lanes)
            assert len(beats) == count
            for k, (x_cur, x_next, word, first, lane_word, mask, lane_first, lane_last) \
                    in enumerate(beats):
                assert (x_cur, x_next, word, lane_word) == (base_cur + k, base_next + k, k, k)
                active = min(lanes, d - k * lanes)
                assert mask == (1 << active) - 1
                assert first == lane_first == (k == 0) and lane_last == (k == count - 1)

    simulate(dut, bench)


def test_bit_centering_register():
    """Recenter clears every valid bit in one cycle, loads the exponent, counts the epoch."""
    config = HardwareConfig(lanes=4, d_max=22)      # 6 words
    dut = BitCenteringRegister(config=config)
    words = config.words_per_row
    low, high = signed_extremes(EXPONENT_BITS)

    async def read_valid(ctx, word):
        ctx.set(dut.read_addr, word)
        await ctx.tick()
        return ctx.get(dut.read_valid)

    async def bench(ctx):
        assert [await read_valid(ctx, w) for w in range(words)] == [0] * words
        for word in (0, 3, words - 1):
            ctx.set(dut.write_addr, word)
            ctx.set(dut.set_valid, 1)
            await ctx.tick()
        ctx.set(dut.set_valid, 0)
        written = [int(w in (0, 3, words - 1)) for w in range(words)]
        assert [await read_valid(ctx, w) for w in range(words)] == written
        for epoch, exponent in enumerate((low, high, -1), start=1):
            ctx.set(dut.exponent_in, exponent)
            ctx.set(dut.recenter, 1)
            ctx.set(dut.write_addr, 3)
            ctx.set(dut.set_valid, 1)            # a recenter wins over a write in its cycle
            await ctx.tick()
            ctx.set(dut.recenter, 0)
            ctx.set(dut.set_valid, 0)
            assert (ctx.get(dut.exponent), ctx.get(dut.epoch)) == (exponent, epoch)
            assert [await read_valid(ctx, w) for w in range(words)] == [0] * words
        ctx.set(dut.write_addr, 2)
        ctx.set(dut.set_valid, 1)
        await ctx.tick()
        ctx.set(dut.set_valid, 0)
        ctx.set(dut.restart, 1)
        await ctx.tick()
        ctx.set(dut.restart, 0)
        assert (ctx.get(dut.exponent), ctx.get(dut.epoch)) == (0, 0)
        assert [await read_valid(ctx, w) for w in range(words)] == [0] * words

    simulate(dut, bench)


@pytest.mark.usefixtures("discards_elaboratables")
def test_bit_centering_register_rejects_bad_config():
    with pytest.raises(HalpInputError, match="config"):
        BitCenteringRegister(config=None)
