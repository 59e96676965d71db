"""HALPCore and BitCenteringRegister in Amaranth's simulator against the golden hardware model.

Each core test drives the host port exactly as a host would (load X and G, SEED, RECENTER, RUN,
read z back) and compares z and every counter with :class:`halp_hw.golden.hardware.AcceleratorModel`
driven with the same commands.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

import numpy as np
import pytest
from amaranth.sim import Simulator

from halp_hw.golden.hardware import STEP_MANTISSA_BITS, AcceleratorModel, HardwareConfig
from halp_hw.golden.prng import MASK, SAMPLE_STREAM, SampleOrder, stream_key
from halp_hw.golden.validation import HalpInputError
from halp_hw.hdl.centering import EXPONENT_BITS, BitCenteringRegister
from halp_hw.hdl.core import (
    DRAW_LATENCY, DRAWS_AHEAD, MAX_DATA_WORDS, OPERAND_DELAY, BeatSequencer, Command, CoreDriver,
    HALPCore, SampleRowSource, pack_words, unpack_words,
)

# A constructor that raises leaves an Elaboratable that Amaranth warns about when it is collected;
# the tests of constructor errors collect it while this filter applies.
pytestmark = pytest.mark.filterwarnings("ignore:.*created but never used")


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
    coefficient carries over from one run to the next.
    """

    config: HardwareConfig
    x: np.ndarray
    mantissa: int
    seed: int
    epochs: list

    @classmethod
    def random(cls, config, *, n, d, mantissa, seed, epochs, grad_width, data_seed=0):
        """Random data and gradients with the extreme values planted; ``epochs`` lists
        ``(exponent, [T, ...])``."""
        rng = np.random.default_rng(data_seed)
        x = random_ints(rng, config.data_bits, (n, d))
        return cls(config, x, mantissa, seed,
                   [(exponent, random_ints(rng, grad_width, d), runs)
                    for exponent, runs in epochs])

    def golden(self, mantissa: int | None = None) -> tuple[list[dict], AcceleratorModel]:
        """The golden model's state after every run (optionally with another mantissa)."""
        cfg, d = self.config, self.x.shape[1]
        model = AcceleratorModel(cfg, self.x, mantissa or self.mantissa, self.seed)
        states = []
        for epoch, (exponent, grad, runs) in enumerate(self.epochs, start=1):
            model.load_gradient(grad)
            model.recenter(exponent)
            for steps in runs:
                model.run(steps)
                states.append({"z": model.z.tolist(), "busy": steps * cfg.step_cycles(d),
                               "cycles": model.cycles, "steps": model.steps,
                               "saturations": model.saturations, "exponent": model.exponent,
                               "epoch": epoch})
        return states, model

    def simulate_core(self, fault: str | None = None, *, back_to_back: bool = False) -> list[dict]:
        """The core's state after every run, driven through its host port.

        ``back_to_back`` issues every command in the first cycle the core accepts it (gradients
        are preloaded, and the state is only read at the end, so the list has one entry).
        """
        n, d = self.x.shape
        core = HALPCore(config=self.config, fault=fault)
        states = []

        async def bench(ctx):
            host = CoreDriver(ctx, core)
            ctx.set(core.n, n)
            ctx.set(core.d, d)
            ctx.set(core.mantissa, self.mantissa)
            await host.load_data(self.x)
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

        simulate(core, bench)
        return states


def run_core_against_golden(scenario: Scenario, fault: str | None = None) -> AcceleratorModel:
    """Compare core and golden model after every run; return the golden model."""
    want, model = scenario.golden()
    got = scenario.simulate_core(fault)
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


