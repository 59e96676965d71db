"""The leaf HDL blocks in Amaranth's simulator against the golden hardware arithmetic, bit for bit.

Every expected value comes from ``golden/`` (``fixedpoint``, ``prng``, ``hardware``); pipeline
latencies come from the spec table in ``docs/datapath.md``.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from halp_hw.golden.fixedpoint import int_range, saturate, shift_round
from halp_hw.golden.hardware import (
    STEP_MANTISSA_BITS, STEP_SHIFT, AcceleratorModel, HalpHost, HardwareConfig, HardwareRun,
)
from halp_hw.golden.prng import (
    MASK, SAMPLE_STREAM, STATE_BITS, LaneRandom, SampleOrder, lane_stream, stream_key,
    stream_seed, xorshift32,
)
from halp_hw.golden.problems import LeastSquares
from halp_hw.golden.validation import HalpInputError
from halp_hw.hdl import MaccLane, StepCoefficient, StochasticRounder, VectorUnit, Xorshift32
from halp_hw.testbenches.faults import FAULTS, check_fault, injected

#: Builds covering the width extremes: narrowest and widest z, few and many fraction bits.
CONFIGS = [
    pytest.param(HardwareConfig(bits=2, data_bits=2, frac_bits=1, lanes=1, d_max=4),
                 id="b2-x2-f1-l1"),
    pytest.param(HardwareConfig(bits=8, data_bits=8, frac_bits=4, lanes=3, d_max=16),
                 id="b8-x8-f4-l3"),
    pytest.param(HardwareConfig(bits=16, data_bits=16, frac_bits=24, lanes=8, d_max=32),
                 id="b16-x16-f24-l8"),
]


def simulate(dut, testbench, *, clocked=True):
    """Run one async testbench on ``dut`` (with a clock unless the design is combinational)."""
    sim = Simulator(dut)
    if clocked:
        sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


def golden_round(values, frac_bits, random_bits, bits):
    """The golden stochastic rounding and saturation, elementwise: (results, saturated flags)."""
    shifted = shift_round(np.asarray(values, dtype=np.int64), frac_bits, random_bits)
    results, _ = saturate(shifted, bits)
    return results, results != shifted


# -- StochasticRounder ---------------------------------------------------------------------------

def rounder_vectors(in_width, frac_bits, out_width, rng):
    """(value, random) pairs: width extremes, rounding carries, both clamp edges, random mixes."""
    in_low, in_high = int_range(in_width)
    q_low, q_high = int_range(out_width)
    one, all_ones = 1 << frac_bits, (1 << frac_bits) - 1
    edges = [
        in_low, in_high, 0, -1, 1,
        q_high * one, q_high * one + all_ones,          # a carry out of the rounding bits saturates
        (q_high + 1) * one, q_high * one - 1,
        q_low * one, q_low * one - 1, (q_low - 1) * one + all_ones,
        all_ones, -one,
    ]
    edges = [v for v in edges if in_low <= v <= in_high]
    randoms = [0, all_ones, 1, one >> 1]
    pairs = [(v, r) for v in edges for r in randoms]
    for _ in range(200):
        if rng.random() < 0.5:   # near the output range, where rounding decides the result
            value = rng.randint(q_low - 2, q_high + 2) * one + rng.randint(0, all_ones)
            value = min(max(value, in_low), in_high)
        else:
            value = rng.randint(in_low, in_high)
        pairs.append((value, rng.randint(0, all_ones)))
    return pairs


def run_rounder(dut, pairs):
    """Drive (value, random) pairs through a rounder; return its (result, saturated) pairs."""
    outputs = []

    async def testbench(ctx):
        for value, random_bits in pairs:
            ctx.set(dut.value, value)
            ctx.set(dut.random, random_bits)
            outputs.append((ctx.get(dut.result), ctx.get(dut.saturated)))

    simulate(dut, testbench, clocked=False)
    return outputs


@pytest.mark.parametrize("config", CONFIGS)
def test_rounder_matches_golden(config):
    width, frac, bits = config.update_width, config.frac_bits, config.bits
    pairs = rounder_vectors(width, frac, bits, random.Random(width))
    outputs = run_rounder(StochasticRounder(in_width=width, frac_bits=frac, out_width=bits), pairs)
    values, randoms = zip(*pairs)
    results, saturated = golden_round(values, frac, randoms, bits)
    assert [r for r, _ in outputs] == results.tolist()
    assert [bool(s) for _, s in outputs] == saturated.tolist()
    low, high = int_range(bits)
    # The vectors reach both clamps and the unclamped range.
    assert {low, high} <= set(results[saturated].tolist()) and not saturated.all()


@pytest.mark.parametrize("in_width, frac_bits, out_width", [(3, 1, 2), (12, 8, 6), (40, 32, 8)])
def test_rounder_other_shapes(in_width, frac_bits, out_width):
    pairs = rounder_vectors(in_width, frac_bits, out_width, random.Random(in_width))
    dut = StochasticRounder(in_width=in_width, frac_bits=frac_bits, out_width=out_width)
    values, randoms = zip(*pairs)
    results, saturated = golden_round(values, frac_bits, randoms, out_width)
    assert run_rounder(dut, pairs) == list(zip(results.tolist(), saturated.astype(int).tolist()))


@pytest.mark.parametrize("kwargs, message", [
    (dict(in_width=1, frac_bits=1, out_width=2), "in_width"),
    (dict(in_width=8, frac_bits=0, out_width=2), "frac_bits"),
    (dict(in_width=8, frac_bits=33, out_width=2), "frac_bits"),
    (dict(in_width=8, frac_bits=2, out_width=9), "out_width"),
    (dict(in_width=8.0, frac_bits=2, out_width=4), "in_width"),
])
@pytest.mark.usefixtures("discards_elaboratables")
def test_rounder_rejects_bad_parameters(kwargs, message):
    with pytest.raises(HalpInputError, match=message):
        StochasticRounder(**kwargs)


@pytest.mark.parametrize("name, value", [
    ("bits", 1), ("bits", 17), ("data_bits", 1), ("data_bits", 17), ("frac_bits", 0),
    ("frac_bits", 25), ("lanes", 0), ("lanes", 65), ("d_max", 0), ("n_max", 2**24 + 1), ("bits", 8.5),
])
def test_block_parameters_outside_the_supported_range_are_rejected(name, value):
    # Every block takes its widths from a HardwareConfig, which validates them on construction.
    with pytest.raises(HalpInputError, match=f"^{name} must be an integer in .*{value}$"):
        HardwareConfig(**{name: value})


# -- Xorshift32 ----------------------------------------------------------------------------------

def prng_schedule(rng, cycles):
    """Per-cycle (seed, load, advance): mostly advancing, with idles, reloads and load+advance."""
    schedule = []
    for cycle in range(cycles):
        load = cycle == 0 or rng.random() < 0.08
        schedule.append((rng.getrandbits(32), load, rng.random() < 0.8))
    return schedule


def run_prng(dut, schedule):
    """Drive a schedule; return (state, next_state) before each cycle's edge, and at the end."""
    seen = []

    async def testbench(ctx):
        for seed, load, advance in schedule:
            ctx.set(dut.seed, seed)
            ctx.set(dut.load, load)
            ctx.set(dut.advance, advance)
            seen.append((ctx.get(dut.state), ctx.get(dut.next_state)))
            await ctx.tick()
        seen.append((ctx.get(dut.state), ctx.get(dut.next_state)))

    simulate(dut, testbench)
    return seen


