"""The performance model against the golden model, the RTL, and first principles."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from halp_hw.golden.hardware import AcceleratorModel, HardwareConfig, HardwareRun
from halp_hw.golden.problems import LeastSquares
from halp_hw.golden.validation import HalpInputError
from halp_hw.models import perf
from halp_hw.runtime.simulate import run_backend

# Builds that exercise every adder-tree depth (1, 2, 3..4, 5..16 lanes) and d both a multiple of
# L and not, d < L included.
CONFIGS = [
    (HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=1, d_max=5, n_max=6), 5),
    (HardwareConfig(bits=6, data_bits=5, frac_bits=8, lanes=3, d_max=10, n_max=7), 10),
    (HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=4, d_max=8, n_max=9), 8),
    (HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=8, d_max=20, n_max=12), 20),
    (HardwareConfig(bits=4, data_bits=6, frac_bits=5, lanes=16, d_max=9, n_max=5), 9),
]


def small_problem(n: int, d: int, seed: int = 1) -> LeastSquares:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return LeastSquares(X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n))


@pytest.mark.parametrize("config, d", CONFIGS)
def test_epoch_cycles_equal_golden_model_count(config, d):
    model = AcceleratorModel(config, np.ones((config.n_max, d), dtype=np.int64), 1, seed=3)
    model.run(7)
    assert perf.epoch_cycles(config, d, 7) == model.cycles
    assert perf.run_cycles(config, d, 7, 3) == 3 * model.cycles


@pytest.mark.parametrize("config, d", CONFIGS)
def test_epoch_cycles_equal_rtl_count(config, d):
    """HALPCore in Amaranth's simulator: the cycle counter of every epoch equals the model."""
    run = HardwareRun(step_size=0.01, mu=4.0, epoch_length=5, epochs=2, seed=11)
    result = run_backend("amaranth", small_problem(config.n_max, d), config, run)
    assert result.trace.cycles == [0] + [perf.epoch_cycles(config, d, 5)] * 2


@pytest.mark.parametrize("lanes", range(1, 65))
def test_inner_step_within_ceil_d_over_lanes_plus_ten(lanes):
    config = HardwareConfig(lanes=lanes, d_max=4096)
    for d in (1, lanes, lanes + 1, 100, 4096):
        step = config.step_cycles(d)
        assert math.ceil(d / lanes) < step <= math.ceil(d / lanes) + 10


def test_paper_configuration_numbers():
    """N=1000, d=100, 8-bit x and z, F=16, 8 lanes, from the datapath doc by hand:
    13 beats + 6 + ceil(3/2) = 21 cycles; 2*100 MACs in 2*8*21 multiplier slots."""
    config = HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=8, d_max=100, n_max=1000)
    report = perf.performance_report(config, 100, 1000, 20, clock_mhz=100.0)
    assert report["cycles_per_inner_step"] == 21
    assert report["cycles_per_epoch"] == 21_000
    assert report["cycles_total"] == 420_000
    assert report["modeled_seconds"] == pytest.approx(420_000 / 100e6)
    assert report["inner_steps_per_second"] == pytest.approx(100e6 / 21)
    assert report["mac_utilization"] == pytest.approx(200 / (2 * 8 * 21))
    # X: 1000 rows of 13 words of 8 lanes x 8 bits; z: 13 x 8 x 8; G: 13 x 8 x (8 + 16 + 1).
    assert report["memory_bits"] == {"x": 1000 * 13 * 64, "z": 13 * 64, "g": 13 * 8 * 25}
    # Per beat: two X words, one z word, one G word.
    assert report["read_bytes_per_beat"] == {"x": 16.0, "z": 8.0, "g": 25.0}
    assert report["read_bytes_per_cycle"]["x"] == pytest.approx(16.0 * 13 / 21)


@pytest.mark.parametrize("config, d", CONFIGS)
def test_utilization_and_bandwidth_are_consistent(config, d):
    assert 0 < perf.mac_utilization(config, d) <= 1
    per_beat = perf.read_bytes_per_beat(config)
    for name, per_cycle in perf.read_bandwidth(config, d).items():
        assert per_cycle * config.step_cycles(d) == pytest.approx(per_beat[name] * config.beats(d))


def test_utilization_approaches_one_for_long_rows():
    config = HardwareConfig(lanes=8, d_max=4096)
    assert perf.mac_utilization(config, 4096) > 0.98 > perf.mac_utilization(config, 8)


def test_clock_from_synth(tmp_path):
    path = tmp_path / "synth.json"
    path.write_text(json.dumps({"fmax_mhz": 87.5, "target": "ecp5"}))
    assert perf.clock_from_synth(path) == 87.5


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("not json", "not readable JSON"),
    (json.dumps({"target": "ecp5"}), "no field fmax_mhz"),
    (json.dumps({"fmax_mhz": -3}), "fmax_mhz"),
    (json.dumps({"fmax_mhz": "fast"}), "fmax_mhz"),
])
def test_clock_from_bad_synth_result(tmp_path, content, message):
    path = tmp_path / "synth.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(HalpInputError, match=message):
        perf.clock_from_synth(path)


@pytest.mark.parametrize("call", [
    lambda c: perf.epoch_cycles(c, 10, 0),
    lambda c: perf.run_cycles(c, 10, 5, 0),
    lambda c: perf.performance_report(c, 10, 5, 1, clock_mhz=0),
    lambda c: perf.macs_per_step(0),
])
def test_bad_arguments_raise(call):
    with pytest.raises(HalpInputError):
        call(HardwareConfig())
