"""RTL simulation speed, build times, and golden solver throughput, in one run.

Usage::

    python benchmarks/bench_sim.py [--epochs 20] [--repeats 3] [--amaranth] [--work-dir DIR]

Part 1 runs the paper problem (linreg N = 1000, d = 100, 8-bit, 8 lanes, T = N; with the default
off-chip memory, ``MemoryTiming()``, an inner step costs 34 cycles and 20 epochs are 680 000
accelerator cycles; the header states the count) on the golden model and on Verilator four ways,
``--repeats`` times each (interleaved), and prints the median simulated cycles per CPU second of
the RUN commands (build, memory preload and host work excluded), as ratios to the first. Every
Verilator row simulates the same ``HALPSystem`` (the core with its data and order memory models):

- ``testbench clock, every signal``: ``sim/tb_halp_run.py`` with ``clk`` an input toggled by
  ``cocotb.clock.Clock``, built with cocotb's defaults (every signal visible to the testbench):
  how the package simulated before; the baseline;
- ``testbench clock, ports``: the same, built so that only the ports are visible (the package's
  Verilator options): what the visibility buys;
- ``generated clock, ports (package)``: ``halp-hw simulate --backend verilator``, the clock
  generated inside the simulation (the testbench wakes once per command): what the clock buys;
- ``bare C++ loop``: the same Verilog, Verilated with the same options, driven by
  ``benchmarks/bare_driver.cpp`` (no testbench, no VPI) with the same preload and commands: the
  speed limit.

It checks that every run ends with the golden model's ``z`` and cycle count. ``--amaranth`` adds
Amaranth's Python simulator (about 1e3 cycles/s: minutes per epoch at this size).

Part 2 times the build that ``halp-hw verify`` does (the issue's acceptance design, N = 256,
d = 32, 4 lanes): a first build into an empty build root, a second ``halp-hw verify`` of the
unchanged design (its build directory kept), and a rebuild after deleting the build directory
(served from ccache), with ccache's hit and miss counts.

Part 3 times every golden solver on the same problem (inner steps per second, same T and
epochs) as ratios to float64 SGD, with the NumPy SVRG baseline of ``halp-hw simulate``.
All numbers are measured in this process, now.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from halp_hw.flow.toolchain import VERILATOR_LINT_WAIVERS, verilator_executable
from halp_hw.golden.data import paper_linreg
from halp_hw.golden.datasets import save_problem
from halp_hw.golden.hardware import HalpHost, HardwareConfig, HardwareRun, run_halp_hardware
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.defaults import default_mu, default_step_size
from halp_hw.golden.solvers import SOLVER_KEYS, make_solvers
from halp_hw.hdl.core import COMMAND_ARG_BITS, Command
from halp_hw.hdl.host import data_words, pack_words, unpack_words
from halp_hw.hdl.system import system_for_run
from halp_hw.models.baseline import BASELINE_DTYPES, svrg_baseline
from halp_hw.runtime.backends import ModelAccelerator, drive_halp, run_backend
from halp_hw.runtime.simulators import (CCACHE_DIR_NAME, TIMESCALE,
                                        VERILATOR_SIMULATION_OPTIONS, BuiltDesign,
                                        ccache_executable, run_testbench,
                                        simulator_unavailable_reason, toolchain_environment)
from halp_hw.runtime.verify import verify

BENCH_DIR = Path(__file__).resolve().parent
#: The rows of part 1: the former build and clock (the baseline), and the package's.
BASELINE, PACKAGE = "testbench clock, every signal", "generated clock, ports (package)"
#: The testbench of the baseline: ``sim/tb_halp_run.py`` under a ``cocotb.clock.Clock``.
TESTBENCH_CLOCK_MODULE = "tb_testbench_clock"
#: The package's Verilator options that decide which signals the testbench sees (its ports).
VISIBILITY = [option for option in VERILATOR_SIMULATION_OPTIONS if option != "--timing"]
#: The design and run of part 2: ``tests/test_verify.py``'s acceptance configuration.
VERIFY_SIZE = {"n": 256, "d": 32, "bits": 8, "lanes": 4, "epochs": 3}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--epoch-length", type=int, help="T (default N)")
    parser.add_argument("--step-size", type=float, help="alpha (default: the golden default)")
    parser.add_argument("--mu", type=float, help="mu (default: the golden default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs per speed row (median)")
    parser.add_argument("--amaranth", action="store_true",
                        help="also run Amaranth's simulator (slow)")
    parser.add_argument("--work-dir", type=Path,
                        help="build directory (default: a temporary one)")
    return parser.parse_args(argv)


@dataclasses.dataclass(frozen=True)
class SpeedRun:
    """One timed run: accelerator cycles of the RUN commands, their wall and CPU time (of the
    simulating process), final ``z``."""

    cycles: int
    seconds: float
    cpu_seconds: float
    z: list

    @property
    def speed(self) -> float:
        """Cycles per CPU second: what the simulation costs, whatever else the machine runs."""
        return self.cycles / self.cpu_seconds

    @property
    def wall_speed(self) -> float:
        return self.cycles / self.seconds


class RecordingAccelerator(ModelAccelerator):
    """The golden accelerator, recording each epoch's gradient words and RECENTER argument."""

    def __init__(self, model):
        super().__init__(model)
        self.epochs: list = []

    async def load_gradient(self, grad_ints) -> None:
        self.epochs.append([np.array(grad_ints, dtype=np.int64)])
        await super().load_gradient(grad_ints)

    async def recenter(self, exponent: int) -> None:
        self.epochs[-1].append(int(exponent))
        await super().recenter(exponent)