def golden_prng_states(stream, schedule):
    """The states the golden stream goes through under a schedule (load wins over advance)."""
    state = stream_seed(0, stream)
    states = [state]
    for seed, load, advance in schedule:
        state = stream_seed(seed, stream) if load else xorshift32(state) if advance else state
        states.append(state)
    return states


@pytest.mark.parametrize("stream", [SAMPLE_STREAM, lane_stream(0), lane_stream(63)])
def test_xorshift32_matches_golden_stream(stream):
    schedule = prng_schedule(random.Random(stream), 300)
    schedule[5] = (stream_key(stream), True, True)   # seed ^ key == 0: the key is loaded instead
    schedule[9] = (0xFFFFFFFF, True, False)
    seen = run_prng(Xorshift32(stream=stream), schedule)
    expected = golden_prng_states(stream, schedule)
    assert [state for state, _ in seen] == expected
    assert [nxt for _, nxt in seen] == [xorshift32(state) for state in expected]
    assert expected[6] == stream_key(stream)


def test_xorshift32_resets_to_seed_zero_state():
    seen = run_prng(Xorshift32(stream=7), [(123, False, False)])
    assert seen[0][0] == stream_seed(0, 7)


@pytest.mark.usefixtures("discards_elaboratables")
@pytest.mark.parametrize("stream", [-1, MASK + 1, "1", None])
def test_xorshift32_rejects_bad_stream(stream):
    with pytest.raises(HalpInputError, match="stream"):
        Xorshift32(stream=stream)


