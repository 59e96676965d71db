"""HALP end to end on the accelerator: one backend's run (:mod:`.backends`), the performance
model, the CPU baselines and the golden references, the report and its plots."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from halp_hw.golden.diagnosis import any_diverged, diagnose
from halp_hw.golden.hardware import HardwareConfig, HardwareRun
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.problems import Problem
from halp_hw.models import perf
from halp_hw.models.baseline import BASELINE_DTYPES, BASELINE_LOOPS, svrg_baseline

from .accuracy import accuracy_report
from .backends import run_backend

__all__ = ["SimulationOutcome", "simulate", "write_report"]

#: Memory bandwidths (bytes per cycle) of the roofline plot.
ROOFLINE_BANDWIDTHS = (1, 2, 4, 8, 16, 32, 64)


@dataclasses.dataclass(frozen=True)
class SimulationOutcome:
    """What :func:`simulate` produced.

    Attributes
    ----------
    results : dict
        The ``results.json`` content.
    traces : dict of str to halp_hw.golden.trace.Trace
        The accelerator run (``halp_hw``) and the golden references (``svrg``, ``halp``), in
        plotting order.
    """

    results: dict
    traces: dict


def _reference_traces(problem: Problem, config: HardwareConfig, run: HardwareRun) -> dict:
    """Float64 SVRG and real-valued HALP with the accelerator run's hyperparameters."""
    from halp_hw.golden.solvers import HALP, SVRG

    shared = {"step_size": run.step_size, "epoch_length": run.epoch_length}
    solvers = {"svrg": SVRG(**shared), "halp": HALP(bits=config.bits, mu=run.mu, **shared)}
    return {key: solver.run(problem, run.epochs, run.seed) for key, solver in solvers.items()}


def simulate(problem: Problem, config: HardwareConfig, run: HardwareRun, *, backend: str,
             clock_mhz: float, clock_source: str, work_dir: Path,
             on_host=None, memory: MemoryTiming | None = None) -> SimulationOutcome:
    """Run HALP on ``backend``, the performance model, the CPU baseline and the references.

    Parameters
    ----------
    problem, config, run, backend, work_dir, on_host, memory
        As for :func:`run_backend`.
    clock_mhz : float
        The clock of the modeled times.
    clock_source : str
        Where the clock came from (recorded in the report).
    """
    memory = MemoryTiming() if memory is None else memory
    accelerator = run_backend(backend, problem, config, run, memory=memory, work_dir=work_dir,
                              on_host=on_host)
    trace = accelerator.trace
    model = perf.performance_report(config, problem.d, run.epoch_length, run.epochs, clock_mhz,
                                    memory, run.order, n=problem.n,
                                    full_gradient=run.full_gradient)
    counted = sum(trace.cycles)
    loop = accelerator.loop
    # with the full gradient on chip the host does no per-epoch work: the end-to-end time is
    # the accelerator's cycles alone
    on_chip = run.full_gradient == "accelerator"
    host_per_epoch = 0.0 if on_chip else loop.host_seconds / run.epochs
    modeled_run_seconds = model["modeled_seconds"] + host_per_epoch * run.epochs
    inner_steps = run.epochs * run.epoch_length
    baselines = {(kind, dtype): svrg_baseline(problem, dtype=dtype, step_size=run.step_size,
                                              epoch_length=run.epoch_length, epochs=run.epochs,
                                              seed=run.seed, loop=kind)
                 for kind in BASELINE_LOOPS for dtype in BASELINE_DTYPES}
    references = _reference_traces(problem, config, run)
    findings = diagnose(trace, problem.d, references["svrg"])
    diverged = any_diverged(findings)
    epochs = [
        {"epoch": k, "rel_subopt": trace.rel_subopt[k], "subopt": trace.subopt[k],
         "dist": trace.dist[k], "scale": trace.scale[k], "cycles": trace.cycles[k],
         "saturations": trace.saturations[k], "z": loop.z[k - 1],
         **({trace.test_metric["name"]: trace.test_metric["values"][k]}
            if trace.test_metric else {})}
        for k in range(1, run.epochs + 1)
    ]
    results = {
        "configuration": {
            "problem": problem.name, "n": problem.n, "d": problem.d, "backend": backend,
            "epochs": run.epochs, "epoch_length": run.epoch_length, "step_size": run.step_size,
            "mu": run.mu, "seed": run.seed, "sample_order": run.order,
            "full_gradient": run.full_gradient, "bits": config.bits,
            "data_bits": config.data_bits, "gradient_data_bits": config.gradient_data_bits,
            "center_bits": config.center_bits,
            "frac_bits": config.frac_bits, "lanes": config.lanes, "n_max": config.n_max,
            "d_max": config.d_max, "clock_mhz": clock_mhz, "clock_source": clock_source,
            "data_exponent": trace.hyperparameters["data_exponent"],
            "step_mantissa": trace.hyperparameters["step_mantissa"],
            "center_exponent": trace.hyperparameters.get("center_exponent"),
        },
        "cycles_per_inner_step": model["cycles_per_inner_step"],
        "bound": model["bound"],
        "roofline": perf.roofline(config, problem.d, memory, clock_mhz, ROOFLINE_BANDWIDTHS,
                                  run.order),
        "initial": {"rel_subopt": trace.rel_subopt[0], "subopt": trace.subopt[0],
                    "dist": trace.dist[0], "scale": trace.scale[0]},
        "epochs": epochs,
        "totals": {
            "inner_steps": inner_steps, "cycles": counted,
            "cycles_match_model": counted == model["cycles_total"],
            "saturations": sum(trace.saturations), "final_rel_subopt": trace.rel_subopt[-1],
            "best_rel_subopt": min(trace.rel_subopt),
            "test_metric": (None if trace.test_metric is None else
                            {"name": trace.test_metric["name"],
                             "final": trace.test_metric["values"][-1]}),
            "build_seconds": accelerator.build_seconds,
            "backend_seconds": accelerator.total_seconds,
            "run_command_seconds": loop.run_seconds,
            "simulated_cycles_per_second": (counted / loop.run_seconds if loop.run_seconds > 0
                                            else None),
        },
        "performance": {
            **model,
            "host_seconds": loop.host_seconds,
            "host_seconds_per_epoch": loop.host_seconds / run.epochs,
            "host_load_seconds": accelerator.host_load_seconds,
            "modeled_run_seconds": modeled_run_seconds,
        },
        "baseline": {
            **{dtype: baselines["numpy", dtype].to_dict() for dtype in BASELINE_DTYPES},
            "compiled": {dtype: baselines["compiled", dtype].to_dict()
                         for dtype in BASELINE_DTYPES},
            # a run that diverged did not do the work the baseline does: no speedup
            "speedup_over_float64_run": (None if diverged else
                                         baselines["numpy", "float64"].seconds
                                         / modeled_run_seconds),
            "speedup_over_float64_inner_steps": (None if diverged else
                                                 model["inner_steps_per_second"]
                                                 / baselines["numpy", "float64"].steps_per_second),
            "speedup_over_compiled_float32_run": (None if diverged else
                                                  baselines["compiled", "float32"].seconds
                                                  / modeled_run_seconds),
        },
        "accuracy": accuracy_report(
            problem, trace, np.array(loop.center),
            data_bits=(config.gradient_data_bits or config.data_bits) if on_chip else None,
            clock_mhz=clock_mhz, host_seconds_per_epoch=host_per_epoch,
            baseline=baselines["compiled", "float32"]),
        "references": {key: ref.rel_subopt for key, ref in references.items()},
        "diagnosis": [finding.to_dict() for finding in findings],
        "diverged": diverged,
    }
    return SimulationOutcome(results, {"halp_hw": trace, **references})


