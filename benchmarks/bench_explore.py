"""Wall time of one ``halp-hw explore`` sweep on an embedded Dask cluster of 1 and of N workers.

Usage::

    python benchmarks/bench_explore.py [--workers 2] [--repeats 2] [--work-dir DIR]

Runs the same small sweep (the core on the ``generic`` target with 64 x 4 memories, bits
4,8,12,16 x 2 lanes, two data seeds on a 64-sample, 4-feature problem: 4 synthesis and 8
convergence tasks) from an empty cache, alternately with one worker and with ``--workers``
workers, and prints each wall time, the medians and their ratio (N workers / 1 worker), with the
load average before and after: on a shared machine the ratio depends on what else runs.
Everything is measured in this process, now.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from halp_hw.cli import main as halp_hw

SWEEP = ["explore", "--n", "64", "--d", "4", "--bits", "4,8,12,16", "--lanes", "2",
         "--seeds", "0,1", "--epochs", "8", "--accuracy", "1e-5", "--target", "generic",
         "--n-max", "64", "--d-max", "4", "--quiet"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--work-dir", type=Path)
    return parser.parse_args(argv)


def timed_sweep(workers: int, out_dir: Path) -> float:
    shutil.rmtree(out_dir, ignore_errors=True)
    start = time.perf_counter()
    if halp_hw([*SWEEP, "--workers", str(workers), "--out", str(out_dir)]) != 0:
        raise SystemExit(f"the sweep with {workers} workers failed; see {out_dir}")
    return time.perf_counter() - start


def main(argv=None) -> None:
    args = parse_args(argv)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-explore-"))
    times = {1: [], args.workers: []}
    for repeat in range(args.repeats):
        for workers in times:
            load = os.getloadavg()[0]
            seconds = timed_sweep(workers, work_dir / f"w{workers}-r{repeat}")
            times[workers].append(seconds)
            print(f"repeat {repeat}: {workers} worker(s) {seconds:7.1f} s "
                  f"(load average {load:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)
    one, many = (statistics.median(times[workers]) for workers in times)
    print(f"median: 1 worker {one:.1f} s, {args.workers} workers {many:.1f} s, "
          f"ratio {many / one:.2f} (on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