# -- MaccLane and VectorUnit: shared stimulus ---------------------------------------------------

def draw(rng, width, typical=None):
    """A signed ``width``-bit value: an extreme (20 %), a typical magnitude (40 %), or any."""
    low, high = int_range(width)
    roll = rng.random()
    if roll < 0.2:
        return rng.choice([low, high])
    if typical is not None and roll < 0.6:
        return rng.randint(-min(typical, high), min(typical, high))
    return rng.randint(low, high)


def draw_operands(config, rng):
    """x_cur, x_next, z, grad and coef of one feature; typical sizes keep z mostly in range."""
    cfg = config
    return dict(
        x_cur=draw(rng, cfg.data_bits), x_next=draw(rng, cfg.data_bits), z=draw(rng, cfg.bits),
        grad=draw(rng, cfg.grad_width, 1 << (cfg.bits + cfg.frac_bits - 2)),
        coef=draw(rng, cfg.coef_width, 1 << max(0, cfg.bits + cfg.frac_bits - cfg.data_bits)),
    )


def golden_update(config, x_cur, z, grad, coef, random_bits):
    """The golden z update of ``AcceleratorModel.step`` for given operands: (z_new, saturated)."""
    z, x_cur, grad = (np.asarray(a, dtype=np.int64) for a in (z, x_cur, grad))
    v = (z << config.frac_bits) - x_cur * coef - grad
    return golden_round(v, config.frac_bits, random_bits, config.bits)


# -- MaccLane ------------------------------------------------------------------------------------

LANE_PORTS = ("valid", "active", "x_cur", "x_next", "z", "grad", "coef")


def lane_beats(config, rng, count):
    """Per-cycle lane inputs: mostly valid beats, some masked, some bubbles."""
    return [dict(valid=rng.random() < 0.85, active=rng.random() < 0.8, **draw_operands(config, rng))
            for _ in range(count)]


def run_lane(dut, seed, beats):
    """Load the PRNG, then drive one beat per cycle; return the outputs after each beat's edge."""
    outputs = []

    async def testbench(ctx):
        ctx.set(dut.seed, seed)
        ctx.set(dut.load, 1)
        await ctx.tick()
        ctx.set(dut.load, 0)
        for beat in beats + [dict(valid=0)] * 4:
            for port, value in beat.items():
                ctx.set(getattr(dut, port), value)
            await ctx.tick()
            outputs.append((ctx.get(dut.z_new), ctx.get(dut.saturated), ctx.get(dut.product)))

    simulate(dut, testbench)
    return outputs


def golden_lane(config, lane, seed, beats):
    """(beat index, z_new, saturated, product) of every valid beat, from the golden arithmetic."""
    state = stream_seed(seed, lane_stream(lane))
    expected = []
    for index, beat in enumerate(beats):
        if not beat["valid"]:
            continue
        state = xorshift32(state)
        random_bits = state >> (STATE_BITS - config.frac_bits)
        z_new, saturated = golden_update(config, beat["x_cur"], beat["z"], beat["grad"],
                                         beat["coef"], random_bits)
        z_new, saturated = (int(z_new), bool(saturated)) if beat["active"] else (0, False)
        expected.append((index, z_new, saturated, beat["x_next"] * z_new))
    return expected


def check_lane(config, lane, fault=None, count=120):
    """Compare a lane with the golden arithmetic; return how many valid beats saturated."""
    rng = random.Random(lane * 7919 + config.bits)
    beats = lane_beats(config, rng, count)
    seed = rng.getrandbits(32)
    with injected(fault):
        outputs = run_lane(MaccLane(config=config, lane=lane), seed, beats)
    expected = golden_lane(config, lane, seed, beats)
    # Spec timing: z_new and saturated after 3 registers, product after 4 (from the read stage).
    assert [(i, outputs[i + 2][0], bool(outputs[i + 2][1]), outputs[i + 3][2])
            for i, *_ in expected] == expected
    return sum(saturated for _, _, saturated, _ in expected)


