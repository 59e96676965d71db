"""The fixed-point sigmoid: its error over every input, and the RTL unit bit for bit against it."""

import math

import numpy as np
import pytest

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.sigmoid import fixed_sigmoid, sigmoid_error, sigmoid_table
from halp_hw.golden.validation import HalpInputError
from halp_hw.hdl.sigmoid import SigmoidUnit

from stream_unit import stream_through

#: The maximum error of the default unit that docs/numeric-contract.md states.
DOCUMENTED_MAX_ERROR = 5.8e-5

SMALL = HardwareConfig(sigmoid_in_bits=10, sigmoid_in_frac=6, sigmoid_out_bits=9,
                       sigmoid_table_bits=4)


def spec_sigmoid(a: int, config: HardwareConfig) -> int:
    """The contract's steps for one input, in Python integers and ``math.exp``."""
    in_bits, out_bits = config.sigmoid_in_bits, config.sigmoid_out_bits
    shift = in_bits - 1 - config.sigmoid_table_bits

    def knot(k):
        value = 1.0 / (1.0 + math.exp(-k * 2.0 ** (shift - config.sigmoid_in_frac)))
        return min(math.floor(value * 2**out_bits + 0.5), 2**out_bits - 1)

    magnitude = min(abs(a), 2 ** (in_bits - 1) - 1)
    k, t = magnitude >> shift, magnitude & ((1 << shift) - 1)
    p = knot(k) + (((knot(k + 1) - knot(k)) * t + (1 << (shift - 1))) >> shift)
    return p if a >= 0 else 2**out_bits - p


def every_input(config):
    top = 2 ** (config.sigmoid_in_bits - 1)
    return np.arange(-top, top, dtype=np.int64)


@pytest.mark.parametrize("config", [HardwareConfig(), SMALL], ids=["default", "small"])
def test_golden_sigmoid_follows_the_contract_for_every_input(config):
    inputs = every_input(config)
    expected = [spec_sigmoid(int(a), config) for a in inputs]
    np.testing.assert_array_equal(fixed_sigmoid(inputs, config), expected)


def test_default_sigmoid_error_over_every_input_is_the_documented_bound():
    config = HardwareConfig()
    inputs = every_input(config)
    exact = 1.0 / (1.0 + np.exp(-inputs / 2.0**config.sigmoid_in_frac))
    error = np.abs(fixed_sigmoid(inputs, config) / 2.0**config.sigmoid_out_bits - exact)
    assert error.max() <= DOCUMENTED_MAX_ERROR
    assert error.max() > 0.8 * DOCUMENTED_MAX_ERROR  # the bound is tight, not loose
    assert sigmoid_error(config)[0] == error.max()


def test_sigmoid_is_monotone_symmetric_and_in_range():
    config = HardwareConfig()
    inputs = every_input(config)
    y = fixed_sigmoid(inputs, config)
    assert np.all(np.diff(y) >= 0)
    assert y.min() >= 0 and y.max() <= 2**config.sigmoid_out_bits - 1
    inside = inputs[1:]  # -2**(I-1) has no positive twin: its magnitude saturates
    np.testing.assert_array_equal(fixed_sigmoid(inside, config) + fixed_sigmoid(-inside, config),
                                  np.where(inside == 0, 2 * y[inputs == 0], 2**16))
    assert fixed_sigmoid([0], config)[0] == 2**15


def test_more_table_bits_give_a_smaller_error():
    errors = [sigmoid_error(HardwareConfig(sigmoid_table_bits=bits))[0] for bits in (5, 6, 7, 8)]
    assert errors == sorted(errors, reverse=True)
    assert errors[0] > 4 * errors[-1]


def test_golden_sigmoid_rejects_inputs_outside_its_width():
    with pytest.raises(ValueError, match="outside the signed 16-bit range"):
        fixed_sigmoid([2**15], HardwareConfig())


@pytest.mark.parametrize("field, value, message", [
    ("sigmoid_in_bits", 3, "sigmoid_in_bits must be an integer in 4..24, not 3"),
    ("sigmoid_in_frac", 15, "sigmoid_in_frac must be an integer in 0..14, not 15"),
    ("sigmoid_out_bits", 25, "sigmoid_out_bits must be an integer in 4..24, not 25"),
    ("sigmoid_table_bits", 0, "sigmoid_table_bits must be an integer in 1..14, not 0"),
])
def test_sigmoid_widths_are_validated(field, value, message):
    with pytest.raises(HalpInputError, match=message):
        HardwareConfig(**{field: value})


@pytest.mark.usefixtures("discards_elaboratables")
def test_unit_rejects_a_config_of_the_wrong_type():
    with pytest.raises(HalpInputError, match="config must be a halp_hw.golden.hardware"):
        SigmoidUnit(config={"sigmoid_in_bits": 16})


def run_unit(config, inputs, ready_pattern):
    """Stream ``inputs`` through the unit; ``ready_pattern(cycle)`` drives ``o.ready``.

    Returns the outputs in order and the cycle of the first output.
    """
    outputs, first = stream_through(SigmoidUnit(config=config), [int(a) for a in inputs],
                                    ready_pattern)
    return np.array(outputs), first


