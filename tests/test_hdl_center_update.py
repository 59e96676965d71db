"""The RTL center-update unit of the epoch on chip, bit for bit against the golden update."""

import numpy as np
import pytest

from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.full_gradient import update_center
from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.validation import HalpInputError
from halp_hw.hdl.center_update import CenterUpdateUnit

from stream_unit import stream_through

CONFIG = HardwareConfig(bits=4, lanes=3, center_bits=16, d_max=6, n_max=2)


def run_unit(config, shift, words, ready_pattern):
    """Stream ``words`` of (z lanes, center lanes); returns (center lanes, saturations) per word
    and the cycle of the first."""
    dut = CenterUpdateUnit(config=config)

    def read(ctx, payload):
        value = ctx.get(payload)
        return [int(v) for v in value.center], int(value.saturations)

    payloads = [{"z": list(z), "center": list(center)} for z, center in words]
    return stream_through(dut, payloads, ready_pattern, constants=[(dut.shift, shift)], read=read)


def random_words(config, count, rng):
    z_low, z_high = int_range(config.bits)
    c_low, c_high = int_range(config.center_bits)
    extremes_z = [z_low, z_high, 0, 1, -1]
    extremes_c = [c_low, c_high, 0, c_high - 3, c_low + 3]
    words = []
    for k in range(count):
        if k < 25:
            z = [extremes_z[(k + lane) % 5] for lane in range(config.lanes)]
            center = [extremes_c[(k // 5 + lane) % 5] for lane in range(config.lanes)]
        else:
            z = rng.integers(z_low, z_high + 1, config.lanes).tolist()
            center = rng.integers(c_low, c_high + 1, config.lanes).tolist()
        words.append((z, center))
    return words


@pytest.mark.parametrize("shift", [-40, -16, -15, -3, -1, 0, 1, 2, 3, 4, 5, 30])
def test_unit_equals_the_golden_update(shift):
    rng = np.random.default_rng(shift + 100)
    words = random_words(CONFIG, 60, rng)
    outputs, first = run_unit(CONFIG, shift, words, lambda cycle: True)
    for (z, center), (got, saturations) in zip(words, outputs):
        # the golden update with ec - e = shift
        expected, clamps = update_center(np.array(center), np.array(z), exponent=0,
                                         center_exponent=shift,
                                         center_bits=CONFIG.center_bits)
        assert got == expected.tolist() and saturations == clamps
    assert first == 1  # the documented latency


def test_back_pressure_keeps_order_and_values():
    rng = np.random.default_rng(9)
    words = random_words(CONFIG, 40, rng)
    outputs, _ = run_unit(CONFIG, -2, words, lambda cycle: cycle % 3 == 0)
    expected = [update_center(np.array(c), np.array(z), 0, -2, CONFIG.center_bits)
                for z, c in words]
    assert outputs == [(e.tolist(), n) for e, n in expected]


@pytest.mark.usefixtures("discards_elaboratables")
def test_config_must_be_a_hardware_config():
    with pytest.raises(HalpInputError, match="config must be a halp_hw.golden.hardware"):
        CenterUpdateUnit(config=None)
