"""``halp-hw verify``: bit-exact on the issue's configuration, and every fault caught precisely."""

from __future__ import annotations

import json

import pytest

from halp_hw.cli import main
from halp_hw.golden.epoch_timing import epoch_cost
from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.memory import MemoryTiming
from halp_hw.testbenches.faults import FAULTS

#: The issue's acceptance run: linreg N=256, d=32, 8 bits, 4 lanes, 3 epochs.
ACCEPTANCE = ["--problem", "linreg", "--n", "256", "--d", "32", "--bits", "8", "--lanes", "4",
              "--epochs", "3", "--seed", "1"]
#: A smaller run for the faults (d = 10 is not a multiple of 3 lanes), so each broken build
#: costs little; the same build as tests/test_cocotb_core.py's "b8-L3" core, so the
#: index-off-by-one build is shared.
SMALL = ["--n", "32", "--d", "10", "--bits", "8", "--lanes", "3", "--epochs", "1", "--seed", "2"]
#: The small logistic and SVM runs (L2 keeps the optimum finite on any labels).
SMALL_GLM = {problem: ["--problem", problem, "--l2", "0.05", "--n", "24", "--d", "6", "--lanes",
                       "4", "--epochs", "2", "--epoch-length", "24", "--seed", "3"]
             for problem in ("logreg", "svm")}
#: The run each fault is tried on: the build that has the broken block. A rise one LSB low
#: moves the sigmoid difference by at most an output LSB, which changes a rounded ``z`` only once
#: the epoch's scale is fine: in the golden model, first in epoch 8 of the small logistic run.
#: The small run with the whole epoch on chip (full-gradient pass, exponent, G, center update).
SMALL_ON_CHIP = ["--n", "40", "--d", "10", "--lanes", "4", "--epochs", "3", "--epoch-length",
                 "20", "--seed", "1", "--l2", "0.01", "--full-gradient", "accelerator"]
#: The same with logistic regression: the pass's sigmoid, margins written for the inner loop.
SMALL_LOGISTIC_ON_CHIP = ["--problem", "logreg", "--l2", "0.05", "--n", "40", "--d", "10",
                          "--lanes", "4", "--epochs", "3", "--epoch-length", "20", "--seed", "1",
                          "--full-gradient", "accelerator"]
FAULT_RUNS = {fault: SMALL for fault in FAULTS}
FAULT_RUNS["sigmoid-table"] = [*SMALL_GLM["logreg"], "--epochs", "8"]
FAULT_RUNS["gradient-truncates"] = SMALL_ON_CHIP
FAULT_RUNS["pass-sigmoid-input-truncates"] = SMALL_LOGISTIC_ON_CHIP


def run_verify(rtl, tmp_path, capsys, *args):
    """Run the command with --json; return its exit status and the JSON it wrote (and printed,
    alone on stdout, with the verdict on stderr)."""
    out = tmp_path / "out"
    status = main(["verify", *args, "--sim", rtl.simulator, "--build-dir", str(rtl.build_root),
                   "--out", str(out), "--json"])
    written = json.loads((out / "verify.json").read_text())
    captured = capsys.readouterr()
    assert json.loads(captured.out) == written
    verdict = captured.err.strip().splitlines()[-1]
    assert verdict.startswith("bit-exact on " if written["bit_exact"] else "MISMATCH on ")
    assert (out / "verify.png").stat().st_size > 0
    return status, written


