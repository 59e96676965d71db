"""``halp-hw prove``: the proofs pass on a small build and fail, with a trace, on a broken block."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from amaranth import Module, Signal

from halp_hw.cli import main
from halp_hw.formal import control_harness
from halp_hw.formal.control_harness import ControlHarness, control_depth
from halp_hw.formal.memory_port_harness import MemoryPortHarness, memory_port_depth
from halp_hw.formal.order_port_harness import (ORDER_PORT_SCRIPT, OrderPortHarness,
                                               order_port_depth)
from halp_hw.formal.properties import properties_for, property_names
from halp_hw.formal.rounder_harness import RounderHarness
from halp_hw.formal.sby import run_proof
from halp_hw.formal.width_harness import UpdateWidthHarness
from halp_hw.golden.hardware import HardwareConfig
from halp_hw.hdl.fetcher import RowFetcher
from halp_hw.hdl.rounder import StochasticRounder, saturate

#: The smallest build the suite proves in full (rows of at most 4 words, 3 row slots and 8
#: samples keep the bounded memory-port, order-port and control proofs short).
SMALL_BUILD = ["--bits", "4", "--data-bits", "4", "--lanes", "1", "--d-max", "4",
               "--n-max", "8", "--row-slots", "3", "--control-max-d", "3"]
#: Every property, in three runs of the command that take about the same time, so that two
#: test workers share them: the two longest bounded proofs, then the rest.
PROPERTY_RUNS = [["control"], ["order-port", "memory-port"],
                 [name for name in property_names()
                  if name not in ("control", "order-port", "memory-port")]]
#: About the CPU-seconds of each run (the bounded control proof is the suite's longest test).
RUN_SECONDS = [40, 20, 10]


def test_the_runs_below_prove_every_property():
    assert sorted(sum(PROPERTY_RUNS, [])) == sorted(property_names())


def test_properties_run_in_the_table_order_and_all_without_a_selection():
    assert [prop.name for prop in properties_for(None)] == property_names()
    assert [prop.name for prop in properties_for(["control", "rounder"])] == ["rounder",
                                                                              "control"]


@pytest.mark.parametrize("names", [pytest.param(names, marks=pytest.mark.long(seconds))
                                   for names, seconds in zip(PROPERTY_RUNS, RUN_SECONDS)],
                         ids=lambda names: "+".join(names[:2]))
def test_every_property_passes_on_a_small_build(tmp_path, capsys, names):
    selection = [argument for name in names for argument in ("--property", name)]
    assert main(["prove", *SMALL_BUILD, *selection, "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "prove.json").read_text())
    assert report["passed"] is True
    assert report["build"]["bits"] == 4 and report["build"]["lanes"] == 1
    assert report["build"]["n_max"] == 8
    assert [entry["property"] for entry in report["properties"]] == \
        [name for name in property_names() if name in names]
    for entry in report["properties"]:
        assert entry["status"] == "pass", entry
        assert entry["depth"] >= 1 and entry["seconds"] > 0 and entry["trace"] is None
        assert entry["engine"].startswith("smtbmc yices")
    table = capsys.readouterr().out
    assert names[0] in table and "all pass" in table


class TruncatingRounder(StochasticRounder):
    """A broken rounder: ignores its random bits (truncates)."""

    def elaborate(self, platform):
        m = Module()
        result, saturated = saturate(self.value.shift_right(self.frac_bits), self.out_width)
        m.d.comb += [self.result.eq(result), self.saturated.eq(saturated)]
        return m


class LowClampRounder(StochasticRounder):
    """A broken rounder: clamps one LSB below the top of the range."""

    def elaborate(self, platform):
        m = Module()
        value = (self.value + self.random).shift_right(self.frac_bits)
        result, saturated = saturate(value, self.out_width - 1)
        m.d.comb += [self.result.eq(result), self.saturated.eq(saturated)]
        return m


@pytest.mark.parametrize("broken", [TruncatingRounder, LowClampRounder])
def test_broken_rounder_fails_with_a_trace(tmp_path, broken):
    lines = []
    result = run_proof(RounderHarness(config=HardwareConfig(), rounder_class=broken),
                       name="rounder", mode="prove", depth=1, out_dir=tmp_path, echo=lines.append)
    assert result.status == "fail"
    trace = tmp_path / "rounder" / "rounder-counterexample.vcd"
    assert result.trace == str(trace)
    text = trace.read_text()
    assert "$var" in text and "$enddefinitions" in text
    assert any("counterexample trace" in line for line in lines)
    assert any("rounder_harness.py" in line for line in lines)  # names the failed assertion


@dataclass(frozen=True)
class NarrowUpdateConfig(HardwareConfig):
    """The default build with ``update_width`` two bits narrower than the contract's."""

    @property
    def update_width(self) -> int:
        return super().update_width - 2