@pytest.mark.parametrize("config", CONFIGS)
def test_lane_matches_golden(config):
    for lane in sorted({0, config.lanes - 1}):
        saturations = check_lane(config, lane)
        assert saturations > 0   # the stimulus reaches the clamp


@pytest.mark.parametrize("kwargs, message", [
    (dict(config=HardwareConfig(lanes=4), lane=4), "lane"),
    (dict(config=HardwareConfig(lanes=4), lane=-1), "lane"),
    (dict(config=dict(lanes=4), lane=0), "config"),
])
@pytest.mark.usefixtures("discards_elaboratables")
def test_lane_rejects_bad_parameters(kwargs, message):
    with pytest.raises(HalpInputError, match=message):
        MaccLane(**kwargs)


# -- VectorUnit ----------------------------------------------------------------------------------

def golden_pass(config, lane_random, x_cur, x_next, z, grad, coef):
    """One pass in golden arithmetic: z_new and saturated flags (d,), and x_next . z_new."""
    d = len(z)
    random_bits = lane_random.draw(config.beats(d)).reshape(-1)[:d]
    z_new, saturated = golden_update(config, x_cur, z, grad, coef, random_bits)
    return z_new, saturated, int(np.asarray(x_next, dtype=np.int64) @ z_new)


def random_pass(config, rng, d):
    """Operands of a pass on ``d`` features, drawn feature by feature (one coefficient)."""
    features = [draw_operands(config, rng) for _ in range(d)]
    operands = {name: [f[name] for f in features] for name in ("x_cur", "x_next", "z", "grad")}
    return dict(operands, coef=features[0]["coef"])


def corner_pass(config, d):
    """Every product at its most positive (-2**(bx-1) * -2**(b-1)): the dot's widest value."""
    x_low, z_low = int_range(config.data_bits)[0], int_range(config.bits)[0]
    return dict(x_cur=[x_low] * d, x_next=[x_low] * d, z=[z_low] * d, grad=[0] * d, coef=0)


def vector_cycles(config, seed, passes, gaps, rng):
    """Per-cycle VectorUnit inputs: a PRNG load, then each pass's beats followed by its gap.

    Lanes past ``d`` and idle cycles carry random junk: the mask and ``valid`` must hide it.
    """
    lanes = config.lanes
    width = {"x_cur": config.data_bits, "x_next": config.data_bits, "z": config.bits,
             "grad": config.grad_width}

    def junk():
        return dict(valid=0, first=rng.random() < 0.5, last=rng.random() < 0.5,
                    mask=rng.getrandbits(lanes), coef=draw(rng, config.coef_width),
                    **{name: [draw(rng, w) for _ in range(lanes)] for name, w in width.items()})

    cycles = [dict(junk(), seed=seed, load=1)]
    for operands, gap in zip(passes, gaps):
        d = len(operands["z"])
        beats = config.beats(d)
        for beat in range(beats):
            cycle = dict(junk(), load=0, valid=1, first=beat == 0, last=beat == beats - 1,
                         addr=beat, coef=operands["coef"],
                         mask=sum(1 << lane for lane in range(lanes) if beat * lanes + lane < d))
            for name in width:
                for lane, value in enumerate(operands[name][beat * lanes:(beat + 1) * lanes]):
                    cycle[name][lane] = value
            cycles.append(cycle)
        cycles.extend(dict(junk(), load=0) for _ in range(gap))
    return cycles + [dict(junk(), load=0) for _ in range(6 + config.tree_stages)]


def run_vector(dut, cycles):
    """Drive the cycles; return the outputs after each cycle's clock edge."""
    outputs = []
    names = ("z_valid", "z_addr", "saturations", "dot", "dot_valid")

    async def testbench(ctx):
        for cycle in cycles:
            for port, value in cycle.items():
                ctx.set(getattr(dut, port), value)
            await ctx.tick()
            outputs.append(dict({name: ctx.get(getattr(dut, name)) for name in names},
                                z_new=list(ctx.get(dut.z_new))))

    simulate(dut, testbench)
    return outputs


