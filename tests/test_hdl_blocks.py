"""The leaf HDL blocks in Amaranth's simulator against the golden hardware arithmetic, bit for bit.

Every expected value comes from ``golden/`` (``fixedpoint``, ``prng``, ``hardware``); pipeline
latencies come from the spec table in ``docs/datapath.md``.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.fixedpoint import int_range, saturate, shift_round
from golden.hardware import HardwareConfig
from golden.prng import MASK, SAMPLE_STREAM, lane_stream, stream_key, stream_seed, xorshift32
from golden.validation import HalpInputError
from halp_hw.hdl import FAULTS, StochasticRounder, Xorshift32, check_fault

#: Builds covering the width extremes: narrowest and widest z, few and many fraction bits.
CONFIGS = [
    pytest.param(HardwareConfig(bits=2, data_bits=2, frac_bits=1, lanes=1, d_max=4), id="b2-x2-f1-l1"),
    pytest.param(HardwareConfig(bits=8, data_bits=8, frac_bits=4, lanes=3, d_max=16), id="b8-x8-f4-l3"),
    pytest.param(HardwareConfig(bits=16, data_bits=16, frac_bits=24, lanes=8, d_max=32), id="b16-x16-f24-l8"),
]

# A constructor that raises leaves a half-built Elaboratable that Amaranth warns about when collected.
pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


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
    assert 0 < saturated.sum() < len(pairs)   # the vectors reach both regimes


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
    (dict(in_width=8, frac_bits=2, out_width=4, fault="no-such-fault"), "fault"),
])
def test_rounder_rejects_bad_parameters(kwargs, message):
    with pytest.raises(HalpInputError, match=message):
        StochasticRounder(**kwargs)


# -- Xorshift32 ----------------------------------------------------------------------------------

def prng_schedule(rng, cycles):
    """Per-cycle (seed, load, advance): mostly advancing, with idles, reloads and load+advance."""
    schedule = []
    for cycle in range(cycles):
        load = cycle == 0 or rng.random() < 0.08
        schedule.append((rng.getrandbits(32), load, rng.random() < 0.8))
    return schedule


def run_prng(dut, schedule):
    """Drive a schedule; return (state, next_state) seen before each cycle's edge and the last state."""
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


@pytest.mark.parametrize("stream", [-1, MASK + 1, "1", None])
def test_xorshift32_rejects_bad_stream(stream):
    with pytest.raises(HalpInputError, match="stream"):
        Xorshift32(stream=stream)


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


@pytest.mark.parametrize("fault", ["rounder-drops-random", "saturation-off-by-one"])
def test_rounder_faults_are_caught(fault):
    config = HardwareConfig(bits=4, frac_bits=4)
    width, frac, bits = config.update_width, config.frac_bits, config.bits
    pairs = rounder_vectors(width, frac, bits, random.Random(1))
    values, randoms = zip(*pairs)
    results, saturated = golden_round(values, frac, randoms, bits)
    broken = StochasticRounder(in_width=width, frac_bits=frac, out_width=bits, fault=fault)
    healthy = StochasticRounder(in_width=width, frac_bits=frac, out_width=bits, fault="prng-wrong-shift")
    expected = list(zip(results.tolist(), saturated.astype(int).tolist()))
    assert run_rounder(healthy, pairs) == expected   # faults of other blocks change nothing here
    assert run_rounder(broken, pairs) != expected


def test_prng_fault_is_caught():
    schedule = prng_schedule(random.Random(2), 20)
    expected = golden_prng_states(3, schedule)
    assert [s for s, _ in run_prng(Xorshift32(stream=3, fault="lane-drops-carry"), schedule)] == expected
    assert [s for s, _ in run_prng(Xorshift32(stream=3, fault="prng-wrong-shift"), schedule)] != expected