def test_acceptance_run_is_bit_exact(rtl, tmp_path, capsys):
    status, report = run_verify(rtl, tmp_path, capsys, *ACCEPTANCE)
    assert status == 0 and report["bit_exact"] is True, report["first_mismatch"]
    assert report["first_mismatch"] is None and report["mismatches"] == 0
    assert report["iterates_compared"] == 3 * 256  # every inner step (T = N by default)
    # compared after every step: each a RUN of one step, its rows fetched ahead and on chip,
    # so the default memory never stalls it: 32 / 4 = 8 beats + 6 + ceil(2 / 2) = 15 cycles
    assert report["cycles"] == report["golden_cycles"] == 3 * 256 * (8 + 6 + 1)
    assert report["rel_subopt"] == report["golden_rel_subopt"]
    assert len(report["rel_subopt"]) == 4 and report["rel_subopt"][-1] < 0.1
    assert report["coverage"]["recenters"] == 3 and report["coverage"]["rounding_carries"] > 0
    assert report["corners"]["coverage"]["saturations"] > 0
    # The regression closes every bin of the core's cover items (per lane saturation high and
    # low, rounding carries, both last beats, every RUN length, command pair and state) but
    # the stall the default memory never makes, rows fetched ahead hiding its latency (closed
    # by tests/test_cocotb_core.py's memory runs); the cocotb-coverage report is written next
    # to verify.json.
    assert report["coverage_missed"] == {"core.memory.stall": ["row i_{t+2}"]}, \
        report["coverage_missed"]
    assert report["functional_coverage"]["core.lanes.saturation"]["size"] == 2 * 4
    assert (tmp_path / "out" / "coverage.yml").is_file()
    assert report["coverage_report"] == str(tmp_path / "out" / "coverage.yml")


@pytest.mark.parametrize("problem", ["logreg", "svm"])
def test_logistic_and_svm_cores_are_bit_exact(rtl, tmp_path, capsys, problem):
    status, report = run_verify(rtl, tmp_path, capsys, *SMALL_GLM[problem])
    assert status == 0 and report["bit_exact"] is True, report["first_mismatch"]
    assert report["config"]["problem"] == problem and report["mismatches"] == 0
    assert report["iterates_compared"] == 2 * 24  # every inner step of 2 epochs (T = N)
    assert report["cycles"] == report["golden_cycles"] > 0
    assert report["rel_subopt"] == report["golden_rel_subopt"]
    assert report["rel_subopt"][-1] < report["rel_subopt"][0]


def test_epoch_on_chip_is_bit_exact(rtl, tmp_path, capsys):
    """z after every step, the exponent after every FULL_GRADIENT, the center after every
    UPDATE_CENTER, the counters: RTL == golden, and the cycles those of the epoch model."""
    status, report = run_verify(rtl, tmp_path, capsys, *SMALL_ON_CHIP)
    assert status == 0 and report["bit_exact"] is True, report["first_mismatch"]
    assert report["run"]["full_gradient"] == "accelerator" and report["mismatches"] == 0
    assert report["iterates_compared"] == 3 * (20 + 2)  # each step, FULL_GRADIENT, UPDATE
    config = HardwareConfig(lanes=4, d_max=10, n_max=40)
    cost = epoch_cost(config, MemoryTiming(), 40, 10, 1)
    per_epoch = cost.full_gradient + cost.finish + cost.update + 20 * cost.inner
    assert report["cycles"] == report["golden_cycles"] == 3 * per_epoch
    assert report["rel_subopt"] == report["golden_rel_subopt"]
    assert report["rel_subopt"][-1] < report["rel_subopt"][1] < report["rel_subopt"][0]


def test_logistic_epoch_on_chip_is_bit_exact(rtl, tmp_path, capsys):
    """The same with logistic regression: the pass's sigmoid residuals, and the margins it
    writes next to the rows for the inner loop."""
    status, report = run_verify(rtl, tmp_path, capsys, *SMALL_LOGISTIC_ON_CHIP)
    assert status == 0 and report["bit_exact"] is True, report["first_mismatch"]
    assert report["config"]["problem"] == "logreg" and report["mismatches"] == 0
    assert report["run"]["full_gradient"] == "accelerator"
    assert report["iterates_compared"] == 3 * (20 + 2)
    config = HardwareConfig(lanes=4, d_max=10, n_max=40, problem="logreg")
    cost = epoch_cost(config, MemoryTiming(), 40, 10, 1)
    per_epoch = cost.full_gradient + cost.finish + cost.update + 20 * cost.inner
    assert report["cycles"] == report["golden_cycles"] == 3 * per_epoch
    assert report["rel_subopt"] == report["golden_rel_subopt"]
    assert report["rel_subopt"][-1] < report["rel_subopt"][1] < report["rel_subopt"][0]


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_is_caught(rtl, tmp_path, capsys, fault):
    status, report = run_verify(rtl, tmp_path, capsys, *FAULT_RUNS[fault], "--fault", fault)
    assert status == 1 and report["bit_exact"] is False and report["fault"] == fault
    first = report["first_mismatch"]
    assert set(first) >= {"cycle", "signal", "expected", "actual", "context"}, first
    assert first["expected"] != first["actual"] and first["cycle"] >= 0
    assert report["mismatches"] > 0


