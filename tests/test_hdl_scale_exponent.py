"""The RTL scale-exponent unit of the epoch on chip, bit for bit against the golden rule."""

import numpy as np
import pytest

from halp_hw.golden.full_gradient import Constant, PassWidths, scale_exponent
from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.validation import HalpInputError
from halp_hw.hdl.scale_exponent import ScaleExponentUnit

from stream_unit import stream_through

PREVIOUS = -3


def run_unit(config, bound: Constant, sums, ready_pattern):
    """Stream ``sums`` through the unit with ``bound``; returns the exponents and the cycle of
    the first one."""
    dut = ScaleExponentUnit(config=config)
    return stream_through(dut, [int(q) for q in sums], ready_pattern, constants=[
        (dut.bound_mantissa, bound.mantissa), (dut.bound_exponent, bound.exponent),
        (dut.previous, PREVIOUS)])


def sums_around(bound: Constant, width: int, rng) -> list:
    """Zero, the extremes, random values of every length, and ``K.m 2**k`` and its neighbours
    (the compare's boundary)."""
    values = {0, 1, (1 << width) - 1}
    for length in range(1, width + 1):
        values.add(int(rng.integers(0, 1 << min(length, 62))) << max(0, length - 62)
                   | (1 << (length - 1)))
    for shift in range(-31, width - 31, 3):
        exact = bound.mantissa << shift if shift >= 0 else bound.mantissa >> -shift
        values.update(v for v in (exact - 1, exact, exact + 1) if 0 <= v < 1 << width)
    return sorted(values)


@pytest.mark.parametrize("config", [HardwareConfig(lanes=8, d_max=100, n_max=1000),
                                    HardwareConfig(lanes=2, d_max=3, n_max=2, center_bits=16,
                                                   data_bits=2)])
@pytest.mark.parametrize("exponent", [-512, -60, 0, 74, 511])
def test_unit_equals_the_golden_rule(config, exponent):
    rng = np.random.default_rng(exponent & 0xFFFF)
    width = PassWidths.of(config).sum_of_squares_width
    bound = Constant(int(rng.integers(1 << 31, 1 << 32)), exponent)
    sums = sums_around(bound, width, rng)
    outputs, first = run_unit(config, bound, sums, lambda cycle: True)
    assert outputs == [scale_exponent(q, bound, PREVIOUS) for q in sums]
    assert first == 2  # the documented latency


def test_back_pressure_keeps_order_and_values():
    config = HardwareConfig(lanes=8, d_max=100, n_max=1000)
    bound = Constant(0xC0000000, 80)
    rng = np.random.default_rng(7)
    sums = sums_around(bound, PassWidths.of(config).sum_of_squares_width, rng)[:60]
    outputs, _ = run_unit(config, bound, sums, lambda cycle: cycle % 5 in (1, 3))
    assert outputs == [scale_exponent(q, bound, PREVIOUS) for q in sums]


@pytest.mark.usefixtures("discards_elaboratables")
def test_config_must_be_a_hardware_config():
    with pytest.raises(HalpInputError, match="config must be a halp_hw.golden.hardware"):
        ScaleExponentUnit(config={"lanes": 8})
