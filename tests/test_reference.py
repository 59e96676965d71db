"""The golden hardware mode checked on its own terms, not against the RTL.

The golden model and the constants the HDL imports from it (stream keys, widths,
``step_cycles``) sit on both sides of every RTL comparison, so a bug in them would pass those.
Here they meet hand-worked numbers from ``docs/numeric-contract.md`` and ``docs/datapath.md``
and a plain-integer reference written apart from the model (Python ints, ``//`` for the floor,
``min``/``max`` for the clamp; no numpy, no ``halp_hw.golden.fixedpoint``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from halp_hw.golden.hardware import (STEP_MANTISSA_BITS, STEP_SHIFT, AcceleratorModel,
                                     HalpHost, HardwareConfig, HardwareRun)
from halp_hw.golden.prng import (LaneRandom, SampleOrder, lane_stream, stream_key, stream_seed,
                                 xorshift32)
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.problems import LeastSquares


# -- the plain-integer reference ------------------------------------------------------------
def clamp(value: int, width: int) -> int:
    return min(max(value, -(1 << (width - 1))), (1 << (width - 1)) - 1)


def reference_coefficient(dot: int, mantissa: int, width: int | None) -> int:
    """nearest(dot m / 2**16), ties towards +inf, then clamped (unless ``width`` is None)."""
    c = (2 * dot * mantissa + 2 ** 16) // 2 ** 17
    return c if width is None else clamp(c, width)


def reference_update(z: int, x: int, c: int, grad: int, r: int, frac: int, bits: int) -> int:
    return clamp((z * 2 ** frac - x * c - grad + r) // 2 ** frac, bits)


# -- pinned constants, derived by hand --------------------------------------------------------
def test_contract_constants():
    assert (STEP_SHIFT, STEP_MANTISSA_BITS) == (16, 18)


def test_stream_keys_pinned():
    # key(k) = 0x9E3779B9 * (k + 1) mod 2**32: x2 = 0x13C6EF372, x3 = 0x1DAA66D2B
    assert [stream_key(k) for k in range(3)] == [0x9E3779B9, 0x3C6EF372, 0xDAA66D2B]
    assert [lane_stream(lane) for lane in range(3)] == [1, 2, 3]
    assert stream_seed(0, 0) == 0x9E3779B9
    assert stream_seed(0x0000FFFF, 1) == 0x3C6E0C8D          # 0x3C6EF372 ^ 0x0000FFFF
    assert stream_seed(0x9E3779B9, 0) == 0x9E3779B9          # seed ^ key = 0: the key itself
    assert stream_seed(0x3C6EF372, 1) == 0x3C6EF372


def test_xorshift32_pinned():
    # 1 ^ 1 << 13 = 0x2001; >> 17 adds nothing; 0x2001 ^ 0x2001 << 5 = 0x42021
    assert xorshift32(1) == 0x42021
    assert xorshift32(np.array([1], dtype=np.uint32))[0] == 0x42021
    # 0x80000000: << 13 drops out; ^ >> 17 = 0x80004000; ^ << 5 = 0x80004000 ^ 0x00080000
    assert xorshift32(0x80000000) == 0x80084000


def test_draws_use_the_advanced_state():
    order = SampleOrder(n=4, seed=0x9E3779B9)    # starts at state key(0) ^ seed = 0 -> key(0)
    state = xorshift32(0x9E3779B9)
    assert order.next() == (state * 4) >> 32
    lanes = LaneRandom(lanes=2, bits=4, seed=0)
    first = lanes.draw(1)[0]
    assert first.tolist() == [xorshift32(0x3C6EF372) >> 28, xorshift32(0xDAA66D2B) >> 28]


@pytest.mark.parametrize("config, widths", [
    # dot = bx + b - 1 + bit_length(d_max); coef = b + F + 3; grad = b + F + 1;
    # update = bx + coef + 1 (the table of docs/numeric-contract.md)
    (HardwareConfig(), (23, 27, 25, 36)),
    (HardwareConfig(bits=4, data_bits=4, lanes=1), (15, 23, 21, 28)),
    (HardwareConfig(bits=16, data_bits=16, frac_bits=24, lanes=16, d_max=4096), (44, 43, 41, 60)),
    (HardwareConfig(bits=2, data_bits=3, frac_bits=1, d_max=3), (6, 6, 4, 10)),
])
def test_widths_table_pinned(config, widths):
    assert (config.dot_width, config.coef_width, config.grad_width,
            config.update_width) == widths


@pytest.mark.parametrize("config, d, cycles", [
    # step_cycles(d) = ceil(d / L) + 6 + ceil(ceil(log2 L) / 2)   (docs/datapath.md)
    (HardwareConfig(lanes=8), 100, 13 + 6 + 2),
    (HardwareConfig(lanes=3, d_max=10), 10, 4 + 6 + 1),
    (HardwareConfig(lanes=1), 5, 5 + 6 + 0),
    (HardwareConfig(lanes=16), 33, 3 + 6 + 2),
    (HardwareConfig(lanes=64), 64, 1 + 6 + 3),
])
def test_step_cycles_pinned(config, d, cycles):
    assert config.step_cycles(d) == cycles


# -- a hand-worked inner loop ---------------------------------------------------------------
def state_drawing(top_bits: list, width: int) -> int:
    """A xorshift32 state whose next draws have these top ``width`` bits (None: any), found by
    search, so that the model runs on random bits chosen by hand."""
    for start in range(1, 1 << 20):
        state, matches = start, True
        for want in top_bits:
            state = xorshift32(state)
            if want is not None and state >> (32 - width) != want:
                matches = False
                break
        if matches:
            return start
    raise AssertionError(f"no state draws {top_bits}")


def test_hand_worked_steps():
    """b = bx = 3, F = 2, L = 2, d = 3, m = 1.5 * 2**16, fixed indices and random bits.

    step 1, i = 0, z = 0: dot 0, c = (0 + 2**15) >> 16 = 0; r = [3, 0, 2];
      v = -G + r = [5+3, -6+0, -9+2] = [8, -6, -7]; >> 2 = [2, -2, -2].
    step 2, i = 1, x = [2, 0, -1]: dot = 4 + 0 + 2 = 6, c = 9 (9.0 exactly); r = [1, 2, 3];
      v = [8 - 18 + 5 + 1, -8 - 0 - 6 + 2, -8 + 9 - 9 + 3] = [-4, -12, -5] -> [-1, -3, -2].
    step 3, i = 0, x = [1, -2, 3]: dot = -1 + 6 - 6 = -1, c = nearest(-1.5) = -1 (tie up);
      r = [0, 3, 1]; v = [-4 + 1 + 5 + 0, -12 - 2 - 6 + 3, -8 + 3 - 9 + 1] = [2, -17, -13]
      -> [0, -5, -4] -> clamp to 3 bits [0, -4, -4], one saturation.
    Cycles, on a memory that never makes a step wait: 3 steps * (2 beats + 6 + 1) = 27.
    Lane 0 draws features 0 and 2 of each step, lane 1 feature 1 and a discarded draw; the
    sample index (n = 2) is the top bit of the sample stream's state.
    """
    config = HardwareConfig(bits=3, data_bits=3, frac_bits=2, lanes=2, d_max=3, n_max=2)
    never_waits = MemoryTiming(latency=1, bytes_per_cycle=64)  # the steps are compute-bound
    model = AcceleratorModel(config, np.array([[1, -2, 3], [2, 0, -1]]), 3 << 15, seed=0,
                             memory=never_waits)
    model.order.state = state_drawing([0, 1, 0], 1)
    model.lane_random.state[:] = [state_drawing([3, 2, 1, 3, 0, 1], 2),
                                  state_drawing([0, None, 2, None, 3, None], 2)]
    model.load_gradient(np.array([-5, 6, 9]))
    model.recenter(0)
    expected = [[2, -2, -2], [-1, -3, -2], [0, -4, -4]]
    for index, want in zip([0, 1, 0], expected):
        assert model.step() == index
        assert model.z.tolist() == want
    model.count_run(3)  # as one run command of three steps: 3 x (2 beats + 7)
    assert (model.saturations, model.steps, model.cycles) == (1, 3, 27)


@pytest.mark.parametrize("dot, mantissa, c", [
    (1, 1 << 15, 1),            # 0.5 -> 1 (tie towards +inf)
    (-1, 1 << 15, 0),           # -0.5 -> 0
    (-3, 3 << 15, -4),          # -4.5 -> -4
    (5, (1 << 16) - 1, 5),      # 4.99992 -> 5
    (7, 1, 0),                  # 7 / 65536 -> 0
])
def test_coefficient_hand_worked(dot, mantissa, c):
    model = AcceleratorModel(HardwareConfig(), np.ones((1, 1), dtype=int), mantissa, seed=0)
    assert model.coefficient(dot) == c


# -- properties against the plain-integer reference -----------------------------------------
@st.composite
def builds(draw):
    bits = draw(st.integers(2, 16))
    return HardwareConfig(bits=bits, data_bits=draw(st.integers(2, 16)),
                          frac_bits=draw(st.integers(1, 24)), lanes=draw(st.integers(1, 16)),
                          d_max=draw(st.integers(1, 4096)))


def signed_int(data, width: int) -> int:
    return data.draw(st.integers(-(1 << (width - 1)), (1 << (width - 1)) - 1))


@settings(max_examples=300, deadline=None)
@given(config=builds(), data=st.data())
def test_coefficient_matches_reference(config, data):
    limit = config.d_max << (config.data_bits + config.bits - 2)   # |x . z| bound
    dot = data.draw(st.integers(-limit, limit))
    mantissa = data.draw(st.integers(1, (1 << STEP_MANTISSA_BITS) - 1))
    model = AcceleratorModel(config, np.zeros((1, 1), dtype=int), mantissa, seed=0)
    assert model.coefficient(dot) == reference_coefficient(dot, mantissa, config.coef_width)


@settings(max_examples=500, deadline=None)
@given(config=builds(), data=st.data())
def test_clamp_of_c_never_changes_z(config, data):
    """Any dot in range, any m: z from the clamped c equals z from the exact c."""
    b, bx, frac = config.bits, config.data_bits, config.frac_bits
    x, z = signed_int(data, bx), signed_int(data, b)
    grad, r = signed_int(data, config.grad_width), data.draw(st.integers(0, (1 << frac) - 1))
    # exact coefficients around the clamp bound and beyond (up to the contract's largest)
    largest = reference_coefficient(config.d_max << (bx + b - 2), (1 << 18) - 1, None)
    near = data.draw(st.integers(max(0, b + frac - 4), b + frac + 4))
    c = data.draw(st.one_of(st.integers(-largest, largest),
                            st.integers(1, 1 << frac).map(lambda k: (1 << near) + k)))
    c = c * data.draw(st.sampled_from([1, -1]))
    c = max(-largest, min(largest, c))
    exact = reference_update(z, x, c, grad, r, frac, b)
    assert reference_update(z, x, clamp(c, config.coef_width), grad, r, frac, b) == exact


@settings(max_examples=200, deadline=None)
@given(config=builds(), data=st.data())
def test_model_step_matches_reference(config, data):
    """One inner step of the model, with its own random bits, against the reference."""
    d = data.draw(st.integers(1, min(config.d_max, 24)))
    rows = [[signed_int(data, config.data_bits) for _ in range(d)] for _ in range(2)]
    mantissa = data.draw(st.integers(1, (1 << 18) - 1))
    model = AcceleratorModel(config, np.array(rows), mantissa, seed=data.draw(st.integers(0, 99)))
    grad = [signed_int(data, config.grad_width) for _ in range(d)]
    model.load_gradient(np.array(grad))
    z = [signed_int(data, config.bits) for _ in range(d)]
    model.z = np.array(z, dtype=np.int64)
    shadow = LaneRandom(config.lanes, config.frac_bits, 0)
    shadow.state = model.lane_random.state.copy()   # the draws themselves are pinned above
    order_state = model.order.state
    i = model.step()
    assert i == (xorshift32(order_state) * 2) >> 32
    r = shadow.draw(config.beats(d)).reshape(-1)[:d].tolist()
    c = reference_coefficient(sum(a * b for a, b in zip(rows[i], z)), mantissa, config.coef_width)
    want = [reference_update(z[j], rows[i][j], c, grad[j], r[j], config.frac_bits, config.bits)
            for j in range(d)]
    assert model.z.tolist() == want


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), mu_scale=st.floats(0.05, 50.0),
       step_fraction=st.floats(0.01, 0.999))
def test_gradient_memory_never_clamps_while_alpha_mu_below_1(seed, mu_scale, step_fraction):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((16, 4)) * rng.uniform(0.1, 10.0)
    problem = LeastSquares(X, rng.standard_normal(16))
    mu = mu_scale
    alpha = step_fraction / mu
    config = HardwareConfig(bits=4, data_bits=8, frac_bits=16, lanes=2, d_max=4, n_max=16)
    try:
        host = HalpHost(problem, config, HardwareRun(alpha, mu, 4, 1, seed))
    except Exception as error:  # the step mantissa does not fit this data scale: not the claim
        assert "step size" in str(error)
        return
    for _ in range(3):
        host.center = rng.standard_normal(4) * rng.uniform(0.0, 100.0)
        assert host.begin_epoch().grad_saturated == 0