@pytest.mark.parametrize("order", ["xorshift", "host"])
def test_jittery_memory_stays_bit_exact(rtl, tmp_path, capsys, order):
    """Random extra delays on the memory's responses: the same z and counters, and no fewer
    cycles (compared after every step, each a RUN of one whose rows are on chip already, the
    delays fall in the seed and settle phases, which are not counted)."""
    status, report = run_verify(rtl, tmp_path, capsys, *SMALL, "--memory-fault", "jitter",
                                "--mem-latency", "7", "--mem-bytes-per-cycle", "3",
                                "--order", order)
    assert status == 0 and report["bit_exact"] is True, report["first_mismatch"]
    assert report["cycles"] >= report["golden_cycles"] > 0
    assert report["cycles_checked"] == "at least golden"


@pytest.mark.parametrize("memory_fault", ["drop-beat", "duplicate-beat"])
def test_broken_memory_is_caught(rtl, tmp_path, capsys, memory_fault):
    """A memory that loses or repeats a beat never passes: a mismatch or a named hang."""
    status, report = run_verify(rtl, tmp_path, capsys, *SMALL, "--memory-fault", memory_fault,
                                "--mem-latency", "7", "--mem-bytes-per-cycle", "3")
    assert status == 1 and report["bit_exact"] is False
    first = report["first_mismatch"]
    if memory_fault == "drop-beat":     # the fetch never completes
        assert "did not finish within" in first["error"] and "training" in first["error"]
    else:                               # every later word is one row word late
        assert first["expected"] != first["actual"]
        assert first["context"].startswith("training")


def test_list_faults(capsys):
    assert main(["verify", "--list-faults"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(FAULTS)


@pytest.mark.parametrize("args, message", [
    (["--fault", "no-such-fault"], "fault must be None or one of"),
    (["--fault", "sigmoid-table"], "fault sigmoid-table breaks the sigmoid unit"),
    (["--bits", "1"], "bits must be an integer in 2..16"),
    (["--n", "0"], "n must be an integer"),
    (["--mem-latency", "0"], "memory latency (cycles) must be an integer in 1..4096"),
    (["--mem-bytes-per-cycle", "0"], "memory bandwidth (bytes per cycle) must be an integer"),
])
def test_bad_input_is_exit_2(tmp_path, capsys, args, message):
    assert main(["verify", *args, "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def _run_shown(rtl, tmp_path, *args):
    out = tmp_path / "out"
    status = main(["verify", *SMALL, *args, "--sim", rtl.simulator, "--build-dir",
                   str(rtl.build_root), "--out", str(out)])
    return status, json.loads((out / "verify.json").read_text())


def test_verdict_line_ends_the_output_instead_of_the_json(rtl, tmp_path, capsys):
    status, report = _run_shown(rtl, tmp_path)
    printed = capsys.readouterr().out.strip().splitlines()
    assert status == 0 and "{" not in "".join(printed)
    assert printed[-1].startswith(f"bit-exact on {rtl.simulator}: "
                                  f"{report['iterates_compared']} iterates and "
                                  f"{report['values_compared']} values compared")
    assert report["complete"] is True


def test_quiet_prints_the_first_mismatch_alone(rtl, tmp_path, capsys):
    status, report = _run_shown(rtl, tmp_path, "--quiet", "--fault", "rounder-drops-random")
    captured = capsys.readouterr()
    first = report["first_mismatch"]
    assert status == 1 and captured.err == ""
    assert captured.out.splitlines() == [
        f"MISMATCH on {rtl.simulator} (fault rounder-drops-random): first at cycle "
        f"{first['cycle']} ({first['context']}): {first['signal']} expected "
        f"{first['expected']}, got {first['actual']}"]


def test_json_and_quiet_exclude_each_other(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["verify", "--json", "--quiet", "--out", str(tmp_path)])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
