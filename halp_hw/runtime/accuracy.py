"""What a run's accuracy means and what reaching it costs: the floor of the quantized data, the
suboptimality on the quantized problem, and the modeled time to each accuracy against the
compiled float32 CPU baseline of the same run."""

from __future__ import annotations

import numpy as np

from halp_hw.golden.floor import quantization_floor, quantized_problem
from halp_hw.models.baseline import REPORTED_TARGETS, BaselineRun, seconds_to_reach

__all__ = ["accuracy_report"]


def accuracy_report(problem, trace, center, *, data_bits: int, clock_mhz: float,
                    host_seconds_per_epoch: float, baseline: BaselineRun) -> dict:
    """The floor and time-to-accuracy section of ``results.json``.

    Parameters
    ----------
    problem : Problem
        The float64 problem.
    trace : Trace
        The accelerator run (cycles per epoch).
    center : numpy.ndarray
        The final center ``w~`` (read only with ``data_bits``).
    data_bits : int or None
        Width of the data the accelerator's full gradient sees: its quantized problem's optimum
        is the run's fixed point, so the report gives that floor and the suboptimality on the
        quantized problem. None when the host computes the full gradient (the fixed point is
        the true optimum).
    clock_mhz : float
        The clock of the modeled time.
    host_seconds_per_epoch : float
        Host time added per epoch to the modeled time (0 with the full gradient on chip).
    baseline : BaselineRun
        The compiled float32 SVRG of the same run.
    """
    cycles = np.cumsum(trace.cycles)
    modeled = [c / (clock_mhz * 1e6) + k * host_seconds_per_epoch for k, c in enumerate(cycles)]
    targets = {}
    for target in REPORTED_TARGETS:
        accelerator = seconds_to_reach(trace.rel_subopt, modeled, target)
        cpu = baseline.seconds_to_reach(target)
        targets[f"{target:g}"] = {
            "accelerator_seconds": accelerator, "compiled_float32_seconds": cpu,
            "speedup": None if accelerator is None or cpu is None else cpu / accelerator}
    report = {"time_to_rel_subopt": targets, "final_rel_subopt": trace.rel_subopt[-1]}
    if data_bits is None:
        return report
    floor = quantization_floor(problem, data_bits)
    quantized, _ = quantized_problem(problem, data_bits)
    start = quantized.suboptimality(np.zeros(problem.d))
    return {
        **report,
        "floor": floor.to_dict(),
        "final_over_floor": (trace.rel_subopt[-1] / floor.rel_subopt if floor.rel_subopt > 0
                             else None),
        "quantized_problem_final_rel_subopt": (quantized.suboptimality(center) / start
                                               if start > 0 else 0.0),
    }