def check_vector(config, passes, expected, *, gaps, seed, fault=None):
    """Run whole passes through a VectorUnit and compare every beat and dot with ``expected``.

    ``expected`` holds (z_new, saturated, dot) per pass from the golden arithmetic.
    """
    rng = random.Random(seed)
    cycles = vector_cycles(config, seed, passes, gaps, rng)
    with injected(fault):
        outputs = run_vector(VectorUnit(config=config), cycles)
    lanes, tree = config.lanes, config.tree_stages
    beats = [(index, cycle) for index, cycle in enumerate(cycles) if cycle.get("valid")]
    # Spec timing (registers after the read stage): z_new 3, saturations 4, dot 5 + T.
    after = {name: [outputs[index + delay - 1] for index, _ in beats]
             for name, delay in (("z", 3), ("saturations", 4), ("dot", 5 + tree))}
    z_new = np.concatenate([z for z, _, _ in expected])
    saturated = np.concatenate([s for _, s, _ in expected])
    got_z, got_saturations, expected_saturations = [], [], []
    for number, ((_, cycle), out) in enumerate(zip(beats, after["z"])):
        assert out["z_valid"] == 1 and out["z_addr"] == cycle["addr"]
        got_z.extend(value for lane, value in enumerate(out["z_new"]) if cycle["mask"] >> lane & 1)
        assert all(value == 0 for lane, value in enumerate(out["z_new"])
                   if not cycle["mask"] >> lane & 1)
        got_saturations.append(after["saturations"][number]["saturations"])
    for z, s, _ in expected:
        for beat in range(config.beats(len(z))):
            expected_saturations.append(int(s[beat * lanes:(beat + 1) * lanes].sum()))
    assert got_z == z_new.tolist()
    assert got_saturations == expected_saturations
    # Nothing else: z_valid and saturations only on beats, dot_valid once per pass.
    assert sum(out["z_valid"] for out in outputs) == len(beats)
    assert sum(out["saturations"] for out in outputs) == int(saturated.sum())
    got_dots = [out["dot"] for out in outputs if out["dot_valid"]]
    assert got_dots == [dot for _, _, dot in expected]
    assert [after["dot"][n]["dot_valid"] for n, (_, c) in enumerate(beats) if c["last"]] == \
        [1] * len(expected)
    return int(saturated.sum())


def vector_passes(config, rng):
    """Random passes over several d (full words, a partial last word, one feature), and corners."""
    sizes = [config.d_max, max(1, config.d_max - 1), 1, rng.randint(1, config.d_max)]
    passes = [random_pass(config, rng, d) for d in sizes]
    passes.append(corner_pass(config, config.d_max))
    passes.append(random_pass(config, rng, config.d_max))
    return passes


@pytest.mark.parametrize("config", CONFIGS)
def test_vector_unit_matches_golden_passes(config):
    rng = random.Random(config.lanes)
    seed = rng.getrandbits(32)
    passes = vector_passes(config, rng)
    lane_random = LaneRandom(config.lanes, config.frac_bits, seed)
    expected = [golden_pass(config, lane_random, **operands) for operands in passes]
    gaps = [0, 3, 0, 1, 0, 2]   # back-to-back passes and bubbles
    assert check_vector(config, passes, expected, gaps=gaps, seed=seed) > 0


