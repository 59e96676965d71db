"""The CPU baselines of ``halp-hw simulate``: SVRG in NumPy and compiled (numba), one core.

Usage::

    python benchmarks/bench_baseline.py [--n 1000] [--d 100] [--epochs 16] [--repeats 7]
                                        [--target 1e-10]

On the paper problem (``paper_linreg``, seed 0; the golden solvers' default step size, T = N) it
runs SVRG from w = 0 for ``--epochs`` epochs in each of the four baselines (NumPy / compiled x
float64 / float32), ``--repeats`` times in alternation, all in this process, and prints medians
of the inner steps per second (whole runs, full gradients included) and of the time until the
first epoch's center has ``rel_subopt <= --target``, as ratios to NumPy float64. The load
average of the machine is printed with them: the machine is shared, so expect the spread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from halp_hw.golden.data import paper_linreg
from halp_hw.golden.defaults import default_step_size
from halp_hw.models.baseline import BASELINE_DTYPES, BASELINE_LOOPS, svrg_baseline


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--target", type=float, default=1e-10)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = paper_linreg(args.n, args.d, args.seed)
    problem.optimum  # solved once, outside every timed region
    step_size = default_step_size(problem)
    variants = [(loop, dtype) for loop in BASELINE_LOOPS for dtype in BASELINE_DTYPES]
    runs = {variant: [] for variant in variants}
    load_before = os.getloadavg()
    for _ in range(args.repeats):
        for loop, dtype in variants:
            runs[loop, dtype].append(svrg_baseline(
                problem, dtype=dtype, step_size=step_size, epoch_length=problem.n,
                epochs=args.epochs, seed=args.seed, repeats=1, loop=loop))
    load_after = os.getloadavg()
    print(f"bench_baseline: {time.strftime('%Y-%m-%d %H:%M')}, Python {sys.version.split()[0]}; "
          f"paper problem N={problem.n} d={problem.d}, alpha={step_size:.3g}, T={problem.n}, "
          f"{args.epochs} epochs, medians of {args.repeats}; load average (1 min) "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after, {os.cpu_count()} cores")
    reference = runs["numpy", "float64"]
    reference_rate = statistics.median(run.steps_per_second for run in reference)
    reference_time = statistics.median(run.seconds_to_reach(args.target) or float("nan")
                                       for run in reference)
    print(f"  {'SVRG':<18}{'steps/s':>11}{'ratio':>9}{f'to {args.target:g}':>13}{'ratio':>9}"
          f"{'epochs':>8}{'final rel_subopt':>18}")
    for (loop, dtype), variant_runs in runs.items():
        rate = statistics.median(run.steps_per_second for run in variant_runs)
        times = [run.seconds_to_reach(args.target) for run in variant_runs]
        final = variant_runs[0].rel_subopt[-1]
        if None in times:
            reached, ratio, epochs = "not reached", "", ""
        else:
            seconds = statistics.median(times)
            reached = f"{seconds * 1e3:.3g} ms"
            ratio = f"{reference_time / seconds:.1f}x"
            epochs = next(k for k, rel in enumerate(variant_runs[0].rel_subopt)
                          if rel <= args.target)
        print(f"  {loop + ' ' + dtype:<18}{rate:>11.3g}{rate / reference_rate:>8.1f}x"
              f"{reached:>13}{ratio:>9}{epochs:>8}{final:>18.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
