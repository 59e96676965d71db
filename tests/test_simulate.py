"""``halp-hw simulate``: the report, agreement of every backend, and input errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from halp_hw.golden.data import paper_linreg
from halp_hw.golden.datasets import load_sklearn_dataset
from halp_hw.golden.hardware import HardwareConfig, HardwareRun, run_halp_hardware
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.defaults import default_mu, default_step_size
from halp_hw.cli import main
from halp_hw.runtime.backends import RTL_BACKENDS, run_backend
from halp_hw.runtime.simulators import simulator_unavailable_reason

N, D, LANES, BITS, EPOCHS, T, STEP, MU, SEED = 24, 10, 4, 8, 3, 20, 0.01, 4.0, 5
#: A memory that keeps up with the pipeline: a row of 3 words is requested in cycle 1 and
#: complete, seen by the core, in cycle 1 + 2 + 3 + 1 = 7 < 3 + 7.
FAST_MEMORY = ["--mem-latency", "3", "--mem-bytes-per-cycle", "8"]
SMALL = ["--n", str(N), "--d", str(D), "--lanes", str(LANES), "--bits", str(BITS),
         "--epochs", str(EPOCHS), "--epoch-length", str(T), "--step-size", str(STEP),
         "--mu", str(MU), "--seed", str(SEED), *FAST_MEMORY]
#: A slow memory and the host-given order: each row of 3 words of 4 bytes takes 12 cycles
#: and a latency of 50: memory-bound, 12 cycles per step in the steady state.
SLOW_HOST_ORDER = ["--mem-latency", "50", "--mem-bytes-per-cycle", "1", "--order", "host"]
SMALL_CONFIG = HardwareConfig(bits=BITS, lanes=LANES, d_max=D, n_max=N)


def simulate_cli(out, *args) -> int:
    return main(["simulate", *SMALL, "--out", str(out), *args])


@pytest.fixture(scope="module")
def model_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    assert simulate_cli(out) == 0
    return out, json.loads((out / "results.json").read_text())


def test_model_run_equals_golden_hardware_mode(model_results):
    """The ``model`` backend is the golden hardware mode: the same trace, number for number."""
    _, results = model_results
    golden = run_halp_hardware(paper_linreg(N, D, SEED), SMALL_CONFIG,
                               HardwareRun(STEP, MU, T, EPOCHS, SEED),
                               memory=MemoryTiming(latency=3, bytes_per_cycle=8))
    epochs = results["epochs"]
    assert [e["epoch"] for e in epochs] == list(range(1, EPOCHS + 1))
    assert results["initial"]["rel_subopt"] == golden.rel_subopt[0] == 1.0
    for key in ("rel_subopt", "subopt", "saturations", "scale", "cycles"):
        assert [e[key] for e in epochs] == getattr(golden, key)[1:], key


def test_reported_z_rebuilds_the_iterate(model_results):
    """``w~_E = sum_k z_k * scale_k``: the reported z are the ones that moved the center."""
    _, results = model_results
    problem = paper_linreg(N, D, SEED)
    center = np.zeros(D)
    for epoch in results["epochs"]:
        assert len(epoch["z"]) == D
        assert all(abs(v) < 2 ** (BITS - 1) or v == -(2 ** (BITS - 1)) for v in epoch["z"])
        center = center + np.array(epoch["z"], dtype=np.float64) * epoch["scale"]
        assert problem.suboptimality(center) == epoch["subopt"]


def test_report_cycles_performance_and_baseline(model_results):
    out, results = model_results
    step = SMALL_CONFIG.step_cycles(D)
    assert results["cycles_per_inner_step"] == step == math.ceil(D / LANES) + 7
    assert results["bound"] == model_bound(results) == "compute"
    assert [e["cycles"] for e in results["epochs"]] == [T * step] * EPOCHS
    totals, model = results["totals"], results["performance"]
    assert totals["cycles"] == model["cycles_total"] == EPOCHS * T * step
    assert totals["cycles_match_model"] is True
    assert totals["inner_steps"] == EPOCHS * T
    assert totals["saturations"] == sum(e["saturations"] for e in results["epochs"])
    assert model["clock_mhz"] == 100.0 and results["configuration"]["clock_source"] == "default"
    assert model["modeled_run_seconds"] == pytest.approx(
        EPOCHS * T * step / 100e6 + model["host_seconds"])
    assert model["host_seconds_per_epoch"] == pytest.approx(model["host_seconds"] / EPOCHS)
    assert model["host_load_seconds"] > 0
    assert 0 < model["mac_utilization"] < 1
    baseline = results["baseline"]
    for dtype in ("float64", "float32"):
        assert baseline[dtype]["inner_steps"] == EPOCHS * T
        assert len(baseline[dtype]["rel_subopt"]) == EPOCHS + 1
        assert baseline[dtype]["seconds"] > 0
    assert baseline["speedup_over_float64_run"] == pytest.approx(
        baseline["float64"]["seconds"] / model["modeled_run_seconds"])
    for dtype in ("float64", "float32"):
        compiled = baseline["compiled"][dtype]
        assert (compiled["loop"], compiled["dtype"]) == ("compiled", dtype)
        assert compiled["inner_steps"] == EPOCHS * T
        assert compiled["rel_subopt"][1:] == pytest.approx(baseline[dtype]["rel_subopt"][1:],
                                                           rel=1e-3)
        assert compiled["epoch_seconds"][-1] == compiled["seconds"] > 0
    assert baseline["speedup_over_compiled_float32_run"] == pytest.approx(
        baseline["compiled"]["float32"]["seconds"] / model["modeled_run_seconds"])
    assert set(results["references"]) == {"svrg", "halp"}
    assert len(results["references"]["svrg"]) == EPOCHS + 1
    configuration = results["configuration"]
    assert (configuration["n"], configuration["d"], configuration["lanes"]) == (N, D, LANES)
    assert configuration["backend"] == "model" and configuration["seed"] == SEED
    for plot in ("convergence.png", "cycles.png", "roofline.png"):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def model_bound(results) -> str:
    return results["performance"]["bound"]


def test_memory_bound_run_and_roofline(tmp_path, capsys):
    assert simulate_cli(tmp_path, *SLOW_HOST_ORDER) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    # a row (3 words of 4 bytes) holds the channel 12 cycles at 1 byte per cycle, more than the
    # 3 + 7 = 10 of compute: 12 a step in the steady state
    assert results["cycles_per_inner_step"] == 12 and results["bound"] == "memory"
    # A RUN starts with rows i_0..i_6 on chip; step u waits for the row requested by step
    # u - 5. Steps 0..4 cost 10; row r (requested in cycle 10r + 1) arrives after 50 cycles of
    # latency and back to back on the channel, its last word in cycle 62 + 12r, so step u >= 5
    # ends in cycle 62 + 12(u - 5) + 1 = 12u + 3: the RUN of 20 costs 12 * 19 + 3 = 231.
    assert [e["cycles"] for e in results["epochs"]] == [231] * EPOCHS
    assert results["configuration"]["sample_order"] == "host"
    line = results["roofline"]
    assert line["bytes_per_cycle"][0] == 1 and line["inner_steps_per_second"][0] == 1e8 / 12
    # from 4 bytes per cycle on a word per cycle: the row's round trip 50 + 3 over 6 steps
    # (9) and the order entry's 50 + 1 + 3 over 8 (7) are hidden behind the 10 of compute
    assert line["inner_steps_per_second"][-1] == 1e8 / 10
    assert line["compute_ceiling"] == 1e8 / 10
    assert "memory-bound" in capsys.readouterr().out


def test_paper_problem_reaches_1e_minus_9():
    """The issue's acceptance run: N=1000, d=100, 8 bits, 8 lanes, 20 epochs on the model,
    with the command's defaults (the golden solvers' step size, mu and T = N)."""
    problem = paper_linreg(1000, 100, 0)
    config = HardwareConfig(bits=8, lanes=8, d_max=100, n_max=1000)
    run = HardwareRun(default_step_size(problem), default_mu(problem), 1000, 20, 0)
    result = run_backend("model", problem, config, run)
    assert min(result.trace.rel_subopt) <= 1e-9
    assert config.step_cycles(100) <= math.ceil(100 / 8) + 10


@pytest.mark.parametrize("backend", RTL_BACKENDS)
def test_rtl_backend_agrees_with_model(backend, model_results, tmp_path, request, monkeypatch):
    """Same seed, same numbers: z bit for bit, cycles and saturations exactly, and hence the
    same suboptimality, on the RTL as on the golden model; with relative --out and --build-dir
    (the simulator process runs in another directory)."""
    if backend != "amaranth":
        reason = simulator_unavailable_reason(backend)
        if reason:
            pytest.skip(reason)
    # The RTL builds go where the other cocotb tests cache theirs (conftest's --sim-build),
    # reached through a relative link.
    build_root = request.config.getoption("--sim-build") or request.config.cache.mkdir("sim_build")
    (tmp_path / "builds").symlink_to(Path(build_root).resolve())
    monkeypatch.chdir(tmp_path)
    assert simulate_cli(Path("out"), "--backend", backend, "--build-dir", "builds") == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    _, expected = model_results
    assert results["configuration"]["backend"] == backend
    assert results["epochs"] == expected["epochs"]
    assert results["initial"] == expected["initial"]
    assert results["totals"]["cycles"] == expected["totals"]["cycles"]


@pytest.mark.parametrize("backend", ["amaranth", "verilator"])
def test_rtl_backend_agrees_with_model_memory_bound_host_order(backend, tmp_path, request):
    """A slow memory and a host-given order: the same z and cycles on the RTL as the model."""
    if backend != "amaranth" and simulator_unavailable_reason(backend):
        pytest.skip(simulator_unavailable_reason(backend))
    build_root = request.config.getoption("--sim-build") or request.config.cache.mkdir("sim_build")
    assert simulate_cli(tmp_path / "model", *SLOW_HOST_ORDER) == 0
    assert simulate_cli(tmp_path / "rtl", *SLOW_HOST_ORDER, "--backend", backend,
                        "--build-dir", str(build_root)) == 0
    expected, results = (json.loads((tmp_path / kind / "results.json").read_text())
                         for kind in ("model", "rtl"))
    assert results["epochs"] == expected["epochs"]
    assert results["totals"]["cycles"] == expected["totals"]["cycles"] == EPOCHS * 231


#: Logistic regression and the SVM (synthetic data, L2 keeps the optimum finite), with the fast
#: memory: the pass (3 beats + 7 + the loss's extra stages) sets the cycles, not the fetch.
GLM = ["--n", "24", "--d", "10", "--lanes", "4", "--epochs", "2", "--epoch-length", "20",
       "--l2", "0.05", "--seed", "5", *FAST_MEMORY]


@pytest.mark.parametrize("problem, step_cycles", [("logreg", 3 + 7 + 10), ("svm", 3 + 7 + 3)])
@pytest.mark.parametrize("backend", ["model", *RTL_BACKENDS])
def test_logistic_and_svm_run_on_every_backend(problem, step_cycles, backend, tmp_path,
                                               request):
    """The RTL of the logistic and the SVM core gives the model's numbers, cycles included."""
    if backend not in ("model", "amaranth") and simulator_unavailable_reason(backend):
        pytest.skip(simulator_unavailable_reason(backend))
    build_root = request.config.getoption("--sim-build") or request.config.cache.mkdir("sim_build")
    args = ["simulate", *GLM, "--problem", problem, "--build-dir", str(build_root)]
    assert main([*args, "--out", str(tmp_path / "model")]) == 0
    assert main([*args, "--out", str(tmp_path / "run"), "--backend", backend]) == 0
    expected, results = (json.loads((tmp_path / kind / "results.json").read_text())
                         for kind in ("model", "run"))
    assert results["configuration"]["backend"] == backend
    assert results["epochs"] == expected["epochs"]
    assert results["totals"]["cycles"] == expected["totals"]["cycles"] == 2 * 20 * step_cycles
    assert results["epochs"][-1]["rel_subopt"] < 1.0