def halp_chain(config, steps, seed):
    """Passes of a real hardware-mode HALP epoch, and the AcceleratorModel's results for them.

    Pass t updates z for sample i_t with the coefficient of x_{i_t} . z and takes the dot of
    x_{i_{t+1}} with the new z, exactly as the core chains them.
    """
    rng = np.random.default_rng(seed)
    d = config.d_max - 1 if config.d_max % config.lanes == 0 else config.d_max
    X = rng.standard_normal((24, d))
    problem = LeastSquares(X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(24))
    host = HalpHost(problem, config, HardwareRun(step_size=0.2, mu=4.0, epoch_length=steps,
                                                 epochs=1, seed=seed))
    model = host.make_model()
    epoch = host.begin_epoch()
    model.load_gradient(epoch.grad_ints)
    model.recenter(epoch.exponent)
    order = SampleOrder(model.n, seed).take(steps + 1)
    lane_random = LaneRandom(config.lanes, config.frac_bits, seed)
    passes, expected = [], []
    for t in range(steps):
        z, saturations = model.z.copy(), model.saturations
        operands = dict(x_cur=model.x[order[t]], x_next=model.x[order[t + 1]], z=z,
                        grad=model.grad, coef=model.coefficient(int(model.x[order[t]] @ z)))
        assert model.step() == order[t]
        z_new, saturated, dot = golden_pass(config, lane_random, **operands)
        # The per-beat reference agrees with the golden accelerator model itself.
        assert z_new.tolist() == model.z.tolist()
        assert int(saturated.sum()) == model.saturations - saturations
        assert dot == int(model.x[order[t + 1]] @ model.z)
        passes.append({name: [int(v) for v in np.atleast_1d(value)] if name != "coef" else value
                       for name, value in operands.items()})
        expected.append((z_new, saturated, dot))
    return passes, expected


@pytest.mark.parametrize("config", CONFIGS)
def test_vector_unit_runs_a_halp_epoch(config):
    passes, expected = halp_chain(config, steps=6, seed=11)
    assert any(dot != 0 for _, _, dot in expected) and any(p["coef"] != 0 for p in passes)
    check_vector(config, passes, expected, gaps=[config.pipeline_latency] * len(passes), seed=11)


@pytest.mark.usefixtures("discards_elaboratables")
def test_vector_unit_rejects_bad_parameters():
    with pytest.raises(HalpInputError, match="config"):
        VectorUnit(config=None)


# -- StepCoefficient -----------------------------------------------------------------------------

def coefficient_cycles(config, rng, passes):
    """Per-cycle inputs: passes of 1..W beats with bubbles (whose flags are noise), the beat
    sums (extremes included) kept within dot_width, a mantissa per pass (1, max or any), clears
    between passes, some while a pass's last beat is still in the pipeline."""
    top = (1 << STEP_MANTISSA_BITS) - 1
    low, high = int_range(config.dot_width)

    def cycle(**values):
        noise = dict(beat_sum=draw(rng, config.beat_sum_width), beat_valid=0, clear=0,
                     beat_first=rng.random() < 0.5, beat_last=rng.random() < 0.5,
                     mantissa=rng.randint(1, top))
        return {**noise, **values}

    cycles = []
    for _ in range(passes):
        mantissa = rng.choice([1, top, rng.randint(1, top)])
        beats, running = rng.randint(1, config.words_per_row), 0
        for index in range(beats):
            while rng.random() < 0.2:
                cycles.append(cycle(mantissa=mantissa))
            value = min(max(draw(rng, config.beat_sum_width), low - running), high - running)
            running += value
            cycles.append(cycle(beat_sum=value, beat_valid=1, beat_first=index == 0,
                                beat_last=index == beats - 1, mantissa=mantissa))
        cycles += [cycle(clear=rng.random() < 0.15) for _ in range(rng.randint(0, 3))]
    return cycles


def golden_coefficients(config, cycles):
    """(coef, coef_valid) after each edge: AcceleratorModel.coefficient of each pass's exact
    dot product, three cycles after its last beat; a clear wins and cancels what is in flight."""
    models = {}

    def coefficient(dot, mantissa):
        if mantissa not in models:
            models[mantissa] = AcceleratorModel(config, np.zeros((1, 1)), mantissa, seed=0)
        return models[mantissa].coefficient(dot)

    ends, running = {}, 0
    for index, cycle in enumerate(cycles):
        if cycle["beat_valid"] and not cycle["clear"]:
            running = (0 if cycle["beat_first"] else running) + cycle["beat_sum"]
            if cycle["beat_last"]:
                ends[index] = (running, cycle["mantissa"])
    coef, expected = 0, []
    for index, cycle in enumerate(cycles):
        ended = index - 2 in ends and not cycles[index - 1]["clear"]
        valid = ended and not cycle["clear"]
        coef = 0 if cycle["clear"] else coefficient(*ends[index - 2]) if valid else coef
        expected.append((coef, int(valid)))
    return expected