@pytest.mark.parametrize("config, n, d", [
    (HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=8, d_max=20, n_max=12), 12, 20),
    (HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=8, d_max=20, n_max=12), 7, 13),
    (HardwareConfig(bits=4, data_bits=6, frac_bits=5, lanes=3, d_max=10, n_max=9), 9, 10),
    (HardwareConfig(bits=16, data_bits=16, frac_bits=24, lanes=4, d_max=9, n_max=5), 5, 9),
    (HardwareConfig(bits=2, data_bits=2, frac_bits=1, lanes=1, d_max=3, n_max=4), 4, 3),
    (HardwareConfig(bits=12, data_bits=10, frac_bits=12, lanes=16, d_max=40, n_max=6), 6, 37),
    (HardwareConfig(bits=5, data_bits=4, frac_bits=3, lanes=2, d_max=2, n_max=3), 3, 1),
])
def test_core_matches_golden(config, n, d):
    """Two epochs, several runs per epoch (T = 1 included), d not a multiple of L."""
    scenario = Scenario.random(config, n=n, d=d, mantissa=sensitive_mantissa(config, d),
                               seed=12345, epochs=[(-3, [1, 6]), (5, [4])],
                               grad_width=config.frac_bits + 1)
    model = run_core_against_golden(scenario)
    assert model.steps == 11 and model.saturations < model.steps * d
    assert_coefficient_matters(scenario)


def random_config(rng) -> tuple[HardwareConfig, int, int]:
    """A random build within every parameter's range (kept small for the simulator), and n, d."""
    lanes = int(rng.choice([1, 2, 3, 5, 8, 13, 64]))
    d_max = int(rng.integers(1, 3 * lanes + 2))
    n_max = int(rng.integers(1, 9))
    config = HardwareConfig(bits=int(rng.integers(2, 17)), data_bits=int(rng.integers(2, 17)),
                            frac_bits=int(rng.integers(1, 25)), lanes=lanes, d_max=d_max,
                            n_max=n_max)
    return config, int(rng.integers(1, n_max + 1)), int(rng.integers(1, d_max + 1))


@pytest.mark.parametrize("draw", range(6))
def test_core_matches_golden_on_random_builds(draw):
    config, n, d = random_config(np.random.default_rng(1000 + draw))
    scenario = Scenario.random(config, n=n, d=d, mantissa=sensitive_mantissa(config, d),
                               seed=draw * 0x1234567, epochs=[(draw - 3, [2, 3])],
                               grad_width=config.frac_bits + 1, data_seed=draw)
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


def test_core_back_to_back_commands():
    """RUN, RUN, RECENTER, RUN with no idle cycle between them: the coefficient that lands just
    after busy falls is used by a following RUN and cancelled by a following RECENTER."""
    config = HardwareConfig(bits=8, data_bits=8, frac_bits=10, lanes=4, d_max=10, n_max=7)
    scenario = Scenario.random(config, n=7, d=10, mantissa=sensitive_mantissa(config, 10),
                               seed=21, epochs=[(2, [3, 1, 2]), (-1, [1, 4])],
                               grad_width=config.frac_bits + 1)
    scenario = Scenario(config, scenario.x, scenario.mantissa, scenario.seed,
                        [(exponent, scenario.epochs[0][1], runs)     # one gradient, preloaded
                         for exponent, _, runs in scenario.epochs])
    want, _ = scenario.golden()
    assert scenario.simulate_core(back_to_back=True) == want[-1:]
    assert_coefficient_matters(scenario)


def test_core_command_handshake():
    """SEED holds cmd_ready low while it draws; RECENTER takes one cycle; RUN 0 and the unused
    op code 3 are accepted and do nothing."""
    config = HardwareConfig(bits=8, data_bits=8, frac_bits=8, lanes=4, d_max=8, n_max=4)
    core = HALPCore(config=config)

    async def accept(ctx, op, arg):
        ctx.set(core.cmd_op.as_value(), op.value if isinstance(op, Command) else op)
        ctx.set(core.cmd_arg, arg)
        ctx.set(core.cmd_valid, 1)
        assert ctx.get(core.cmd_ready)
        await ctx.tick()
        ctx.set(core.cmd_valid, 0)

    async def bench(ctx):
        host = CoreDriver(ctx, core)
        ctx.set(core.n, 4)
        ctx.set(core.d, 8)
        await accept(ctx, Command.SEED, 5)
        not_ready = 0
        while not ctx.get(core.cmd_ready):
            assert not ctx.get(core.busy)
            not_ready += 1
            await ctx.tick()
        assert not_ready == DRAWS_AHEAD + DRAW_LATENCY - 1   # two draws, then the draw pipeline
        await accept(ctx, Command.RECENTER, -7)
        assert ctx.get(core.cmd_ready) and (ctx.get(core.exponent), ctx.get(core.epoch)) == (-7, 1)
        before = host.status()
        await accept(ctx, Command.RUN, 0)
        await accept(ctx, 3, 1)
        for _ in range(3):
            assert ctx.get(core.cmd_ready) and not ctx.get(core.busy)
            await ctx.tick()
        assert host.status() == before

    simulate(core, bench)


