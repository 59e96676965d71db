"""Quantization, saturation and the integer primitives, checked against their definitions."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from halp_hw.golden.fixedpoint import (FixedFormat, Rounding, covering_exponent, int_range,
                                       saturate, shift_round)
from halp_hw.golden.validation import HalpInputError

bits_st = st.integers(2, 32)
exponent_st = st.integers(-20, 10)
values_st = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=20)


def power_of_two_format(bits, exponent):
    return FixedFormat.power_of_two(bits, exponent)


@settings(max_examples=200, deadline=None)
@given(bits=bits_st, exponent=exponent_st, values=values_st,
       rounding=st.sampled_from(list(Rounding)), seed=st.integers(0, 2**32 - 1))
def test_quantized_values_are_on_the_grid_and_inside_the_range(bits, exponent, values, rounding,
                                                               seed):
    fmt = power_of_two_format(bits, exponent)
    q = fmt.quantize(values, rounding, np.random.default_rng(seed))
    low, high = int_range(bits)
    assert q.ints.dtype == np.int64
    assert np.all((q.ints >= low) & (q.ints <= high))
    # On the grid: every represented value is an exact integer multiple of the scale.
    multiples = q.values / fmt.scale
    np.testing.assert_array_equal(multiples, np.round(multiples))
    np.testing.assert_array_equal(multiples, q.ints)


@settings(max_examples=200, deadline=None)
@given(bits=bits_st, exponent=exponent_st, values=values_st,
       rounding=st.sampled_from(list(Rounding)), seed=st.integers(0, 2**32 - 1))
def test_saturations_are_counted_and_inside_values_stay_close(bits, exponent, values, rounding,
                                                              seed):
    fmt = power_of_two_format(bits, exponent)
    x = np.asarray(values)
    q = fmt.quantize(x, rounding, np.random.default_rng(seed))
    # Values beyond the last grid point by a full step must clamp; values strictly between
    # the end points by a full step must not.
    low, high = fmt.qmin * fmt.scale, fmt.qmax * fmt.scale
    outside = (x > high + fmt.scale) | (x < low - fmt.scale)
    inside = (x >= low + fmt.scale) & (x <= high - fmt.scale)
    assert q.saturated >= int(outside.sum())
    assert q.saturated <= x.size - int(inside.sum())
    np.testing.assert_array_equal(q.ints[x > high + fmt.scale], fmt.qmax)
    np.testing.assert_array_equal(q.ints[x < low - fmt.scale], fmt.qmin)
    error = np.abs(q.values - x)[inside]
    bound = 0.5 * fmt.scale if Rounding(rounding) is Rounding.NEAREST else fmt.scale
    assert np.all(error <= bound)


def test_saturation_count_is_exact():
    fmt = FixedFormat(4, 0.5)  # grid -4 .. 3.5
    q = fmt.quantize([-10.0, -4.0, -4.2, 3.5, 3.7, 3.76, 100.0, 0.0], Rounding.NEAREST)
    # -4.2 -> -8.4 -> -8 (in range); 3.7 -> 7.4 -> 7; 3.76 -> 7.52 -> 8 clamps; -10, 100 clamp.
    assert q.ints.tolist() == [-8, -8, -8, 7, 7, 7, 7, 0]
    assert q.saturated == 3


@settings(max_examples=100, deadline=None)
@given(bits=st.integers(3, 32), exponent=exponent_st, k=st.integers(-(2**20), 2**20))
def test_nearest_rounding_ties_go_towards_plus_infinity(bits, exponent, k):
    """The documented tie rule: ``x = (k + 1/2) delta`` rounds to ``(k + 1) delta``."""
    fmt = power_of_two_format(bits, exponent)
    low, high = int_range(bits)
    k = min(max(k, low), high - 1)  # both neighbours on the grid
    q = fmt.quantize([(k + 0.5) * fmt.scale], Rounding.NEAREST)
    assert q.ints[0] == k + 1
    assert q.saturated == 0


def test_nearest_rounding_tie_examples_from_the_docstring():
    fmt = FixedFormat(8, 0.25)
    assert fmt.quantize([0.125, -0.125, 0.375, -0.375], "nearest").ints.tolist() == [1, 0, 2, -1]


def mean_rounding_bias(quantize, x, scale, draws):
    """Mean of ``Q(x) - x`` over ``draws`` independent roundings, in units of the scale."""
    return float(np.mean(quantize(np.full(draws, x))) - x) / scale


DRAWS = 40_000
#: Six standard deviations of a mean of ``DRAWS`` values in {floor, floor + 1} (variance <= 1/4).
BIAS_BOUND = 6 * 0.5 / math.sqrt(DRAWS)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(bits=st.integers(4, 16), fraction=st.floats(0.0, 1.0, exclude_max=True),
       k=st.integers(-6, 5))
def test_stochastic_rounding_is_unbiased_inside_the_range(bits, fraction, k):
    fmt = FixedFormat(bits, 0.375)
    rng = np.random.default_rng(1234)
    x = (k + fraction) * fmt.scale
    bias = mean_rounding_bias(
        lambda v: fmt.quantize(v, Rounding.STOCHASTIC, rng).values, x, fmt.scale, DRAWS)
    assert abs(bias) <= BIAS_BOUND


@pytest.mark.parametrize("offset_shift", [0.03, -0.03])
def test_the_bias_bound_rejects_a_biased_rounder(offset_shift):
    """The statistic above can fail: a rounder whose u is off by 3% of a step is caught."""
    fmt = FixedFormat(8, 0.375)
    rng = np.random.default_rng(1234)

    def biased(values):
        u = np.clip(rng.random(values.shape) + offset_shift, 0.0, 1.0 - 1e-12)
        return np.floor(values / fmt.scale + u) * fmt.scale

    bias = mean_rounding_bias(biased, 0.5 * fmt.scale, fmt.scale, DRAWS)
    assert abs(bias) > BIAS_BOUND


def test_nearest_rounding_is_biased_where_stochastic_is_not():
    fmt = FixedFormat(8, 1.0)
    x = 0.3
    assert mean_rounding_bias(lambda v: fmt.quantize(v, "nearest").values, x, 1.0, 100) \
        == pytest.approx(-0.3)


def test_stochastic_rounding_needs_a_generator():
    with pytest.raises(HalpInputError, match="rng"):
        FixedFormat(8, 1.0).quantize([0.5], Rounding.STOCHASTIC)


@pytest.mark.parametrize("bits, scale, message", [
    (1, 1.0, r"bits must be an integer in 2\.\.62, not 1"),
    (63, 1.0, r"bits must be an integer in 2\.\.62, not 63"),
    (8, 0.0, r"scale must be a finite number > 0, not 0\.0"),
    (8, -1.0, r"scale must be a finite number > 0, not -1\.0"),
    (8, float("nan"), r"scale must be a finite number > 0, not nan"),
])
def test_format_rejects_bad_parameters(bits, scale, message):
    with pytest.raises(HalpInputError, match=message):
        FixedFormat(bits, scale)


@settings(max_examples=200, deadline=None)
@given(bits=st.integers(2, 40), values=st.lists(st.integers(-(2**45), 2**45), min_size=1))
def test_saturate_matches_its_definition(bits, values):
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    clamped, count = saturate(np.array(values), bits)
    assert clamped.tolist() == [min(max(v, low), high) for v in values]
    assert count == sum(v < low or v > high for v in values)


@settings(max_examples=200, deadline=None)
@given(frac_bits=st.integers(1, 24), values=st.lists(st.integers(-(2**40), 2**40), min_size=1),
       data=st.data())
def test_shift_round_is_floor_of_a_sum(frac_bits, values, data):
    addends = data.draw(st.lists(st.integers(0, 2**frac_bits - 1), min_size=len(values),
                                 max_size=len(values)))
    result = shift_round(np.array(values), frac_bits, np.array(addends))
    assert result.tolist() == [(v + a) // 2**frac_bits for v, a in zip(values, addends)]


@settings(max_examples=100, deadline=None)
@given(frac_bits=st.integers(1, 20), bits=st.integers(32, 40),
       value=st.integers(-(2**30), 2**30))
def test_shift_round_with_half_addend_is_nearest_rounding(frac_bits, bits, value):
    """The hardware's nearest rounding equals FixedFormat's on the power-of-two grid."""
    hardware = shift_round(np.array([value]), frac_bits, 1 << (frac_bits - 1))[0]
    fmt = FixedFormat.power_of_two(bits, 0)
    assert hardware == fmt.quantize([value / 2**frac_bits], Rounding.NEAREST).ints[0]


@settings(max_examples=200, deadline=None)
@given(radius=st.floats(1e-12, 1e12), bits=st.integers(2, 32))
def test_covering_exponent_is_the_smallest_covering_power_of_two(radius, bits):
    qmax = int_range(bits)[1]
    exponent = covering_exponent(radius, bits)
    assert math.ldexp(qmax, exponent) >= radius
    assert math.ldexp(qmax, exponent - 1) < radius
