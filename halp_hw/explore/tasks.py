"""The two kinds of explore task, as functions a Dask worker runs.

A task is described by a JSON-able ``parameters`` dict (what its cache key hashes) and, for a
convergence run, the problem it trains on. :func:`execute` runs one and returns a record:
``status`` (``ok`` or ``failed``), the ``result`` or the ``error`` and whether that error is
``deterministic`` (a tool's refusal, an input the hardware cannot hold: cached like a result), the
worker's host, when it ran (``run_id``, unique per execution) and how long it took.
"""

from __future__ import annotations

import math
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Task", "cancelled_on_dask", "execute", "run_convergence", "run_cost"]


@dataclass
class Task:
    """One unit of work of an explore sweep.

    Parameters
    ----------
    kind : str
        ``convergence`` (one golden hardware-mode run) or ``synthesis`` (one synthesis and place
        and route with one placement seed).
    parameters : dict
        Everything the result depends on, JSON-able (the cache key hashes it).
    label : str
        A short name for progress and error messages.
    problem_name : str or None
        For a convergence task, which of the sweep's problems (data seeds) it trains on.

    Attributes
    ----------
    key : str
        The cache key, set by the sweep.
    """

    kind: str
    parameters: dict
    label: str
    problem_name: str | None = None
    key: str = field(default="", compare=False)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run_convergence(parameters: dict, problem) -> dict:
    """Hardware-mode HALP for ``epochs`` epochs: the relative suboptimality after each epoch
    (None where it overflowed to inf or NaN), the accelerator cycles of each epoch and the
    saturations counted. Whether and when it reaches an accuracy is read from these, so the
    same run serves any ``--accuracy``."""
    from halp_hw.golden.hardware import HardwareConfig, HardwareRun, run_halp_hardware
    from halp_hw.golden.memory import MemoryTiming

    config = HardwareConfig(bits=parameters["bits"], data_bits=parameters["data_bits"],
                            frac_bits=parameters["frac_bits"], lanes=parameters["lanes"],
                            d_max=problem.d, n_max=problem.n)
    run = HardwareRun(step_size=parameters["step_size"], mu=parameters["mu"],
                      epoch_length=parameters["epoch_length"], epochs=parameters["epochs"],
                      seed=parameters["seed"])
    trace = run_halp_hardware(problem, config, run,
                              memory=MemoryTiming(**parameters["memory"]))
    return {
        "rel_subopt": [_finite(float(value)) for value in trace.rel_subopt],
        "cycles": [int(cycles) for cycles in trace.cycles],
        "saturations": int(sum(trace.saturations)),
    }


def cancelled_on_dask() -> bool:
    """True when the caller runs as a Dask task that its client has cancelled (or released).

    Dask does not interrupt a running task; a synthesis task polls this to stop its tool
    (minutes of place and route nobody waits for) when the sweep is stopped or its client gone.
    Outside a Dask worker it is always False.
    """
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:
        return False
    state = worker.state.tasks.get(worker.get_current_task())
    return state is None or state.state == "cancelled"


def run_cost(parameters: dict, out_dir: Path) -> dict:
    """One synthesis (and place and route, for an FPGA target) of the design; the cost figures."""
    from halp_hw.flow.synth import run_synthesis
    from halp_hw.flow.targets import make_config
    from halp_hw.golden.memory import MemoryTiming

    config = make_config(target=parameters["target"], bits=parameters["bits"],
                         lanes=parameters["lanes"], data_bits=parameters["data_bits"],
                         frac_bits=parameters["frac_bits"], n_max=parameters["n_max"],
                         d_max=parameters["d_max"])
    result = run_synthesis(design=parameters["design"], target=parameters["target"],
                           config=config, out_dir=out_dir, device=parameters["device"],
                           package=parameters["package"], clock_mhz=parameters["clock_mhz"],
                           seed=parameters["pnr_seed"],
                           memory=MemoryTiming(**parameters["memory"]), progress=False,
                           stop=cancelled_on_dask)
    keep = ("luts", "ffs", "dsps", "brams", "fmax_mhz", "critical_path", "device",
            "step_cycles_at_d_max", "tools", "run_time_s")
    return {**{key: result[key] for key in keep}, "run_dir": str(out_dir)}


def execute(task: Task, problem=None, out_root: str | None = None) -> dict:
    """Run one task on this worker; never raises (a failure is a record with its reason)."""
    from halp_hw.flow.tools import ToolError
    from halp_hw.golden.validation import HalpInputError

    started = time.monotonic()
    record = {"kind": task.kind, "label": task.label, "parameters": task.parameters,
              "host": socket.gethostname(), "run_id": uuid.uuid4().hex}
    try:
        if task.kind == "convergence":
            result = run_convergence(task.parameters, problem)
        else:
            out_dir = Path(out_root) / "synth" / f"{task.label}-{task.key[:10]}"
            result = run_cost(task.parameters, out_dir)
        record.update(status="ok", result=result)
    except ToolError as error:
        record.update(status="failed", error=f"{error.tool}: {error.reason}", deterministic=True)
    except HalpInputError as error:
        record.update(status="failed", error=str(error), deterministic=True)
    except Exception as error:  # noqa: BLE001 - any other failure is recorded, not cached
        record.update(status="failed", error=f"{type(error).__name__}: {error}",
                      deterministic=False)
    record["seconds"] = round(time.monotonic() - started, 2)
    return record