def test_unit_equals_the_golden_sigmoid_for_every_input_at_full_rate():
    config = HardwareConfig()
    inputs = every_input(config)
    outputs, first = run_unit(config, inputs, lambda cycle: True)
    np.testing.assert_array_equal(outputs, fixed_sigmoid(inputs, config))
    assert first == 5  # the documented latency


@pytest.mark.parametrize("config", [HardwareConfig(), SMALL], ids=["default", "small"])
def test_unit_keeps_order_and_values_under_back_pressure(config):
    rng = np.random.default_rng(0)
    top = 2 ** (config.sigmoid_in_bits - 1)
    inputs = np.concatenate([[-top, top - 1, 0, -1, 1], rng.integers(-top, top, 300)])
    stalls = rng.random(2000) < 0.4
    outputs, _ = run_unit(config, inputs, lambda cycle: not stalls[cycle])
    np.testing.assert_array_equal(outputs, fixed_sigmoid(inputs, config))


def test_small_unit_equals_the_golden_sigmoid_for_every_input():
    inputs = every_input(SMALL)
    outputs, _ = run_unit(SMALL, inputs, lambda cycle: True)
    np.testing.assert_array_equal(outputs, fixed_sigmoid(inputs, SMALL))
    assert sigmoid_table(SMALL).base.size == 16


def test_fixed_sigmoid_logistic_keeps_the_exact_optimum_and_only_its_derivatives_change():
    from halp_hw.golden.data import synthetic_logreg
    from halp_hw.golden.sigmoid import FixedSigmoidLogistic
    from halp_hw.golden.solvers import epochs_to_reach, make_solvers

    exact = synthetic_logreg(n=200, d=10, seed=1, l2=0.01)
    table = FixedSigmoidLogistic(exact.X, exact.y, exact.l2)
    w = np.random.default_rng(0).standard_normal(exact.d)
    np.testing.assert_array_equal(table.full_gradient(w), exact.full_gradient(w))
    np.testing.assert_array_equal(table.optimum, exact.optimum)
    margins = exact.X @ w
    inputs = np.clip(np.floor(margins * 2.0**11 + 0.5), -2**15, 2**15 - 1)
    expected = fixed_sigmoid(inputs.astype(np.int64), HardwareConfig()) / 2.0**16 - exact.y
    np.testing.assert_array_equal(table.residual(margins, slice(None)), expected)
    assert np.max(np.abs(table.residual(margins, slice(None))
                         - exact.residual(margins, slice(None)))) <= DOCUMENTED_MAX_ERROR + 2**-12
    trace = make_solvers(table, bits=8)["halp"].run(table, 12, seed=0)
    assert epochs_to_reach(trace, 1e-8) is not None  # the host's exact gradient: true optimum


def test_a_wrong_table_entry_is_a_fault_of_the_registry(monkeypatch):
    """The fault mechanism reaches the table: one entry of ``FAULTS`` replacing the function
    the unit builds its ROM with, by one returning the table with entry 5 one LSB high, makes
    the unit differ from the golden sigmoid exactly in segment 5 (and the golden model, which
    reads the table through its own name, stays right)."""
    from dataclasses import replace

    from halp_hw.testbenches.faults import FAULTS, Fault, injected

    def entry_one_high(original):
        def table(config):
            correct = original(config)
            base = correct.base.copy()
            base[5] += 1
            return replace(correct, base=base)
        return table

    monkeypatch.setitem(FAULTS, "sigmoid-table-entry", Fault(
        "the sigmoid ROM's base[5] one LSB high", "halp_hw.hdl.sigmoid.sigmoid_table",
        entry_one_high))
    inputs = every_input(SMALL)
    with injected("sigmoid-table-entry"):
        outputs, _ = run_unit(SMALL, inputs, lambda cycle: True)
    wrong = np.flatnonzero(outputs != fixed_sigmoid(inputs, SMALL))
    segment = (np.abs(inputs) >> sigmoid_table(SMALL).shift)
    assert wrong.size > 0 and set(segment[wrong]) == {5}


def test_the_sigmoid_table_fault_is_caught_by_the_comparison_with_the_golden_unit():
    from halp_hw.testbenches.faults import injected

    """The ``sigmoid-table`` fault (every rise one LSB low) changes outputs that the
    comparison above catches, while the inputs on segment boundaries (position 0) still agree."""
    config = HardwareConfig()
    inputs = np.arange(-4096, 4096, 37, dtype=np.int64)
    with injected("sigmoid-table"):
        outputs, _ = run_unit(config, inputs, lambda cycle: True)
    expected = fixed_sigmoid(inputs, config)
    shift = config.sigmoid_in_bits - 1 - config.sigmoid_table_bits
    on_knots = (np.abs(inputs) & ((1 << shift) - 1)) == 0
    assert np.array_equal(outputs[on_knots], expected[on_knots])
    assert np.count_nonzero(outputs != expected) > inputs.size // 4
