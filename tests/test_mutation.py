"""``halp-hw mutate``'s machinery on a small campaign: a mutant the regression must kill, one it
cannot (the induction proof must show it equivalent), one it misses (the proof must not close
and the miter must find the difference), and the reports.

The full campaign (300 mutants) is far too long for CI; its figures are in
``docs/verification.md``.
"""

from __future__ import annotations

import csv
import json

import pytest

from halp_hw.cli import main
from halp_hw.golden.data import paper_linreg
from halp_hw.golden.hardware import HardwareConfig, HardwareRun
from halp_hw.mutation.campaign import classify, prepare
from halp_hw.mutation.netlist import Mutation, source_location
from halp_hw.mutation.report import summarize, write_reports

#: One test worker runs this module: the campaign (a module-scoped fixture) is made once.
pytestmark = [pytest.mark.xdist_group("test_mutation"), pytest.mark.long(23)]

#: A small build: 2 lanes, d = 3 (a partial last beat), N = 8.
N, D = 8, 3
MUTATIONS = [
    # lane 0's random stream, bit 0 of its next state inverted: every rounding changes
    {"wire": "vector.lane0.next_state", "wirebit": 0, "mode": "inv"},
    # bit 3 of the sample-index product register: only bits 32 and up are the index
    {"wire": "rows.product", "wirebit": 3, "mode": "const1"},
]


@pytest.fixture(scope="module")
def campaign(rtl, tmp_path_factory):
    if rtl.simulator != "verilator":
        pytest.skip("the mutation campaign runs on Verilator")
    problem = paper_linreg(N, D, 0)
    config = HardwareConfig(bits=8, lanes=2, d_max=D, n_max=N)
    run = HardwareRun(step_size=0.05, mu=0.5, epoch_length=N, epochs=1, seed=3)
    work = tmp_path_factory.mktemp("mutation")
    # without the long phase (tests/test_cocotb_core.py runs it): these mutants need none
    return prepare(problem, 0, config, run, mutations=MUTATIONS, seed=1, simulator="verilator",
                   work_dir=work / "netlist", build_root=rtl.build_root, long_run=False), work


def test_small_campaign_classifies_each_mutant(campaign):
    campaign, work = campaign
    assert [m.select for m in campaign.mutations] == [1, 2]
    assert campaign.mutations[0].wire == "vector.lane0.next_state"
    result = classify(campaign, depth=8, timeout=600, progress=False)
    killed, equivalent = result["mutants"]
    assert killed["status"] == "killed", killed
    assert set(killed["first_difference"]) >= {"signal", "expected", "actual", "context"}
    assert killed["first_difference"]["expected"] != killed["first_difference"]["actual"]
    assert killed["miter"] is None  # a killed mutant needs no proof
    assert equivalent["status"] == "equivalent", equivalent
    assert equivalent["first_difference"] is None
    # proven for every input sequence (Yosys's equivalence passes, by induction), not bounded
    assert equivalent["miter"]["status"] == "PROVEN", equivalent["miter"]
    assert equivalent["miter"]["induction"]["rounds"] >= 1
    summary = summarize(result["mutants"])
    assert summary == {"mutants": 2, "killed": 1, "survived": 0, "equivalent": 1, "score": 1.0}
    paths = write_reports({"summary": summary, **result}, work / "out")
    assert json.loads(paths[0].read_text())["summary"] == summary
    rows = list(csv.DictReader(paths[1].open()))
    assert [row["status"] for row in rows] == ["killed", "equivalent"]
    assert "## Equivalent (1)" in paths[2].read_text()


def test_miter_finds_what_the_regression_misses(campaign):
    """A mutation outside the campaign, checked on its own: the miter must find the input
    sequence that tells it apart, name the output and the step, and keep the trace."""
    from halp_hw.mutation import equivalence, netlist

    campaign, _ = campaign
    mutation = netlist.list_mutations(campaign.work_dir, 1, 1, 3, wire="busy", mode="inv")[0]
    outcome = equivalence.check(campaign.work_dir, mutation, depth=4, timeout=600,
                                sizes={"n_max": N, "d_max": D})
    assert outcome["status"] == "FAIL" and not outcome["equivalent"], outcome
    # the proof stops at the core's output port it cannot prove equal
    assert outcome["induction"]["status"] == "NOT PROVEN"
    assert "busy" in outcome["induction"]["unproven"]
    assert outcome["output"] == "busy" and outcome["step"] >= 1
    assert (campaign.work_dir / outcome["trace"]).is_file()


def test_mutation_parse_keeps_sources_inside_the_package():
    line = ("mutate -mode cnot1 -module top -cell $flatten\\vector.\\lane1.$procmux$1252 "
            "-port A -portbit 13 -ctrlbit 12 -wire vector.lane1.$5 -wirebit 13 "
            "-src /somewhere/halp_hw/hdl/lane.py:143 -src halp_core.v:2682.15-2682.18")
    mutation = Mutation.parse(line, 7)
    assert mutation.cell == "$flatten\\vector.\\lane1.$procmux$1252"
    assert (mutation.mode, mutation.port, mutation.portbit, mutation.ctrlbit) == \
        ("cnot1", "A", 13, 12)
    assert mutation.sources == ("halp_hw/hdl/lane.py:143", "halp_core.v:2682.15-2682.18")
    assert mutation.command(select_width=4) == (
        "mutate -ctrl mutsel 4 7 -mode cnot1 -module top -cell "
        "$flatten\\vector.\\lane1.$procmux$1252 -port A -portbit 13 -ctrlbit 12")
    assert source_location("/x/site-packages/amaranth/lib/memory.py:402") == \
        "amaranth/lib/memory.py:402"


def test_bad_mutant_count_is_a_clear_error(capsys):
    assert main(["mutate", "--mutants", "0"]) == 2
    assert "mutants must be an integer in 1..4096, not 0" in capsys.readouterr().err