def golden_commands(problem, config, run, memory) -> tuple[SpeedRun, HalpHost, list]:
    """The golden run: its result, its host, and each epoch's (gradient, exponent)."""
    host = HalpHost(problem, config, run, memory)
    accelerator = RecordingAccelerator(host.make_model())
    loop = asyncio.run(drive_halp(host, accelerator))
    golden = SpeedRun(sum(host.trace.cycles), loop.run_seconds, loop.run_cpu_seconds,
                      loop.z[-1])
    return golden, host, accelerator.epochs


def bare_stimulus(host: HalpHost, epochs: list, path: Path) -> None:
    """The memory images and commands of the golden run as ``bare_driver.cpp`` reads them."""
    config, problem = host.config, host.problem
    mask = (1 << COMMAND_ARG_BITS) - 1
    memory = data_words(config, host.x_ints)
    order = [] if host.order is None else [int(index) for index in host.order]
    lines = [" ".join(str(value) for value in (
        problem.n, problem.d, host.mantissa, host.run.seed & mask, host.run.epochs,
        host.run.epoch_length, len(memory), len(order), config.beats(problem.d)))]
    lines.append(" ".join(f"{word:x}" for word in memory))
    lines.append(" ".join(f"{index:x}" for index in order))
    for grad, exponent in epochs:
        words = pack_words(grad, lanes=config.lanes, width=config.grad_width)
        lines.append(" ".join([f"{exponent & mask:x}", *(f"{word:x}" for word in words)]))
    path.write_text("\n".join(lines) + "\n")


def system_verilog(host: HalpHost) -> str:
    """The Verilog of the simulation top of ``host``'s run (module ``top``), as the package
    builds it."""
    from halp_hw.flow.verilog import component_verilog

    order_entries = 0 if host.order is None else len(host.order)
    system = system_for_run(host.config, host.memory, n=host.problem.n, d=host.problem.d,
                            order_entries=order_entries)
    return component_verilog(system, name="top")


def build_bare(host: HalpHost, root: Path) -> tuple[Path, float]:
    """Verilate the system with the options of the package's build (without the VPI and the
    generated clock), driven by ``bare_driver.cpp``."""
    text_dir = root / "bare"
    shutil.rmtree(text_dir, ignore_errors=True)
    text_dir.mkdir(parents=True)
    source = text_dir / "top.v"
    source.write_text(system_verilog(host))
    defines = [f"-CFLAGS -DCMD_{command.name}={command.value}" for command in Command]
    command = [verilator_executable(), "--cc", "--exe", "--build", "-j", "2", "-Mdir",
               str(text_dir / "obj"), "--top-module", "top", "--prefix", "Vtop", "-o", "bare",
               *VISIBILITY, *VERILATOR_LINT_WAIVERS, "--timescale", "/".join(TIMESCALE),
               *" ".join(defines).split(), str(BENCH_DIR / "bare_driver.cpp"), str(source)]
    start = time.perf_counter()
    with toolchain_environment("verilator", root):
        subprocess.run(command, check=True, capture_output=True, text=True)
    return text_dir / "obj" / "bare", time.perf_counter() - start


def run_bare(executable: Path, stimulus: Path, config, d: int) -> SpeedRun:
    fields = subprocess.run([str(executable), str(stimulus)], check=True, capture_output=True,
                            text=True).stdout.split()
    words = [int(word, 16) for word in fields[fields.index("z") + 1:]]
    z = unpack_words(words, lanes=config.lanes, width=config.bits, count=d)
    return SpeedRun(int(fields[1]), float(fields[3]), float(fields[5]),
                    [int(value) for value in z])


