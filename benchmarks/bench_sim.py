"""Simulation speed of every backend and solver throughput of the golden model, in one run.

Usage::

    python benchmarks/bench_sim.py [--n 1000] [--d 100] [--lanes 8] [--epochs 3] [--work-dir DIR]

Part 1 runs the same HALP run (same build, problem, seed and length) on the golden model, on
Verilator (cocotb; X preloaded, one RUN command per epoch, no Python per simulated cycle) and on
Amaranth's Python simulator, and prints simulated cycles per wall second of the RUN commands
(build, data load and host work excluded) as ratios to Amaranth's simulator. It also checks that
the three runs agree (``z`` bit for bit, cycles, saturations).

Part 2 times every golden solver on the same problem (inner steps per second, same T and epochs)
as ratios to float64 SGD, with the NumPy SVRG baseline of ``halp-hw simulate`` alongside.
All numbers are measured in this process, now.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from halp_hw.golden.data import paper_linreg
from halp_hw.golden.hardware import HardwareConfig, HardwareRun, run_halp_hardware
from halp_hw.golden.solvers import SOLVER_KEYS, default_mu, default_step_size, make_solvers
from halp_hw.models import perf
from halp_hw.models.baseline import BASELINE_DTYPES, svrg_baseline
from halp_hw.runtime.simulate import run_backend
from halp_hw.runtime.simulators import simulator_unavailable_reason

#: Simulation-speed rows, the baseline (ratio 1) last.
SIM_BACKENDS = ("model", "verilator", "amaranth")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--epoch-length", type=int, help="T (default N)")
    parser.add_argument("--step-size", type=float, help="alpha (default: the golden default)")
    parser.add_argument("--mu", type=float, help="mu (default: the golden default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path,
                        help="Verilator build directory (default: a temporary one)")
    return parser.parse_args(argv)


def simulation_speeds(args, problem, work_dir: Path) -> None:
    config = HardwareConfig(bits=args.bits, lanes=args.lanes, d_max=problem.d, n_max=problem.n)
    run = HardwareRun(args.step_size, args.mu, args.epoch_length, args.epochs, args.seed)
    rows = {}
    for backend in SIM_BACKENDS:
        reason = simulator_unavailable_reason(backend) if backend == "verilator" else None
        if reason:
            print(f"  {backend}: skipped ({reason})")
            continue
        result = run_backend(backend, problem, config, run, work_dir=work_dir)
        cycles = sum(result.trace.cycles)
        rows[backend] = (result, cycles, cycles / result.loop.run_seconds)
    baseline = rows["amaranth"][2]
    print(f"Simulation speed: HALP on linreg N={problem.n} d={problem.d}, {args.bits}-bit, "
          f"{args.lanes} lanes, T={args.epoch_length}, {args.epochs} epochs "
          f"({perf.step_cycles(config, problem.d)} cycles per inner step, default memory)")
    print(f"  {'backend':<26}{'cycles':>10}{'RUN wall s':>12}{'cycles/s':>12}{'vs amaranth':>13}"
          f"{'build s':>9}")
    labels = {"model": "golden model (NumPy)", "verilator": "Verilator (cocotb)",
              "amaranth": "Amaranth simulator"}
    for backend, (result, cycles, speed) in rows.items():
        print(f"  {labels[backend]:<26}{cycles:>10}{result.loop.run_seconds:>12.3f}"
              f"{speed:>12.3g}{speed / baseline:>12.1f}x{result.build_seconds:>9.1f}")
    reference = rows["model"][0]
    agree = all(result.loop.z == reference.loop.z and result.trace.cycles == reference.trace.cycles
                and result.trace.saturations == reference.trace.saturations
                for result, _, _ in rows.values())
    print(f"  all backends agree (z bit for bit, cycles, saturations): {'yes' if agree else 'NO'}")


def solver_throughput(args, problem) -> None:
    shared = {"step_size": args.step_size, "epoch_length": args.epoch_length}
    solvers = make_solvers(problem, bits=args.bits, mu=args.mu, **shared)
    config = HardwareConfig(bits=args.bits, lanes=args.lanes, d_max=problem.d, n_max=problem.n)
    run = HardwareRun(args.step_size, args.mu, args.epoch_length, args.epochs, args.seed)
    steps = args.epochs * args.epoch_length
    timings = {}
    for key in SOLVER_KEYS:
        start = time.perf_counter()
        solvers[key].run(problem, args.epochs, args.seed)
        timings[f"golden {key}"] = time.perf_counter() - start
    start = time.perf_counter()
    run_halp_hardware(problem, config, run)
    timings["golden halp_hw (hardware mode)"] = time.perf_counter() - start
    for dtype in BASELINE_DTYPES:
        baseline = svrg_baseline(problem, dtype=dtype, step_size=args.step_size,
                                 epoch_length=args.epoch_length, epochs=args.epochs,
                                 seed=args.seed)
        timings[f"NumPy SVRG {dtype} (baseline)"] = baseline.seconds
    reference = steps / timings["golden sgd"]
    print(f"Solver throughput: {steps} inner steps each (T={args.epoch_length}, "
          f"{args.epochs} epochs), whole runs including full gradients and the trace")
    print(f"  {'solver':<34}{'seconds':>9}{'steps/s':>12}{'vs golden sgd':>15}")
    for name, seconds in timings.items():
        rate = steps / seconds
        print(f"  {name:<34}{seconds:>9.3f}{rate:>12.3g}{rate / reference:>14.2f}x")


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = paper_linreg(args.n, args.d, args.seed)
    problem.optimum  # solved once, outside every timed region
    args.step_size = default_step_size(problem) if args.step_size is None else args.step_size
    args.mu = default_mu(problem) if args.mu is None else args.mu
    args.epoch_length = args.epoch_length or problem.n
    print(f"bench_sim: {time.strftime('%Y-%m-%d %H:%M')} on {sys.platform}, Python "
          f"{sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as scratch:
        simulation_speeds(args, problem, args.work_dir or Path(scratch))
    solver_throughput(args, problem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