def _plot_cycles(results: dict, path: Path) -> None:
    """Counted cycles per epoch against the performance model's prediction."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    config, model = results["configuration"], results["performance"]
    figure = Figure(figsize=(7.0, 4.0), dpi=120, layout="constrained")
    axes = figure.add_subplot()
    axes.bar([e["epoch"] for e in results["epochs"]], [e["cycles"] for e in results["epochs"]],
             color="C3", label=f"counted by the accelerator ({config['backend']})")
    axes.axhline(model["cycles_per_epoch"], color="k", linestyle="--",
                 label=f"performance model: {model['cycles_per_epoch']} cycles per RUN of T")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, 1.3 * model["cycles_per_epoch"])
    axes.set_xlabel("epoch k")
    axes.set_ylabel("accelerator cycles")
    axes.set_title(f"cycles per epoch: d={config['d']}, {config['lanes']} lanes, "
                   f"{model['cycles_per_inner_step']} cycles per inner step, "
                   f"MAC utilization {model['mac_utilization']:.0%}", fontsize=10)
    axes.legend(loc="upper right")
    figure.savefig(path)


def _plot_roofline(results: dict, path: Path) -> None:
    """Inner steps per second against the memory bandwidth, the compute ceiling, and the
    configured memory marked."""
    from matplotlib.figure import Figure

    config, model, line = results["configuration"], results["performance"], results["roofline"]
    memory = model["memory"]
    figure = Figure(figsize=(7.0, 4.2), dpi=120, layout="constrained")
    axes = figure.add_subplot()
    axes.plot(line["bytes_per_cycle"], line["inner_steps_per_second"], "o-", color="C0",
              label=f"model: latency {memory['latency']} cycles, burst {memory['burst_bytes']} B")
    axes.axhline(line["compute_ceiling"], color="k", linestyle="--",
                 label=f"compute ceiling: ceil(d/L) + {model['pipeline_latency']} cycles")
    axes.plot([memory["bytes_per_cycle"]], [model["inner_steps_per_second"]], "*", color="C3",
              markersize=14, label=f"configured: {memory['bytes_per_cycle']} B/cycle "
                                   f"({model['bound']}-bound)")
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("memory bandwidth (bytes per cycle)")
    axes.set_ylabel(f"inner steps / s at {config['clock_mhz']:g} MHz")
    axes.set_title(f"roofline: d={config['d']}, {config['lanes']} lanes x "
                   f"{config['data_bits']}-bit data, {config['sample_order']} sample order",
                   fontsize=10)
    axes.legend(loc="lower right", fontsize=8)
    figure.savefig(path)


def write_report(outcome: SimulationOutcome, out_dir: Path) -> list:
    """Write ``results.json``, ``convergence.png``, ``cycles.png`` and ``roofline.png``; return
    their paths."""
    from halp_hw.plots import plot_convergence

    results, config = outcome.results, outcome.results["configuration"]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "results.json", out_dir / "convergence.png", out_dir / "cycles.png",
             out_dir / "roofline.png"]
    paths[0].write_text(json.dumps(results, indent=1) + "\n")
    plot_convergence(outcome.traces, paths[1],
                     f"HALP on the accelerator ({config['backend']} backend, {config['bits']}-bit, "
                     f"{config['lanes']} lanes)\nvs golden float64 SVRG and real-valued HALP\n"
                     f"{config['problem']} N={config['n']}, d={config['d']}, "
                     f"T={config['epoch_length']}, alpha={config['step_size']:g}, "
                     f"mu={config['mu']:g}, seed {config['seed']}")
    _plot_cycles(results, paths[2])
    _plot_roofline(results, paths[3])
    return paths