def build_testbench_clocked(host: HalpHost, root: Path, name: str, options) -> BuiltDesign:
    """The system with ``clk`` an input, built by cocotb's runner with Verilator ``options``
    added to the lint waivers: the former build, which the package no longer makes."""
    from cocotb_tools.runner import get_runner

    build_dir = root / name
    if not (build_dir / "top").is_file():
        build_dir.mkdir(parents=True, exist_ok=True)
        source = build_dir / "top.v"
        source.write_text(system_verilog(host))
        with toolchain_environment("verilator", root):
            get_runner("verilator").build(
                sources=[source], hdl_toplevel="top", build_dir=build_dir,
                build_args=[*VERILATOR_LINT_WAIVERS, *options], timescale=TIMESCALE,
                log_file=build_dir / "build.log")
    return BuiltDesign("verilator", build_dir, False, "top")


def run_testbench_clock(host: HalpHost, built: BuiltDesign, root: Path) -> SpeedRun:
    """``sim/tb_halp_run.py`` with ``clk`` toggled by ``cocotb.clock.Clock``."""
    problem_file = root / "problem.npz"
    save_problem(host.problem, problem_file)
    params = {"config": dataclasses.asdict(host.config), "run": dataclasses.asdict(host.run),
              "memory": dataclasses.asdict(host.memory), "problem": str(problem_file)}
    sys.path.insert(0, str(BENCH_DIR))  # the runner hands sys.path to the simulator
    try:
        results = run_testbench(built, module=TESTBENCH_CLOCK_MODULE, params=params,
                                name="testbench_clock")
    finally:
        sys.path.remove(str(BENCH_DIR))
    if not results.passed or results.report is None:
        raise RuntimeError(f"the testbench-clock run failed: {results.summary()}")
    trace, loop = results.report["trace"], results.report["loop"]
    return SpeedRun(sum(trace["cycles"]), loop["run_seconds"], loop["run_cpu_seconds"],
                    loop["z"][-1])


def run_generated_clock(problem, config, run, memory, root: Path) -> SpeedRun:
    result = run_backend("verilator", problem, config, run, memory=memory, work_dir=root)
    return SpeedRun(sum(result.trace.cycles), result.loop.run_seconds,
                    result.loop.run_cpu_seconds, result.loop.z[-1])


def run_amaranth(problem, config, run, memory) -> SpeedRun:
    result = run_backend("amaranth", problem, config, run, memory=memory)
    return SpeedRun(sum(result.trace.cycles), result.loop.run_seconds,
                    result.loop.run_cpu_seconds, result.loop.z[-1])


def simulation_speeds(args, problem, root: Path) -> None:
    config = HardwareConfig(bits=args.bits, lanes=args.lanes, d_max=problem.d, n_max=problem.n)
    run = HardwareRun(args.step_size, args.mu, args.epoch_length, args.epochs, args.seed)
    memory = MemoryTiming()
    golden, host, epochs = golden_commands(problem, config, run, memory)
    stimulus = root / "bare_stimulus.txt"
    bare_stimulus(host, epochs, stimulus)
    bare, bare_build = build_bare(host, root)
    every_signal = build_testbench_clocked(host, root, "testbench_clock_every_signal", [])
    ports_only = build_testbench_clocked(host, root, "testbench_clock_ports", VISIBILITY)
    rows = {
        BASELINE: lambda: run_testbench_clock(host, every_signal, root),
        "testbench clock, ports": lambda: run_testbench_clock(host, ports_only, root),
        PACKAGE: lambda: run_generated_clock(problem, config, run, memory, root),
        "bare C++ loop": lambda: run_bare(bare, stimulus, config, problem.d),
    }
    if args.amaranth:
        rows["Amaranth simulator"] = lambda: run_amaranth(problem, config, run, memory)
    results = {name: [] for name in rows}
    for _ in range(args.repeats):  # interleaved, so that a change of machine load hits all rows
        for name, measure in rows.items():
            if name != "Amaranth simulator" or not results[name]:
                results[name].append(measure())
    print(f"Simulation speed: HALP on linreg N={problem.n} d={problem.d}, {args.bits}-bit, "
          f"{args.lanes} lanes, T={args.epoch_length}, {args.epochs} epochs "
          f"({golden.cycles} cycles, {host.make_model().cycles_per_step} per inner step with "
          f"the memory of latency {memory.latency} cycles, {memory.bytes_per_cycle} B/cycle); "
          f"median of {args.repeats} runs")
    medians = {name: statistics.median(run.speed for run in runs)
               for name, runs in results.items()}
    baseline = medians[BASELINE]
    print("  cycles per CPU second of the simulating process during the RUN commands (median, "
          "each run, ratio to the baseline), and per wall second (median)")
    print(f"  {'Verilator, cocotb':<34}{'cycles/CPU-s':>13}{'all runs':>28}{'vs baseline':>13}"
          f"{'cycles/wall-s':>15}")
    for name, runs in results.items():
        speeds = " ".join(f"{run.speed:.3g}" for run in runs)
        wall = statistics.median(run.wall_speed for run in runs)
        print(f"  {name:<34}{medians[name]:>13.3g}{speeds:>28}{medians[name] / baseline:>12.2f}x"
              f"{wall:>15.3g}")
    package, ports = medians[PACKAGE], medians["testbench clock, ports"]
    print(f"  what each change buys: ports only {ports / baseline:.2f}x, then the generated "
          f"clock {package / ports:.2f}x; together {package / baseline:.1f}x")
    print(f"  (golden model, one run: {golden.speed:.3g} cycles/CPU-s)")
    print(f"  bare C++ loop / generated clock: {medians['bare C++ loop'] / package:.2f}x "
          f"(bare build {bare_build:.0f} s)")
    agree = all(run.z == golden.z and run.cycles == golden.cycles
                for runs in results.values() for run in runs)
    print(f"  every run ends with the golden z (bit for bit) and cycles: "
          f"{'yes' if agree else 'NO'}")


