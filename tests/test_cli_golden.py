"""``halp-hw golden``: outputs, their consistency with the golden model, and bad-input exits."""

import json
import subprocess
import sys

import numpy as np
import pytest

from halp_hw.golden.data import paper_linreg, synthetic_logreg
from halp_hw.golden.solvers import SOLVER_KEYS, make_solvers
from halp_hw.cli import main

SMALL = ["--n", "80", "--d", "6", "--epochs", "3"]


def run_golden(tmp_path, *args):
    return main(["golden", "--out", str(tmp_path / "out"), *args])


@pytest.mark.parametrize("problem, generator", [("linreg", paper_linreg),
                                                ("logreg", synthetic_logreg)])
def test_writes_results_and_plot_that_match_the_golden_model(tmp_path, capsys, problem, generator):
    assert run_golden(tmp_path, "--problem", problem, "--seed", "3", "--bits", "6", *SMALL) == 0
    out = tmp_path / "out"
    results = json.loads((out / "results.json").read_text())
    assert list(results["solvers"]) == list(SOLVER_KEYS)
    expected_problem = generator(80, 6, seed=3)
    expected = make_solvers(expected_problem, bits=6)
    for key, solver in expected.items():
        trace = solver.run(expected_problem, 3, seed=3)
        entry = results["solvers"][key]
        assert entry["rel_subopt"] == trace.rel_subopt
        for column in ("subopt", "dist", "scale", "saturations", "hyperparameters"):
            assert entry[column] == getattr(trace, column)
        assert len(entry["rel_subopt"]) == 4 and entry["rel_subopt"][0] == 1.0
    assert results["problem"]["name"] == problem
    assert (results["problem"]["n"], results["problem"]["d"]) == (80, 6)
    assert results["settings"]["bits"] == 6
    assert (out / "convergence.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    for key in SOLVER_KEYS:
        assert key in printed


def test_hyperparameters_from_the_command_line_reach_every_solver(tmp_path):
    assert run_golden(tmp_path, *SMALL, "--step-size", "0.005", "--epoch-length", "17",
                      "--mu", "3.5", "--lp-scale", "0.01", "--l2", "0.1") == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    for entry in results["solvers"].values():
        assert entry["hyperparameters"]["step_size"] == 0.005
        assert entry["hyperparameters"]["epoch_length"] == 17
    assert results["solvers"]["halp"]["hyperparameters"]["mu"] == 3.5
    assert results["solvers"]["lp_sgd"]["scale"] == [0.01] * 4
    assert results["problem"]["l2"] == 0.1


def test_user_data_file(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    np.savez(tmp_path / "mine.npz", X=X, y=X @ np.ones(4))
    assert run_golden(tmp_path, "--data", str(tmp_path / "mine.npz"), "--epochs", "2") == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert (results["problem"]["n"], results["problem"]["d"]) == (30, 4)
    assert "mine.npz" in results["problem"]["source"]


def test_a_diverging_solver_is_written_as_null_not_nan(tmp_path, capsys):
    assert run_golden(tmp_path, *SMALL, "--step-size", "50") == 1
    text = (tmp_path / "out" / "results.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    results = json.loads(text)
    assert None in results["solvers"]["sgd"]["rel_subopt"]
    assert results["complete"] is True
    assert results["solvers"]["sgd"]["diagnosis"][0]["cause"] == "diverged"
    err = capsys.readouterr().err
    assert "halp-hw golden: warning: sgd diverged" in err and "lower --step-size (now 50)" in err


def bad_files(tmp_path):
    nan = tmp_path / "nan.csv"
    nan.write_text("1,2,3\n4,nan,6\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("x1,x2,y\n")
    mismatched = tmp_path / "mismatched.npz"
    np.savez(mismatched, X=np.ones((5, 2)), y=np.ones(4))
    return {"nan": nan, "empty": empty, "mismatched": mismatched}


@pytest.mark.parametrize("args, message", [
    (["--bits", "1"], "bits must be an integer in 2..32, not 1"),
    (["--bits", "33"], "bits must be an integer in 2..32, not 33"),
    (["--step-size", "0"], "step size must be a finite number > 0, not 0.0"),
    (["--step-size", "-0.1"], "step size must be a finite number > 0, not -0.1"),
    (["--step-size", "nan"], "step size must be a finite number > 0, not nan"),
    (["--mu", "0"], "mu must be a finite number > 0, not 0.0"),
    (["--mu", "-1"], "mu must be a finite number > 0, not -1.0"),
    (["--epochs", "0"], "epochs must be an integer >= 1, not 0"),
    (["--epochs", "-2"], "epochs must be an integer >= 1, not -2"),
    (["--epoch-length", "0"], "epoch length must be an integer >= 1, not 0"),
    (["--n", "0"], "n must be an integer >= 1, not 0"),
    (["--d", "0"], "d must be an integer >= 1, not 0"),
    (["--seed", "-1"], "seed must be an integer in 0..4294967295, not -1"),
    (["--l2", "-1"], "l2 must be a finite number >= 0, not -1.0"),
    (["--lp-scale", "0"], "lp scale must be a finite number > 0, not 0.0"),
    (["--data", "{nan}"],
     "data file {nan} (problem linreg): X contains 1 NaN/inf value(s), first at index (1, 1)"),
    (["--data", "{empty}", "--problem", "logreg"],
     "data file {empty} (problem logreg): has no data rows; at least one sample is needed"),
    (["--data", "{mismatched}"],
     "data file {mismatched} (problem linreg): y must have one entry per row of X: X has 5 "
     "rows, y has 4"),
    (["--data", "{nan}", "--n", "10"], "--n and --d size synthetic data"),
    (["--dataset", "breast_cancer", "--problem", "logreg"],
     "logreg without L2 on breast_cancer: the training data are linearly separable, so the loss "
     "has no finite minimizer (w grows without bound); add --l2 (e.g. --l2 0.0022"),
    (["--dataset", "diabetes", "--problem", "svm"],
     "dataset diabetes is a regression set: use --problem linreg, not svm"),
    (["--no-standardize"], "--no-standardize applies to --dataset only"),
    (["--target", "0"], "target must be a finite number > 0, not 0.0"),
    (["--hardware", "--bits", "20"], "bits (with --hardware) must be an integer in 2..16, not 20"),
    (["--hardware", "--n", "80", "--d", "6", "--step-size", "0.5"],
     "step size 0.5 is outside what the hardware step coefficient holds for this data scale"),
])
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, capsys, args, message):
    files = bad_files(tmp_path)
    args = [arg.format(**files) for arg in args]
    message = message.format(**files)
    assert run_golden(tmp_path, *args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("halp-hw golden: error: ")
    assert message in lines[0]
    assert not (tmp_path / "out").exists()


def test_installed_entry_point_exits_2_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "halp_hw.cli", "golden", "--bits", "40", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == \
        "halp-hw golden: error: bits must be an integer in 2..32, not 40"


def test_plot_convergence_skips_points_a_log_axis_cannot_show(tmp_path):
    from halp_hw.golden.trace import Trace
    from halp_hw.plots import plot_convergence, solver_label

    traces = {"svrg": Trace("svrg", {}, rel_subopt=[1.0, 1e-20, 0.0]),
              "halp": Trace("halp", {"bits": 8}, rel_subopt=[1.0, float("inf"), float("nan")])}
    path = plot_convergence(traces, tmp_path / "c.png", "title\nsecond line", reference=1e-12)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert solver_label("halp", {"bits": 8}) == "HALP (8-bit)"
    assert solver_label("svrg", {}) == "SVRG"
    assert solver_label("custom", {}) == "custom"
    assert solver_label("halp_hw", {"bits": 6}) == "HALP (6-bit hardware mode)"
    assert solver_label("halp_hw", {}) == "HALP (hardware mode)"


def test_bundled_data_set_reports_the_test_metric_per_epoch(tmp_path, capsys):
    from halp_hw.golden.datasets import load_sklearn_dataset

    assert run_golden(tmp_path, "--dataset", "diabetes", "--epochs", "2", "--target", "1e-3") == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    problem, description = load_sklearn_dataset("diabetes", "linreg", seed=0)
    assert results["problem"]["source"] == description
    assert (results["problem"]["n"], results["problem"]["d"]) == (problem.n, problem.d)
    for entry in results["solvers"].values():
        assert entry["test_metric"]["name"] == "rmse"
        values = entry["test_metric"]["values"]
        assert len(values) == 3
        assert values[0] == pytest.approx(problem.holdout.evaluate(np.zeros(problem.d)))
    printed = capsys.readouterr().out
    assert "standardized features (training mean and std)" in printed
    assert "epochs to 0.001" in printed and "test rmse" in printed
    assert results["warnings"] == []


def test_raw_features_are_announced(tmp_path, capsys):
    status = run_golden(tmp_path, "--dataset", "breast_cancer", "--problem", "svm", "--l2",
                        "0.01", "--no-standardize", "--epochs", "1", "--step-size", "1e-7",
                        "--epoch-length", "10")
    assert status in (0, 1)  # it ran (a one-epoch run on raw data may be diagnosed as diverged)
    assert "raw features (--no-standardize)" in capsys.readouterr().out
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert "raw features" in results["problem"]["source"]


def test_svm_on_synthetic_data_matches_the_golden_model(tmp_path):
    from halp_hw.golden.data import synthetic_problem

    assert run_golden(tmp_path, "--problem", "svm", "--seed", "3", *SMALL) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    problem, source = synthetic_problem("svm", 80, 6, 3)
    assert results["problem"]["name"] == "svm" and results["problem"]["source"] == source
    assert set(np.unique(problem.y)) == {-1.0, 1.0}
    trace = make_solvers(problem, bits=8)["halp"].run(problem, 3, seed=3)
    assert results["solvers"]["halp"]["rel_subopt"] == trace.rel_subopt


def test_hardware_mode_is_the_sixth_trace_with_halps_hyperparameters(tmp_path, capsys):
    from halp_hw.golden.hardware import HardwareConfig, HardwareRun, run_halp_hardware

    assert run_golden(tmp_path, "--problem", "logreg", "--seed", "3", "--bits", "6", "--hardware",
                      *SMALL) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert list(results["solvers"]) == [*SOLVER_KEYS, "halp_hw"]
    problem = synthetic_logreg(80, 6, seed=3)
    halp = make_solvers(problem, bits=6)["halp"]
    expected = run_halp_hardware(
        problem, HardwareConfig(bits=6, problem="logreg", n_max=80, d_max=6),
        HardwareRun(step_size=halp.step_size, mu=halp.mu, epoch_length=halp.epoch_length,
                    epochs=3, seed=3))
    entry = results["solvers"]["halp_hw"]
    assert entry["rel_subopt"] == expected.rel_subopt and len(entry["rel_subopt"]) == 4
    assert entry["cycles"] == expected.cycles and min(entry["cycles"][1:]) > 0
    assert entry["hyperparameters"]["step_size"] == results["settings"]["step_size"]
    assert entry["hyperparameters"]["mu"] == results["settings"]["mu"]
    assert entry["hyperparameters"]["bits"] == 6
    assert "halp_hw" in capsys.readouterr().out