def test_data_file_and_synth_clock(tmp_path, capsys):
    problem = paper_linreg(N, D, SEED)
    data = tmp_path / "data.npz"
    np.savez(data, X=problem.X, y=problem.y)
    synth = tmp_path / "synth.json"
    synth.write_text(json.dumps({"design": "core", "target": "ecp5", "fmax_mhz": 62.5,
                                 "config": {"bits": 8, "lanes": 4, "data_bits": 8,
                                            "frac_bits": 16, "n_max": N, "d_max": D}}))
    out = tmp_path / "out"
    assert main(["simulate", "--data", str(data), "--lanes", "4", "--epochs", "2",
                 "--epoch-length", "10", "--step-size", str(STEP), "--synth-json", str(synth),
                 "--out", str(out), *FAST_MEMORY]) == 0
    results = json.loads((out / "results.json").read_text())
    assert (results["configuration"]["n"], results["configuration"]["d"]) == (N, D)
    assert results["performance"]["clock_mhz"] == 62.5
    assert str(synth) in results["configuration"]["clock_source"]
    assert results["performance"]["modeled_seconds"] == pytest.approx(
        2 * 10 * SMALL_CONFIG.step_cycles(D) / 62.5e6)
    assert "62.5 MHz" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--bits", "1"], "bits must be an integer in 2..16, not 1"),
    (["--lanes", "0"], "lanes must be an integer in 1..64, not 0"),
    (["--n", "0"], "n must be an integer >= 1, not 0"),
    (["--epochs", "0"], "epochs must be an integer >= 1, not 0"),
    (["--epoch-length", "0"], "epoch length must be an integer >= 1, not 0"),
    (["--seed", "-1"], "seed must be an integer >= 0, not -1"),
    (["--step-size", "1e9"], "step size 1e+09 is outside"),
    (["--mu", "0"], "mu must be a finite number > 0, not 0"),
    (["--clock-mhz", "-5"], "--clock-mhz must be a finite number > 0, not -5"),
    (["--mem-latency", "0"], "memory latency (cycles) must be an integer in 1..4096, not 0"),
    (["--mem-bytes-per-cycle", "0"],
     "memory bandwidth (bytes per cycle) must be an integer in 1..4096, not 0"),
    (["--synth-json", "missing.json"], "missing.json does not exist"),
    (["--data", "missing.npz"], "--n and --d size synthetic data"),
    (["--no-standardize"], "--no-standardize applies to --dataset only"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, args, message):
    assert main(["simulate", "--n", "8", "--d", "4", "--epochs", "1", "--epoch-length", "2",
                 "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("halp-hw simulate: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "results.json").exists()


def test_a_missing_data_file_exits_2_naming_it(tmp_path, capsys):
    assert main(["simulate", "--data", "missing.npz", "--out", str(tmp_path)]) == 2
    assert "data file missing.npz (problem linreg): does not exist" in capsys.readouterr().err


def test_size_flags_are_refused_with_a_data_set(tmp_path, capsys):
    assert main(["simulate", "--dataset", "diabetes", "--n", "5", "--out", str(tmp_path)]) == 2
    assert "--n and --d size synthetic data; with --data or --dataset the data set sets them" \
        in capsys.readouterr().err


def test_bundled_data_set_reports_the_test_metric_per_epoch(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["simulate", "--dataset", "breast_cancer", "--lanes", "4", "--epochs", "3",
                 "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    problem, _ = load_sklearn_dataset("breast_cancer", "linreg", seed=0)
    assert (results["configuration"]["n"], results["configuration"]["d"]) == (455, 31)
    accuracies = [row["accuracy"] for row in results["epochs"]]
    assert len(accuracies) == 3 and all(0.5 < value <= 1 for value in accuracies)
    assert results["totals"]["test_metric"] == {"name": "accuracy", "final": accuracies[-1]}
    printed = capsys.readouterr().out
    assert "standardized features" in printed and f"test accuracy {accuracies[-1]:.4g}" in printed
    assert problem.holdout.X.shape == (114, 31)


def test_missing_simulator_exits_2(tmp_path, capsys, monkeypatch):
    from halp_hw.runtime import simulators

    monkeypatch.setattr(simulators, "simulator_unavailable_reason",
                        lambda simulator: f"{simulator} is not installed")
    assert simulate_cli(tmp_path, "--backend", "verilator") == 2
    assert ("backend verilator cannot run on this machine: verilator is not installed"
            in capsys.readouterr().err)


def test_cycle_count_disagreeing_with_the_model_is_exit_1(tmp_path, capsys, monkeypatch):
    """A backend that counts one cycle too many per run command is caught and reported."""
    from halp_hw.golden.hardware import AcceleratorModel

    original_run = AcceleratorModel.run

    def one_cycle_late(self, steps):
        original_run(self, steps)
        self.cycles += 1

    monkeypatch.setattr(AcceleratorModel, "run", one_cycle_late)
    assert simulate_cli(tmp_path) == 1
    expected = EPOCHS * T * SMALL_CONFIG.step_cycles(D)
    assert (f"the model backend counted {expected + EPOCHS} cycles, the performance model "
            f"predicts {expected}") in capsys.readouterr().err
    assert json.loads((tmp_path / "results.json").read_text())["totals"]["cycles_match_model"] \
        is False


def test_rtl_epoch_on_chip_reports_the_center_it_read_back(tmp_path, request):
    """With the whole epoch on chip the RTL run's host lives in the simulator process: the
    report's accuracy on the quantized problem comes from the center read back there, the
    model's figure, not the untouched starting center (rel_subopt 1)."""
    if simulator_unavailable_reason("verilator"):
        pytest.skip(simulator_unavailable_reason("verilator"))
    build_root = request.config.getoption("--sim-build") or request.config.cache.mkdir("sim_build")
    args = ["--n", "40", "--d", "10", "--lanes", "4", "--epochs", "3", "--epoch-length", "20",
            "--seed", "1", "--l2", "0.01", "--full-gradient", "accelerator"]
    assert simulate_cli(tmp_path / "model", *args) == 0
    assert simulate_cli(tmp_path / "rtl", *args, "--backend", "verilator",
                        "--build-dir", str(build_root)) == 0
    expected, results = (json.loads((tmp_path / kind / "results.json").read_text())
                         for kind in ("model", "rtl"))
    assert results["epochs"] == expected["epochs"]
    quantized = results["accuracy"]["quantized_problem_final_rel_subopt"]
    assert quantized == expected["accuracy"]["quantized_problem_final_rel_subopt"]
    assert 0 <= quantized < 0.5