def ccache_counts(root: Path) -> dict:
    """ccache's hit and miss counters for the cache of build root ``root``."""
    env = {**os.environ, "CCACHE_DIR": str(root / CCACHE_DIR_NAME)}
    text = subprocess.run([str(ccache_executable()), "--print-stats"], env=env, check=True,
                          capture_output=True, text=True).stdout
    stats = dict(line.split("\t") for line in text.splitlines() if "\t" in line)
    return {"hits": int(stats["direct_cache_hit"]) + int(stats["preprocessed_cache_hit"]),
            "misses": int(stats["cache_miss"])}


def build_times(root: Path) -> None:
    """What ``halp-hw verify`` spends in the build: first, unchanged, and after a clean."""
    size = VERIFY_SIZE
    problem = paper_linreg(size["n"], size["d"], 1)
    config = HardwareConfig(bits=size["bits"], lanes=size["lanes"], d_max=size["d"],
                            n_max=size["n"])
    run = HardwareRun(default_step_size(problem), default_mu(problem), size["n"], size["epochs"], 1)
    build_root = root / "verify_build"
    shutil.rmtree(build_root, ignore_errors=True)

    def verify_build() -> float:
        report = verify(problem, 1, config, run, simulator="verilator", compare="epoch",
                        build_root=build_root)
        assert report["bit_exact"], report["first_mismatch"]
        return report["build_seconds"]

    rows = {"first build (empty build root)": verify_build(),
            "second verify, design unchanged": verify_build()}
    before = ccache_counts(build_root)
    for built in build_root.iterdir():
        if built.is_dir() and built.name != CCACHE_DIR_NAME:
            shutil.rmtree(built)
    rows["after deleting the build directory"] = verify_build()
    after = ccache_counts(build_root)
    print(f"Build time of halp-hw verify (linreg N={size['n']} d={size['d']}, {size['bits']}-bit, "
          f"{size['lanes']} lanes; Verilog conversion + Verilator + C++)")
    for name, seconds in rows.items():
        print(f"  {name:<40}{seconds:>8.1f} s")
    print(f"  ccache on the rebuild after deleting: {after['hits'] - before['hits']} hits, "
          f"{after['misses'] - before['misses']} misses")


def solver_throughput(args, problem) -> None:
    shared = {"step_size": args.step_size, "epoch_length": args.epoch_length}
    solvers = make_solvers(problem, bits=args.bits, mu=args.mu, **shared)
    config = HardwareConfig(bits=args.bits, lanes=args.lanes, d_max=problem.d, n_max=problem.n)
    run = HardwareRun(args.step_size, args.mu, args.epoch_length, args.epochs, args.seed)
    steps = args.epochs * args.epoch_length
    timings = {}
    for key in SOLVER_KEYS:
        solvers[key].run(problem, 1, args.seed)  # compiles the solver's loops (numba), untimed
        start = time.perf_counter()
        solvers[key].run(problem, args.epochs, args.seed)
        timings[f"golden {key}"] = time.perf_counter() - start
    run_halp_hardware(problem, config, dataclasses.replace(run, epochs=1))  # compiles, untimed
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
    reason = simulator_unavailable_reason("verilator")
    if reason:
        print(f"bench_sim: needs Verilator: {reason}", file=sys.stderr)
        return 2
    problem = paper_linreg(args.n, args.d, args.seed)
    problem.optimum  # solved once, outside every timed region
    args.step_size = default_step_size(problem) if args.step_size is None else args.step_size
    args.mu = default_mu(problem) if args.mu is None else args.mu
    args.epoch_length = args.epoch_length or problem.n
    print(f"bench_sim: {time.strftime('%Y-%m-%d %H:%M')} on {sys.platform}, Python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as scratch:
        root = (args.work_dir or Path(scratch)).resolve()
        root.mkdir(parents=True, exist_ok=True)
        simulation_speeds(args, problem, root)
        build_times(root)
    solver_throughput(args, problem)
    print(f"  (load average at the end {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
