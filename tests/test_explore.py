"""``halp-hw explore``: a tiny sweep on an embedded Dask cluster and on a real scheduler with two
workers, the task cache, failures recorded, the rows and the Pareto front, and input errors."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys

import pytest

from halp_hw.cli import main
from halp_hw.explore.cache import TaskCache
from halp_hw.explore.execution import run_tasks
from halp_hw.explore.rows import COLUMNS, config_row, mark_pareto_front
from halp_hw.explore.tasks import Task

#: One test worker runs this module: the embedded sweep (a module-scoped fixture) is made once.
pytestmark = [pytest.mark.xdist_group("test_explore"), pytest.mark.long(19)]

#: A sweep small enough for CI: technology-independent synthesis of a core with 64 x 4 memories,
#: and a 64-sample, 4-feature problem (well conditioned: 1e-5 within a few epochs), on a memory
#: that never makes a step wait (latency 1, 64 bytes per cycle).
TINY = ["explore", "--n", "64", "--d", "4", "--bits", "4,12", "--lanes", "2", "--seeds", "0,1",
        "--epochs", "8", "--accuracy", "1e-5", "--target", "generic", "--n-max", "64",
        "--d-max", "4", "--mem-latency", "1", "--mem-bytes-per-cycle", "64", "--quiet"]


def _records(out_dir):
    return {path.name: json.loads(path.read_text())
            for path in sorted((out_dir / "tasks").glob("*.json"))}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("embedded")
    assert main([*TINY, "--workers", "1", "--out", str(out_dir)]) == 0
    return out_dir


def test_embedded_run_writes_every_output(embedded):
    result = json.loads((embedded / "explore.json").read_text())
    rows = result["rows"]
    assert [(row["bits"], row["lanes"]) for row in rows] == [(4, 2), (12, 2)]
    assert all(list(row) == COLUMNS for row in rows)
    # 2 configurations x (1 synthesis + 2 convergence runs), all run, none failed.
    assert result["tasks"]["total"] == 6 and result["tasks"]["executed"] == 6
    assert result["tasks"]["failed"] == 0
    for row in rows:
        assert row["luts"] > 0 and row["ffs"] > 0
        assert row["fmax_median_mhz"] is None  # generic: no place and route
    # Both widths reach 1e-5 on this problem; the cycles are a whole number of epochs of N = 64
    # inner steps of ceil(d / L) beats + the pipeline latency (6 + one adder-tree stage).
    step_cycles = 2 + 6 + 1
    for row in rows:
        assert row["seeds_reached"] == "2/2" and 1 <= row["epochs"] <= 8
        assert row["cycles"] == row["epochs"] * 64 * step_cycles
    records = [record for record in _records(embedded).values() if record["kind"] == "convergence"]
    assert len(records) == 4
    assert all(cycles == 64 * step_cycles for record in records
               for cycles in record["result"]["cycles"][1:])
    with open(embedded / "explore.csv") as handle:
        assert handle.readline().strip() == ",".join(COLUMNS)
    markdown = (embedded / "explore.md").read_text()
    assert "Cheapest configuration that reaches 1e-05: 4 bits x 2 lanes" in markdown
    for plot in ("pareto.png", "heatmap.png"):
        assert (embedded / plot).stat().st_size > 10000


def test_rerun_completes_from_the_cache(embedded):
    before = _records(embedded)
    rows_before = json.loads((embedded / "explore.json").read_text())["rows"]
    assert main([*TINY, "--workers", "1", "--out", str(embedded)]) == 0
    result = json.loads((embedded / "explore.json").read_text())
    assert result["tasks"]["executed"] == 0 and result["tasks"]["from_cache"] == 6
    # Every record is the one written by the first run (run_id is unique per execution).
    assert _records(embedded) == before
    assert result["rows"] == rows_before


def test_synthesis_key_follows_the_design_not_its_source(monkeypatch):
    """A build's synthesis is keyed by the digest of its logic: the same build gives the same
    digest in every process, another build (more lanes, the epoch on chip) another one, and the
    digest is what moves the synthesis key while the convergence keys stay."""
    from halp_hw.explore.sweep import ExploreSettings, make_tasks
    from halp_hw.flow.synth import design_digest
    from halp_hw.flow.targets import make_config
    from halp_hw.golden.data import paper_linreg

    def build(lanes):
        return make_config(target="generic", bits=8, lanes=lanes, n_max=64, d_max=4)

    digest = design_digest("core", build(2))
    assert digest == design_digest("core", build(2))
    assert len({digest, design_digest("core", build(4)),
                design_digest("core", build(2), full_gradient=True)}) == 3

    settings = ExploreSettings(bits=(8,), lanes=(2,), target="generic", n_max=64, d_max=4)
    problems = {"p": (0, paper_linreg(n=64, d=4, seed=0))}
    first = {task.label: task for task in make_tasks(settings, problems)}
    assert first["synth-b8-l2-p1"].parameters["design_digest"] == digest
    monkeypatch.setattr("halp_hw.flow.synth.design_digest", lambda *args: "another design")
    second = {task.label: task.key for task in make_tasks(settings, problems)}
    assert second["synth-b8-l2-p1"] != first["synth-b8-l2-p1"].key
    assert second["conv-b8-l2-s0"] == first["conv-b8-l2-s0"].key


def test_design_digests_are_remembered_in_the_output_directory(tmp_path, monkeypatch):
    """A sweep read again from its cache elaborates no build: the digest is read back; a build
    not seen before is still made."""
    from halp_hw.explore.cache import DesignDigests
    from halp_hw.flow.synth import design_digest
    from halp_hw.flow.targets import make_config

    seen, new = (make_config(target="generic", bits=8, lanes=lanes, n_max=64, d_max=4)
                 for lanes in (2, 3))
    made = DesignDigests(tmp_path).digest("core", seen)
    assert made == design_digest("core", seen)

    def elaborate(*args):
        raise AssertionError("elaborated")

    monkeypatch.setattr("halp_hw.flow.synth.design_digest", elaborate)
    assert DesignDigests(tmp_path).digest("core", seen) == made
    with pytest.raises(AssertionError, match="elaborated"):
        DesignDigests(tmp_path).digest("core", new)


def test_report_only_runs_nothing_and_reports_what_is_missing(embedded, tmp_path):
    out_dir = tmp_path / "copy"
    shutil.copytree(embedded, out_dir)
    extended = [item if item != "4,12" else "4,8,12" for item in TINY]
    assert main([*extended, "--report-only", "--out", str(out_dir)]) == 0
    result = json.loads((out_dir / "explore.json").read_text())
    # The 8-bit configuration's synthesis and two convergence runs are missing; nothing ran.
    assert result["tasks"]["executed"] == 0 and result["tasks"]["pending"] == 3
    middle = result["rows"][1]
    assert middle["bits"] == 8 and middle["luts"] is None and middle["seeds_reached"] is None
    assert _records(out_dir) == _records(embedded)
    assert "**Incomplete**: 3 of 9 tasks not run" in (out_dir / "explore.md").read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(processes) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def dask_cluster(tmp_path):
    """A real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    dask = [sys.executable, "-m", "dask"]
    processes = [subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
         "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for index in range(2):
            processes.append(subprocess.Popen(
                [*dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                 "--host", "127.0.0.1", "--local-directory", str(tmp_path / f"worker{index}")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        _stop(processes[1:])
        _stop(processes[:1])


def test_a_real_scheduler_with_two_workers_gives_the_embedded_result(embedded, dask_cluster,
                                                                      tmp_path, capsys):
    """The sweep's 4-bit half (a synthesis and two convergence runs) on a real scheduler: the
    same row and the same tasks as in the embedded run, run again on other workers."""
    out_dir = tmp_path / "remote"
    half = [item if item != "4,12" else "4" for item in TINY]
    assert main([*half, "--scheduler", dask_cluster, "--out", str(out_dir)]) == 0
    assert "3 run on 2 workers" in capsys.readouterr().out
    remote = json.loads((out_dir / "explore.json").read_text())
    local = json.loads((embedded / "explore.json").read_text())
    assert remote["rows"] == local["rows"][:1] and remote["rows"][0]["bits"] == 4
    assert remote["tasks"]["executed"] == 3
    # The same tasks (same cache keys), run again on other workers.
    remote_records, local_records = _records(out_dir), _records(embedded)
    assert len(remote_records) == 3 and remote_records.keys() <= local_records.keys()
    assert all(remote_records[key]["run_id"] != local_records[key]["run_id"]
               for key in remote_records)


def test_a_failing_task_is_recorded_and_the_sweep_goes_on(tmp_path):
    from dataclasses import asdict

    from halp_hw.golden.data import paper_linreg
    from halp_hw.golden.memory import MemoryTiming

    problem = paper_linreg(16, 8, 0)
    good = {"bits": 8, "lanes": 2, "data_bits": 8, "frac_bits": 16, "seed": 0,
            "step_size": 0.01, "mu": 1.0, "epoch_length": 16, "epochs": 2,
            "memory": asdict(MemoryTiming())}
    tasks = [Task("convergence", {**good, "bits": 99}, "bad", problem_name="p"),
             Task("convergence", good, "good", problem_name="p")]
    for index, task in enumerate(tasks):
        task.key = f"key{index}"
    cache = TaskCache(tmp_path)
    records, stats = run_tasks(tasks, {"p": problem}, cache, out_dir=str(tmp_path), workers=1,
                               progress=False)
    assert records["key0"]["status"] == "failed" and "bits" in records["key0"]["error"]
    assert records["key1"]["status"] == "ok" and len(records["key1"]["result"]["cycles"]) == 3
    assert stats.failed == 1 and stats.executed == 2
    assert stats.failures == [f"bad: {records['key0']['error']}"]
    # An input the hardware cannot hold fails again: cached like a result.
    assert cache.load("key0") == records["key0"]
    row = config_row(8, 2, [records["key0"], records["key1"]], [], accuracy=1e-10)
    assert "bits" in row["error"]


def test_each_width_runs_with_the_golden_default_hyperparameters_of_that_width():
    from halp_hw.explore.sweep import ExploreSettings, make_tasks
    from halp_hw.golden.data import paper_linreg
    from halp_hw.golden.defaults import default_epoch_length, default_mu, default_step_size

    # d = 40: the rounding-noise bound tr H / (0.7 (2^(b-1) - 1)) sets mu at 4 bits, not at 8.
    problem = paper_linreg(200, 40, 0)
    settings = ExploreSettings(bits=(4, 8), lanes=(1,), target="generic")
    tasks = [task for task in make_tasks(settings, {"s0": (0, problem)})
             if task.kind == "convergence"]
    mus = {task.parameters["bits"]: task.parameters["mu"] for task in tasks}
    assert mus == {bits: default_mu(problem, bits) for bits in (4, 8)}
    assert mus[4] > 2 * mus[8]
    step = default_step_size(problem)
    assert all(task.parameters["step_size"] == step and
               task.parameters["epoch_length"] == default_epoch_length(problem, step)
               for task in tasks)
    given = make_tasks(ExploreSettings(bits=(4, 8), lanes=(1,), target="generic", mu=3.0),
                       {"s0": (0, problem)})
    assert {task.parameters["mu"] for task in given if task.kind == "convergence"} == {3.0}


# -- rows and the Pareto front on known records ----------------------------------------------------

def _convergence(values, cycles_per_epoch=100):
    return {"status": "ok", "result": {"rel_subopt": values,
                                       "cycles": [0] + [cycles_per_epoch] * (len(values) - 1)}}


def _synthesis(luts, fmax):
    return {"status": "ok", "result": {"luts": luts, "ffs": 1, "dsps": 0, "brams": 1,
                                       "fmax_mhz": fmax}}


def test_row_takes_the_worst_seed_and_the_median_fmax():
    seeds = [_convergence([1.0, 1e-4, 1e-11]), _convergence([1.0, 1e-6, 1e-9, 1e-12])]
    row = config_row(8, 4, seeds, [_synthesis(500, 90.0), _synthesis(500, 110.0),
                                   _synthesis(500, 100.0)], accuracy=1e-10)
    assert (row["seeds_reached"], row["epochs"], row["cycles"]) == ("2/2", 3, 300)
    assert (row["fmax_median_mhz"], row["fmax_min_mhz"]) == (100.0, 90.0)
    # cycles / MHz = microseconds; four significant digits kept
    assert row["time_ms"] == pytest.approx(300 / 100.0 / 1000, rel=1e-3)
    assert row["time_worst_ms"] == pytest.approx(300 / 90.0 / 1000, rel=1e-3)


def test_row_that_never_reaches_reports_its_floor():
    seeds = [_convergence([1.0, 1e-11]), _convergence([1.0, 3e-4, None, 5e-4])]
    row = config_row(4, 4, seeds, [_synthesis(300, 100.0)], accuracy=1e-10)
    assert row["seeds_reached"] == "1/2"
    assert row["epochs"] is None and row["time_ms"] is None
    assert row["floor"] == 3e-4


def test_pareto_front_keeps_the_rows_nothing_beats():
    def row(luts, time_ms):
        return {"luts": luts, "time_ms": time_ms, "fmax_median_mhz": 100.0, "cycles": 1,
                "pareto": False}
    rows = [row(100, 9.0), row(200, 5.0), row(300, 6.0), row(400, 1.0), row(150, None)]
    front = mark_pareto_front(rows, speed="time_ms")
    assert [(r["luts"], r["time_ms"]) for r in front] == [(100, 9.0), (200, 5.0), (400, 1.0)]
    assert rows[2]["pareto"] is False and rows[4]["pareto"] is False


# -- input errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, message", [
    (["--bits", "1,4"], "bits"),
    (["--bits", "4,x"], "--bits"),
    (["--lanes", "0"], "lanes"),
    (["--seeds", "0,0"], "--seeds"),
    (["--scheduler", "localhost"], "--scheduler"),
    (["--design", "lane"], "--cost-only"),
    (["--accuracy", "2"], "accuracy"),
    (["--pnr-seeds", "0"], "pnr seeds"),
    (["--data", "no-such-file.npz"], "--n and --d"),
])
def test_bad_input_is_one_line_and_exit_2(extra, message, tmp_path, capsys):
    assert main([*TINY, "--out", str(tmp_path / "out"), *extra]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error, error
    assert error.startswith("halp-hw explore: error: ")
    assert not (tmp_path / "out").exists()


def test_missing_data_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["explore", "--data", str(tmp_path / "none.npz"), "--out",
                 str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "none.npz" in error


def test_cost_only_sweeps_any_design(tmp_path, capsys):
    """The cost-only case (what ``sweep-synth`` did): the reference MACC at two widths."""
    out_dir = tmp_path / "macc"
    assert main(["explore", "--cost-only", "--design", "macc", "--target", "generic", "--bits",
                 "4,8", "--lanes", "1", "--workers", "1", "--quiet", "--out",
                 str(out_dir)]) == 0
    rows = json.loads((out_dir / "explore.json").read_text())["rows"]
    assert [(row["bits"], row["lanes"]) for row in rows] == [(4, 1), (8, 1)]
    # An 8 x 8 LUT multiplier is bigger than a 4 x 4 one; no convergence was run.
    assert rows[1]["luts"] > rows[0]["luts"] > 0
    assert all(row["seeds_reached"] is None and row["epochs"] is None for row in rows)
    assert (out_dir / "heatmap.png").stat().st_size > 0
    assert not (out_dir / "pareto.png").exists()
    assert "| bits | lanes |" in capsys.readouterr().out
