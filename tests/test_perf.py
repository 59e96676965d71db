"""The performance model against the golden model, the RTL, and first principles."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from halp_hw.golden.hardware import AcceleratorModel, HardwareConfig, HardwareRun
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.problems import LeastSquares
from halp_hw.golden.validation import HalpInputError
from halp_hw.models import perf
from halp_hw.runtime.backends import run_backend

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


#: A memory that never stalls the pipeline, the default (DDR3-like) one, and a slow one.
MEMORIES = [MemoryTiming(latency=1, bytes_per_cycle=64), MemoryTiming(),
            MemoryTiming(latency=50, bytes_per_cycle=1, burst_bytes=16)]


@pytest.mark.parametrize("memory", MEMORIES)
@pytest.mark.parametrize("config, d", CONFIGS)
def test_epoch_cycles_equal_golden_model_count(config, d, memory):
    model = AcceleratorModel(config, np.ones((config.n_max, d), dtype=np.int64), 1, seed=3,
                             memory=memory)
    model.run(7)
    assert perf.epoch_cycles(config, d, 7, memory) == model.cycles
    assert perf.run_cycles(config, d, 7, 3, memory) == 3 * model.cycles


@pytest.mark.parametrize("order", ["xorshift", "host"])
@pytest.mark.parametrize("memory", MEMORIES[1:])
@pytest.mark.parametrize("config, d", CONFIGS[1::2])
def test_epoch_cycles_equal_rtl_count(config, d, memory, order):
    """HALPSystem in Amaranth's simulator: the cycle counter of every epoch equals the model."""
    run = HardwareRun(step_size=0.01, mu=4.0, epoch_length=5, epochs=2, seed=11, order=order)
    result = run_backend("amaranth", small_problem(config.n_max, d), config, run, memory=memory)
    assert result.trace.cycles == [0] + [perf.epoch_cycles(config, d, 5, memory, order)] * 2


@pytest.mark.parametrize("lanes", range(1, 65))
def test_inner_step_within_ceil_d_over_lanes_plus_ten(lanes):
    """Not memory-bound (a word per cycle after one cycle of latency), a step costs the pass
    plus the pipeline: at most ceil(d/L) + 8 up to 16 lanes, + 10 up to 64."""
    config = HardwareConfig(lanes=lanes, d_max=4096)
    fast = MemoryTiming(latency=1, bytes_per_cycle=64)
    for d in (1, lanes, lanes + 1, 100, 4096):
        step = perf.step_cycles(config, d, fast)
        assert step == config.step_cycles(d)
        assert math.ceil(d / lanes) < step <= math.ceil(d / lanes) + (8 if lanes <= 16 else 10)


def test_paper_configuration_numbers():
    """N=1000, d=100, 8-bit x and z, F=16, 8 lanes, from the datapath doc by hand:
    13 beats + 6 + ceil(3/2) = 21 cycles when the memory keeps up; 2*100 MACs in 2*8*21
    multiplier slots."""
    config = HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=8, d_max=100, n_max=1000)
    fast = MemoryTiming(latency=1, bytes_per_cycle=8)
    report = perf.performance_report(config, 100, 1000, 20, clock_mhz=100.0, memory=fast)
    assert report["bound"] == "compute"
    assert report["cycles_per_inner_step"] == 21
    assert report["cycles_per_epoch"] == 21_000
    assert report["cycles_total"] == 420_000
    assert report["modeled_seconds"] == pytest.approx(420_000 / 100e6)
    assert report["inner_steps_per_second"] == pytest.approx(100e6 / 21)
    assert report["mac_utilization"] == pytest.approx(200 / (2 * 8 * 21))
    # Row buffer: 8 rows of 13 words of 8 lanes x 8 bits; z: 13 x 8 x 8; G: 13 x 8 x 25.
    assert report["memory_bits"] == {"row_buffer": 8 * 13 * 64, "z": 13 * 64,
                                     "g": 13 * 8 * 25}
    # Per beat: two row-buffer words, one z word, one G word; off chip one row per step.
    assert report["read_bytes_per_beat"] == {"row_buffer": 16.0, "z": 8.0, "g": 25.0}
    assert report["read_bytes_per_cycle"]["row_buffer"] == pytest.approx(16.0 * 13 / 21)
    assert report["offchip_bytes_per_inner_step"] == 13 * 8


def test_paper_configuration_on_ddr3_is_compute_bound():
    """The default memory (20 cycles, 8 bytes per cycle) no longer slows the paper problem: a
    row of 13 words holds the data channel 13 cycles <= 21, and its round trip, 20 + 13 = 33
    cycles, is shared by the 6 steps it is fetched ahead (8 row slots): ceil(33 / 6) = 6. The
    next address takes 7 cycles (DRAW_LATENCY)."""
    config = HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=8, d_max=100, n_max=1000)
    report = perf.performance_report(config, 100, 1000, 20, clock_mhz=100.0)
    assert report["bound"] == "compute"
    assert report["step_bounds"] == {"compute": 21, "fetch": 13, "index": 7}
    assert report["cycles_per_inner_step"] == 21
    assert report["cycles_per_epoch"] == 21_000
    line = perf.roofline(config, 100, MemoryTiming(), 100.0, [1, 8, 64])
    # at 1 byte per cycle the 104-byte row holds the channel 104 cycles a step
    assert line["inner_steps_per_second"] == pytest.approx([1e8 / 104, 1e8 / 21, 1e8 / 21])
    assert line["compute_ceiling"] == pytest.approx(1e8 / 21)


@pytest.mark.parametrize("config, d", CONFIGS)
def test_utilization_and_bandwidth_are_consistent(config, d):
    assert 0 < perf.mac_utilization(config, d) <= 1
    per_beat = perf.read_bytes_per_beat(config)
    for name, per_cycle in perf.read_bandwidth(config, d).items():
        assert per_cycle * perf.step_cycles(config, d) == pytest.approx(
            per_beat[name] * config.beats(d))


def test_utilization_approaches_one_for_long_rows():
    """When the memory keeps up (a word per cycle, its latency shorter than the drain)."""
    config = HardwareConfig(lanes=8, d_max=4096)
    memory = MemoryTiming(latency=1, bytes_per_cycle=8)
    assert (perf.mac_utilization(config, 4096, memory) > 0.98
            > perf.mac_utilization(config, 8, memory))


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