def test_width_proof_fails_when_the_update_is_too_narrow(tmp_path):
    result = run_proof(UpdateWidthHarness(config=NarrowUpdateConfig()), name="update-width",
                       mode="prove", depth=1, out_dir=tmp_path)
    assert result.status == "fail" and result.trace is not None


def test_control_proof_fails_when_the_step_is_one_cycle_longer(tmp_path, monkeypatch):
    """The bound reaches the end of a run: a contract one cycle off is caught."""
    latency = control_harness.contract_pipeline_latency
    monkeypatch.setattr(control_harness, "contract_pipeline_latency",
                        lambda lanes: latency(lanes) + 1)
    config = HardwareConfig(bits=4, data_bits=4, lanes=1, d_max=4, row_slots=3)
    result = run_proof(ControlHarness(config=config, max_d=3), name="control", mode="bmc",
                       depth=control_depth(config, 3) + 2, out_dir=tmp_path)
    assert result.status == "fail" and result.trace is not None


def test_control_proof_fails_when_a_seed_outlasts_its_bound(tmp_path, monkeypatch):
    """The proof's depth rests on the SEED bound, which the harness asserts: on this build a
    SEED gives ``cmd_ready`` back 24 cycles after its acceptance (2 under the bound), so a
    bound of 23 fails, within a depth that a SEED from reset reaches."""
    assert control_harness.seed_cycles(3, 3) == 26
    monkeypatch.setattr(control_harness, "seed_cycles", lambda beats, row_slots: 23)
    config = HardwareConfig(bits=4, data_bits=4, lanes=1, d_max=4, row_slots=3)
    result = run_proof(ControlHarness(config=config, max_d=3), name="control", mode="bmc",
                       depth=26, out_dir=tmp_path)
    assert result.status == "fail" and result.trace is not None


class OneBeatFetcher(RowFetcher):
    """A broken fetcher: takes the first beat of a row, then is never ready again."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        took = Signal()
        response = self.memory.response
        with m.If(response.valid & response.ready):
            m.d.sync += took.eq(1)
        with m.If(self.start):
            m.d.sync += took.eq(0)
        m.d.comb += response.ready.eq((self.pending != 0) & ~took)
        return m


def test_memory_port_proof_fails_when_the_fetcher_refuses_a_beat(tmp_path):
    config = HardwareConfig(bits=4, data_bits=4, lanes=1, d_max=4)
    result = run_proof(MemoryPortHarness(config=config, fetcher_class=OneBeatFetcher),
                       name="memory-port", mode="bmc", depth=memory_port_depth(config),
                       out_dir=tmp_path)
    assert result.status == "fail" and result.trace is not None


def test_order_port_proof_fails_when_the_index_is_off_by_one(tmp_path):
    """The registered fault ``index-off-by-one`` (the sample index ``i + 1`` mod ``n``, swapped
    into SampleRowSource while the harness is converted) offers a wrong row address."""
    from halp_hw.testbenches.faults import injected

    config = HardwareConfig(bits=4, data_bits=4, lanes=1, d_max=4)
    with injected("index-off-by-one"):
        result = run_proof(OrderPortHarness(config=config), name="order-port", mode="bmc",
                           depth=order_port_depth(config), out_dir=tmp_path,
                           script=ORDER_PORT_SCRIPT)
    assert result.status == "fail" and result.trace is not None


@pytest.mark.parametrize("argv, message", [
    (["--bits", "1"], "bits"),
    (["--control-max-d", "0"], "--control-max-d"),
    (["--control-max-d", "129"], "--control-max-d"),
    (["--timeout", "0"], "--timeout"),
])
def test_bad_input_is_one_line_and_status_2(tmp_path, capsys, argv, message):
    assert main(["prove", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "prove.json").exists()
