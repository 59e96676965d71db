"""cocotb testbenches of the leaf blocks on the generated Verilog, against the golden hardware mode.

Each test builds one block for one parameter set (one build directory per set, reused across the
session), runs its testbench from ``sim/`` and asserts on the scoreboard's report: values were
compared, none differed, and the run reached the coverage it was designed to reach. The fault
tests build a deliberately broken variant and assert that the same testbench names a precise
first mismatch.
"""

from __future__ import annotations

from dataclasses import asdict

import pytest

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.prng import lane_stream
from halp_hw.hdl.centering import BitCenteringRegister
from halp_hw.hdl.lane import MaccLane
from halp_hw.hdl.prng import Xorshift32
from halp_hw.hdl.rounder import StochasticRounder
from halp_hw.hdl.vector import VectorUnit
from halp_hw.runtime.simulators import build_design, run_testbench

#: Block parameter sets: the default widths with d not a multiple of 3 lanes, the widest
#: configuration (two adder-tree stages), and the narrowest (1 lane, 2-bit z and data, F = 1).
CONFIGS = {
    "b8-L3": HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=3, d_max=20, n_max=4),
    "b16-L8": HardwareConfig(bits=16, data_bits=16, frac_bits=24, lanes=8, d_max=40, n_max=4),
    "b2-L1": HardwareConfig(bits=2, data_bits=2, frac_bits=1, lanes=1, d_max=3, n_max=4),
}
SEED = 20260611


def rounder_of(config: HardwareConfig) -> StochasticRounder:
    """The rounder as the lanes of ``config`` use it."""
    return StochasticRounder(in_width=config.update_width, frac_bits=config.frac_bits,
                             out_width=config.bits)


def rounder_params(config: HardwareConfig) -> dict:
    return {"in_width": config.update_width, "frac_bits": config.frac_bits,
            "out_width": config.bits, "seed": SEED, "random_vectors": 300}


def assert_matches(results, *items: str) -> dict:
    """The testbench passed, compared something, and hit every bin of the named cover items
    (cocotb-coverage, ``sim/tb_coverage.py``), whose report it wrote next to its own."""
    assert results.passed, results.summary()
    report = results.report
    assert report["mismatches"] == 0 and report["compared"] > 0, report
    for name in items:
        item = report["functional_coverage"][name]
        missed = [key for key, hits in item["bins"].items() if hits == 0]
        assert item["size"] > 0 and not missed, f"the run never hit {name} {missed}"
    assert list(results.results_xml.parent.glob("*.report.coverage.yml"))
    return report


def assert_caught(results, signal_prefix: str) -> dict:
    """The testbench failed, naming the first mismatching cycle, signal, expected and actual."""
    assert not results.passed, "the broken design passed its testbench"
    first = results.report["first_mismatch"]
    assert first is not None and first["signal"].startswith(signal_prefix), first
    assert first["expected"] != first["actual"]
    message = results.failures[0].message
    assert f"first mismatch at cycle {first['cycle']}" in message and first["signal"] in message
    return first


@pytest.mark.parametrize("name", ["b8-L3", "b2-L1"])  # b16's rounder runs inside test_lane
def test_rounder(rtl, name):
    config = CONFIGS[name]
    results = rtl.run(("rounder", name), lambda: rounder_of(config), module="tb_rounder",
                      params=rounder_params(config))
    assert_matches(results, "rounder.result")


@pytest.mark.parametrize("stream", [lane_stream(6)])  # stream 0 runs inside the core tests
def test_prng(rtl, stream):
    results = rtl.run(("prng", stream), lambda: Xorshift32(stream=stream), module="tb_prng",
                      params={"stream": stream, "seed": SEED, "cycles": 600})
    assert_matches(results, "prng.command")


@pytest.mark.parametrize("name, lane", [("b8-L3", 2), ("b16-L8", 7)])  # b2: in the vector unit
def test_lane(rtl, name, lane):
    config = CONFIGS[name]
    results = rtl.run(("lane", name, lane), lambda: MaccLane(config=config, lane=lane),
                      module="tb_lane",
                      params={"config": asdict(config), "lane": lane, "seed": SEED, "beats": 400})
    assert_matches(results, "lane.beat")


@pytest.mark.parametrize("name", CONFIGS)
def test_vector_unit(rtl, name):
    config = CONFIGS[name]
    results = rtl.run(("vector", name), lambda: VectorUnit(config=config), module="tb_vector",
                      params={"config": asdict(config), "seed": SEED, "passes": 40})
    report = assert_matches(results, "vector.lane", "vector.last_beat")
    # per lane: saturated, rounding carry and (but lane 0, never masked) masked with junk
    assert report["functional_coverage"]["vector.lane"]["size"] == 3 * config.lanes - 1


@pytest.mark.parametrize("name", ["b8-L3"])
def test_bit_centering_register(rtl, name):
    config = CONFIGS[name]
    results = rtl.run(("centering", name), lambda: BitCenteringRegister(config=config),
                      module="tb_centering",
                      params={"config": asdict(config), "seed": SEED, "cycles": 500})
    assert_matches(results, "centering.command")


BLOCK_FAULTS = {
    "rounder-drops-random": ("tb_lane", "z_new"),
    "saturation-off-by-one": ("tb_rounder", "result"),
    "prng-wrong-shift": ("tb_prng", "next_state"),
    "lane-drops-carry": ("tb_lane", "z_new"),
}


@pytest.mark.parametrize("fault", BLOCK_FAULTS)
def test_block_testbench_catches_fault(rtl, fault):
    """Each broken block variant fails its own testbench with a precise first mismatch."""
    config = CONFIGS["b8-L3"]
    module, signal = BLOCK_FAULTS[fault]
    if module == "tb_rounder":
        make, params = (lambda: rounder_of(config)), rounder_params(config)
    elif module == "tb_prng":
        make = lambda: Xorshift32(stream=lane_stream(0))  # noqa: E731
        params = {"stream": lane_stream(0), "seed": SEED, "cycles": 100}
    else:
        make = lambda: MaccLane(config=config, lane=1)  # noqa: E731
        params = {"config": asdict(config), "lane": 1, "seed": SEED, "beats": 200}
    assert_caught(rtl.run((module, "b8-L3"), make, module=module, params=params, fault=fault),
                  signal)


def test_icarus_rounder(icarus_rtl):
    """The same testbench under Icarus Verilog, when it is installed (skipped otherwise)."""
    config = CONFIGS["b8-L3"]
    results = icarus_rtl.run(("rounder", "b8-L3"), lambda: rounder_of(config),
                             module="tb_rounder", params=rounder_params(config))
    assert_matches(results, "rounder.result")


def test_waves_on_request(rtl):
    """One flag records a waveform (VCD from Verilator, FST from Icarus) of the run."""
    stream = lane_stream(1)
    built = build_design(Xorshift32(stream=stream), simulator=rtl.simulator, waves=True,
                         build_root=rtl.build_root)
    results = run_testbench(built, module="tb_prng", name="waves",
                            params={"stream": stream, "seed": SEED, "cycles": 50})
    assert_matches(results)
    assert results.waves_file is not None and results.waves_file.stat().st_size > 0