def test_core_index_fault_is_caught():
    """The comparison is sharp enough to see a sample index off by one."""
    config = HardwareConfig(bits=8, data_bits=8, frac_bits=8, lanes=4, d_max=8, n_max=8)
    scenario = Scenario.random(config, n=8, d=8, mantissa=sensitive_mantissa(config, 8), seed=3,
                               epochs=[(0, [4])], grad_width=config.frac_bits + 1)
    with pytest.raises(AssertionError):
        run_core_against_golden(scenario, fault="index-off-by-one")


def test_core_rejects_bad_config():
    with pytest.raises(HalpInputError, match="config"):
        HALPCore(config={"bits": 8})
    with pytest.raises(HalpInputError, match="fault"):
        HALPCore(config=HardwareConfig(), fault="no-such-fault")
    too_big = HardwareConfig(lanes=1, d_max=MAX_DATA_WORDS // 256 + 1, n_max=256)
    with pytest.raises(HalpInputError, match=f"{256 * too_big.d_max} words"):
        HALPCore(config=too_big)
    HALPCore(config=HardwareConfig(lanes=1, d_max=MAX_DATA_WORDS // 256, n_max=256))  # fits
    gc.collect()


def test_pack_unpack_round_trip():
    rng = np.random.default_rng(1)
    values = random_ints(rng, 5, 11).tolist()
    words = pack_words(values, lanes=4, width=5)
    assert len(words) == 3 and words[-1] >> (3 * 5) == 0   # unused lanes hold 0
    assert unpack_words(words, lanes=4, width=5, count=11) == values


@pytest.mark.parametrize("n, seed", [
    (1, 0), (13, 12345), (13, MASK), (200, stream_key(SAMPLE_STREAM)), (256, 0xDEADBEEF),
])
def test_sample_row_source_matches_sample_order(n, seed):
    """Row bases are halp_hw.golden.prng.SampleOrder's indices times W, each DRAW_LATENCY cycles after
    its draw; the seed equal to the stream key exercises the zero-state fallback."""
    config = HardwareConfig(lanes=8, d_max=20, n_max=256)
    dut = SampleRowSource(config=config)
    draws = 12
    want = (SampleOrder(n, seed).take(draws) * config.words_per_row).tolist()

    async def bench(ctx):
        ctx.set(dut.n, n)
        ctx.set(dut.seed, seed)
        ctx.set(dut.load, 1)
        await ctx.tick()
        ctx.set(dut.load, 0)
        got = []
        for _ in range(draws):
            ctx.set(dut.draw, 1)
            await ctx.tick()
            ctx.set(dut.draw, 0)
            await ctx.tick().repeat(DRAW_LATENCY - 1)
            got.append(ctx.get(dut.row_base_next))
            assert len(got) < 2 or ctx.get(dut.row_base_cur) == got[-2]
        assert got == want

    simulate(dut, bench)


@pytest.mark.parametrize("lanes", [1, 3, 8])
def test_beat_sequencer_covers_d_features(lanes):
    """For every d: ceil(d/L) beats, consecutive addresses from the row bases, lane masks that
    cover exactly d features, first/last flags at the ends."""
    config = HardwareConfig(lanes=lanes, d_max=17, n_max=4)
    dut = BeatSequencer(config=config)
    base_cur, base_next = 2 * config.words_per_row, 3 * config.words_per_row

    async def bench(ctx):
        ctx.set(dut.row_base_cur, base_cur)
        ctx.set(dut.row_base_next, base_next)
        for d in range(1, config.d_max + 1):
            ctx.set(dut.d, d)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            issued, at_lanes = [], []
            for cycle in range(-(-d // lanes) + OPERAND_DELAY + 1):
                if ctx.get(dut.issuing):
                    issued.append((cycle + OPERAND_DELAY, ctx.get(dut.x_cur_addr),
                                   ctx.get(dut.x_next_addr), ctx.get(dut.word),
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


def test_bit_centering_register_rejects_bad_config():
    with pytest.raises(HalpInputError, match="config"):
        BitCenteringRegister(config=None)
    gc.collect()