@pytest.mark.parametrize("config", CONFIGS)
def test_step_coefficient_matches_golden(config):
    rng = random.Random(config.coef_width)
    top = (1 << STEP_MANTISSA_BITS) - 1
    low, high = int_range(config.dot_width)
    # the extremes of the dot product first: one-beat passes of dot_width's bounds
    cycles = [dict(beat_sum=value, beat_valid=1, beat_first=1, beat_last=1, clear=0,
                   mantissa=top) for value in (max(low, int_range(config.beat_sum_width)[0]),
                                               min(high, int_range(config.beat_sum_width)[1]))]
    cycles += coefficient_cycles(config, rng, 150)
    dut = StepCoefficient(config=config)
    outputs = []

    async def testbench(ctx):
        for cycle in cycles:
            for port, value in cycle.items():
                ctx.set(getattr(dut, port), value)
            await ctx.tick()
            outputs.append((ctx.get(dut.coef), ctx.get(dut.coef_valid)))

    simulate(dut, testbench)
    expected = golden_coefficients(config, cycles)
    assert outputs == expected
    assert sum(valid for _, valid in expected) > 100       # passes reach coef
    assert any(cycle["clear"] for cycle in cycles)
    bounds = int_range(config.coef_width)
    clamped = sum(coef in bounds for coef, valid in expected if valid)
    widest = config.dot_width + STEP_MANTISSA_BITS + 1 - STEP_SHIFT
    assert clamped > 0 or widest <= config.coef_width   # the clamp is reached where it can be


@pytest.mark.usefixtures("discards_elaboratables")
def test_step_coefficient_rejects_bad_config():
    with pytest.raises(HalpInputError, match="config"):
        StepCoefficient(config=8)


# -- the fault registry ----------------------------------------------------------------------------

def test_fault_registry_validates_names():
    assert all(check_fault(name) == name for name in FAULTS)
    assert check_fault(None) is None
    for name in ("rounder-drops-random", "saturation-off-by-one", "prng-wrong-shift",
                 "lane-drops-carry", "index-off-by-one"):
        assert name in FAULTS and FAULTS[name]
    with pytest.raises(HalpInputError, match="rounder-drops-random") as error:
        check_fault("rounder-drop-random")
    assert "\n" not in str(error.value)
    with pytest.raises(HalpInputError, match="fault"):
        check_fault(3)


def test_rounder_fault_is_caught():
    config = HardwareConfig(bits=4, frac_bits=4)
    width, frac, bits = config.update_width, config.frac_bits, config.bits
    pairs = rounder_vectors(width, frac, bits, random.Random(1))
    values, randoms = zip(*pairs)
    results, saturated = golden_round(values, frac, randoms, bits)
    expected = list(zip(results.tolist(), saturated.astype(int).tolist()))

    def outputs(fault):
        with injected(fault):
            return run_rounder(StochasticRounder(in_width=width, frac_bits=frac, out_width=bits),
                               pairs)

    assert outputs("prng-wrong-shift") == expected   # faults of other blocks change nothing here
    assert outputs("rounder-drops-random") == expected   # the lane's rounding bits, not here
    assert outputs("saturation-off-by-one") != expected
    assert outputs(None) == expected   # the variant is gone when the block is built again


def test_prng_fault_is_caught():
    schedule = prng_schedule(random.Random(2), 20)
    expected = golden_prng_states(3, schedule)
    def states(fault):
        with injected(fault):
            return [state for state, _ in run_prng(Xorshift32(stream=3), schedule)]

    assert states("lane-drops-carry") == expected   # not a PRNG fault: no effect
    assert states("prng-wrong-shift") != expected


@pytest.mark.parametrize("fault", ["lane-drops-carry", "rounder-drops-random", "prng-wrong-shift"])
def test_lane_faults_are_caught(fault):
    config = CONFIGS[1].values[0]
    check_lane(config, 0, fault="index-off-by-one", count=40)   # not a lane fault: no effect
    with pytest.raises(AssertionError):
        check_lane(config, 0, fault=fault, count=40)


@pytest.mark.parametrize("config", CONFIGS[1:])
def test_lane_drops_carry_shows_in_a_halp_epoch(config):
    passes, expected = halp_chain(config, steps=6, seed=11)
    with pytest.raises(AssertionError):
        check_vector(config, passes, expected, gaps=[0] * len(passes), seed=11,
                     fault="lane-drops-carry")
