"""HALPCore with its memories against the golden hardware mode, in lockstep: whole training runs and
extreme values.

The RTL (:class:`halp_hw.hdl.system.HALPSystem`: the core, its data and order memory models of
``params["memory"]``, a :class:`halp_hw.golden.memory.MemoryTiming`) and a golden
:class:`halp_hw.golden.hardware.AcceleratorModel` receive the same commands
(``tb_lockstep.LockstepAccelerator``). After every inner step (``compare: "step"``: RUN 1, then
read ``z`` back) or every epoch (``compare: "epoch"``: one RUN of T steps, waiting for ``busy``
to fall) the testbench compares ``z``, and the ``steps``, ``saturations`` and ``cycles``
counters; after every recenter the ``exponent`` and ``epoch`` registers. The first difference is
reported with the accelerator cycle (the RTL's ``cycles`` counter), the epoch and the step.
``params["cycles"]`` is ``exact`` (the default: RTL cycles == golden cycles) or ``at_least`` (for
a memory with random extra delays, which the golden timing does not know: RTL cycles >= golden
cycles).

The parameters may hold several cases (:func:`halp_hw.runtime.simulators.run_testbench_cases`):
each is a regression of its own, a cocotb test with its own report and coverage.

Scenarios (``params["scenarios"]``, run in order, each after a reset; the report has one entry per
scenario under ``phases``):

``training``
    The host loop of :func:`halp_hw.runtime.backends.drive_halp`
    (:class:`halp_hw.golden.hardware.HalpHost`: full gradient, power-of-two scale, gradient memory,
    recenter) on the problem in ``params["problem"]`` (an ``.npz`` of
    :func:`halp_hw.golden.datasets.save_problem`), or else the paper's synthetic least-squares
    problem of ``n``, ``d`` and ``problem_seed``. The report adds ``rel_subopt`` per epoch.
``extremes`` (``tb_phases``)
    (with ``params["extremes_run"]`` overriding fields of the run, e.g. fewer steps) Data at the
    extremes of ``data_bits`` (min and max only), the largest step mantissa, gradient words at the
    extremes of ``grad_width``, and exponents at both ends of the exponent register: every update
    saturates one way or the other, and the dot products reach the extremes of ``dot_width``; in a
    logistic or SVM build, per-sample values at the extremes of their width.
``random`` (``tb_phases``)
    (with ``params["random_run"]`` overriding fields of the run) One phase per random stream (the
    sample stream and each lane's), seeded with the one user seed that makes that stream's first
    state zero (the PRNG then starts from its key), then one or two more on a host-given order
    read from the order memory; all on ``n - 1`` samples (not a power of two, unlike most
    builds' ``n``: every bit of the index product counts), the stream phases on ``d - 1``,
    ``L`` and ``2L - 1`` features in turn (:func:`random_features`: the other parity of ``d``
    than the training run, rows of one and of two words), ``random-host`` on ``d - 1`` and
    ``random-host-d<2L - 1>`` on rows of two words (steps of an odd number of cycles), with
    uniform random data,
    gradient words that put each epoch's first update on a rounding boundary (see
    :func:`tb_phases.run_random`), random step mantissas and exponents, random per-sample values
    (logistic, SVM), and random junk in the memory lanes past ``d`` (which the core must ignore).
    Each epoch is one RUN of T steps whatever ``compare`` says (the control FSM's step counter then
    counts down from T). Summaries are ``random0``, ``random1``, ...
``boundary``, ``long``
    Inner steps on the rounding boundaries (``tb_boundary``: ``boundary`` on ``d - 1``
    features, then a fifth of its epochs, at least 3, on each other row length of
    :func:`random_features`, ``boundary-d<features>``); the high bits of the counters
    (``tb_long_run``).
``commands``
    Every command presented in every state of the control FSM and after every other command, back to
    back (the next command is presented while the core still carries out a SEED or a RUN):
    ``tb_command_script``. ``z``, the counters and the scale register are compared after each
    command the host waits for.

One progress line per epoch goes to ``tb_support.report_progress``.

Functional coverage: the cover items of ``tb_coverage`` (cocotb-coverage), sampled per command
and per golden inner step; the report has every item's bins and hits under
``functional_coverage`` (and the YAML report of cocotb-coverage is written next to it), each
phase's summary the hits it added (``saturations``, ``rounding_carries``,
``partial_last_beats``, ``recenters``).
"""

from __future__ import annotations

import dataclasses

import cocotb
import numpy as np
from cocotb.triggers import SimTimeoutError, with_timeout

from halp_hw.golden.data import paper_linreg
from halp_hw.golden.datasets import read_problem
from halp_hw.golden.epoch import make_host
from halp_hw.golden.epoch_timing import epoch_cost
from halp_hw.golden.full_gradient import PassWidths
from halp_hw.golden.hardware import HalpHost, HardwareRun
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.prng import stream_key
from halp_hw.golden.problems import make_problem
from halp_hw.hdl.core import Command
from halp_hw.runtime.backends import drive_halp
from tb_boundary import run_boundary
from tb_command_script import run_commands
from tb_coverage import CoreCoverage, report, summary, totals
from tb_halp_run import CocotbAccelerator
from tb_lockstep import LockstepAccelerator
from tb_long_run import LONG_HOST_STEPS, LONG_RECENTERS, long_budget, run_long
from tb_phases import extreme_inputs, random_inputs, run_extremes, run_random
from tb_support import (CLOCK_PERIOD_NS, Scoreboard, case_params, hardware_config, report_progress,
                        reset)

#: A phase that takes this many times its expected cycles has hung (e.g. ``busy`` never falls).
HANG_FACTOR = 10
#: Seed of the random phase on a host-given order.
RANDOM_HOST_SEED = 0x5EED


async def start_core(dut, host: HalpHost, padding_rng=None,
                     board: Scoreboard | None = None) -> CocotbAccelerator:
    """Reset (the clock runs), then load the data, problem size, mantissa and seed of ``host``
    (with random junk past ``d`` in the memories when ``padding_rng`` is given). With
    ``board``, the state after the reset is checked first: ready, not busy, counters, exponent
    and epoch 0, and ``z`` reading 0 although its memory still holds the last phase's words,
    from the first cycle after the reset on (word 0's address is presented during the reset)."""
    dut.z_rd_addr.value = 0
    await reset(dut, CocotbAccelerator.IDLE_INPUTS)
    rtl = CocotbAccelerator(dut, host.config, host.problem.d, padding_rng)
    if board is not None:
        board.check(0, "z_rd_data in the first cycle after reset", 0, int(dut.z_rd_data.value),
                    "after reset")
        for signal, expected in (("cmd_ready", 1), ("busy", 0), ("cycles", 0), ("steps", 0),
                                 ("saturations", 0), ("epoch", 0), ("exponent", 0)):
            board.check(0, signal, expected, int(getattr(dut, signal).value), "after reset")
        board.check_lanes(0, "z", [0] * host.problem.d, await rtl.read_z(), "after reset")
    await rtl.load(host)
    return rtl


def random_features(d: int, lanes: int) -> list[int]:
    """The features of the random phases, in turn: ``d - 1`` (the other parity of ``d``), ``L``
    (rows of one word) and ``2L - 1`` (two words, a partial last beat), each at most ``d - 1``
    and at least 1. The row length changes the step's cycles (one more per word): with the
    default memory, steps of one and three words take an even number of cycles, of two words
    an odd number, so every bit of a register that counts a step's cycles shows."""
    return [max(1, min(features, d - 1)) for features in (d - 1, lanes, 2 * lanes - 1)]


def scenario_phases(p: dict, config) -> list[tuple[str, str, HardwareRun, int, int]]:
    """``(phase name, scenario, run, d, n)`` of every phase of ``p["scenarios"]``, in order."""
    run = HardwareRun(**p["run"])
    # the random and boundary phases: n - 1 samples, the row lengths of random_features
    features, other_n = random_features(p["d"], config.lanes), max(1, p["n"] - 1)
    phases = []
    for scenario in p["scenarios"]:
        if scenario in ("training", "commands"):
            phases.append((scenario, scenario, run, p["d"], p["n"]))
        elif scenario == "extremes":
            extremes_run = dataclasses.replace(run, **p.get("extremes_run", {}))
            phases.append((scenario, scenario, extremes_run, p["d"], p["n"]))
        elif scenario == "random":
            random_run = dataclasses.replace(run, **p.get("random_run", {}))
            phases += [(f"random{stream}", scenario,
                        dataclasses.replace(random_run, seed=stream_key(stream), order="xorshift"),
                        features[stream % len(features)], other_n)
                       for stream in range(config.lanes + 1)]
            # on a host-given order: rows of d - 1 features, then of two words (2L - 1: steps
            # of an odd number of cycles, so requests of the order meet both clock parities)
            for index, host_d in enumerate(dict.fromkeys((features[0], features[-1]))):
                phases.append(("random-host" + (f"-d{host_d}" if index else ""), scenario,
                               dataclasses.replace(random_run, seed=RANDOM_HOST_SEED + index,
                                                   order="host"), host_d, other_n))
        elif scenario == "long":
            long_run = dataclasses.replace(run, order="xorshift",
                                           epochs=p.get("long_recenters", LONG_RECENTERS),
                                           epoch_length=p.get("long_host_steps",
                                                              LONG_HOST_STEPS))
            phases.append((scenario, scenario, long_run, p["d"], p["n"]))
        elif scenario == "boundary":
            boundary_run = dataclasses.replace(run, order="xorshift", **p["boundary_run"])
            phases.append((scenario, scenario, boundary_run, features[0], other_n))
            shorter = dataclasses.replace(boundary_run, epochs=max(3, boundary_run.epochs // 5))
            phases += [(f"boundary-d{other_d}", scenario, shorter, other_d, other_n)
                       for other_d in dict.fromkeys(features[1:]) if other_d != features[0]]
        else:
            raise ValueError(f"unknown scenario {scenario!r}")
    return phases


def phase_problem(p: dict, d: int, n: int):
    """The problem of a phase on ``n`` samples of ``d`` features: the run's problem file (its
    first ``n`` rows and ``d`` features) if one was given, else the paper problem."""
    if "problem" not in p:
        return paper_linreg(n, d, p["problem_seed"])
    problem = read_problem(p["problem"])
    if (n, d) == (problem.n, problem.d):
        return problem
    return make_problem(problem.name, problem.X[:n, :d], problem.y[:n], problem.l2)


def cycle_budget(host: HalpHost) -> int:
    """Generous cycles for a phase: memory preload, seed, and per step the run, the settle of
    the fetches in flight plus a ``z`` read-back; per epoch the recenter's refresh."""
    config, run, model = host.config, host.run, host.make_model()
    words, latency = config.max_fetch_words, host.memory.latency
    preload = host.problem.n * words + (0 if host.order is None else len(host.order))
    # a RUN of one step, then the settle: the rows and order entries in flight arrive
    settle = host.memory.read_cycles(words, config.lanes * config.data_bits) + latency
    per_step = model.cycles_per_step + settle + words + 8
    # a logistic or SVM recenter reads the value words of every row slot again
    refresh = config.row_slots * host.memory.read_cycles(words, config.lanes * config.data_bits)
    if hasattr(host, "constants"):  # the epoch on chip: its region preloaded, its commands
        cost = epoch_cost(config, host.memory, host.problem.n, host.problem.d, 1)
        preload += host.problem.n * PassWidths.of(config).row_words(words)
        refresh += cost.full_gradient + cost.finish + cost.update + 2 * words
    return HANG_FACTOR * (preload + 4 * per_step
                          + run.epochs * (run.epoch_length * per_step + words + 8 + refresh))


#: The scenarios other than ``training``, by name.
SCENARIOS = {"extremes": run_extremes, "random": run_random, "boundary": run_boundary,
             "commands": run_commands, "long": run_long}


async def run_phase(dut, scenario: str, host: HalpHost, board: Scoreboard, every_step: bool,
                    rng, coverage: CoreCoverage, name: str | None = None,
                    exact_cycles: bool = True) -> dict:
    """Reset and load the core, run one scenario in lockstep; return its summary with the
    coverage hits it added."""
    before = totals(summary())
    rtl = await start_core(dut, host, padding_rng=rng if scenario == "random" else None,
                           board=board)
    # random, commands: a RUN of T (steps_left counts down), or RUNs of several lengths
    every_step = every_step and scenario in ("training", "extremes")
    lockstep = LockstepAccelerator(rtl, host.make_model(), board, every_step, name or scenario,
                                   exact_cycles, coverage, host)
    coverage.command("reset", Command.SEED, host.run.seed, "IDLE")  # start_core's SEED
    lockstep.previous = Command.SEED.name
    if scenario in SCENARIOS:
        await SCENARIOS[scenario](host, lockstep, rng)
        result = lockstep.summary()
    else:
        def on_epoch(epoch):
            report_progress(f"training epoch {epoch}")

        await drive_halp(host, lockstep, on_epoch)
        result = {**lockstep.summary(), "rel_subopt": host.trace.rel_subopt}
    after = totals(summary())
    return {**result, "coverage": {key: after[key] - before[key] for key in after}}


async def run_regression(dut, p: dict, board: Scoreboard) -> dict:
    """Every phase of ``p["scenarios"]`` in order, each after a reset (the clock runs);
    return their summaries by name. A phase that overruns its cycle budget fails."""
    config = hardware_config(p["config"])
    memory = MemoryTiming(**p.get("memory", {}))
    exact_cycles = p.get("cycles", "exact") == "exact"
    coverage = CoreCoverage(config)
    phases = {}
    for name, scenario, run, d, n in scenario_phases(p, config):
        problem = phase_problem(p, d, n)
        # the training run with the run's full gradient; the other phases drive the inner loop
        host = (make_host if scenario == "training" else HalpHost)(problem, config, run, memory)
        rng = np.random.default_rng(run.seed)
        if scenario == "extremes":
            extreme_inputs(host, rng)
        elif scenario in ("random", "boundary"):
            random_inputs(host, rng)
        budget = long_budget(host) if scenario == "long" else cycle_budget(host)
        phase = cocotb.start_soon(run_phase(dut, scenario, host, board, p["compare"] == "step",
                                            rng, coverage, name, exact_cycles))
        try:
            phases[name] = await with_timeout(phase, budget * CLOCK_PERIOD_NS, "ns")
        except SimTimeoutError:
            phase.cancel()  # it would go on driving the core
            raise AssertionError(f"{name}: the core did not finish within {budget} cycles "
                                 "(busy or cmd_ready stuck?)") from None
    return phases


@cocotb.test()
@cocotb.parametrize(case=range(len(case_params())))
async def core_matches_golden(dut, case: int):
    p = case_params()[case]
    board = Scoreboard(p.get("report"))
    try:
        board.extra["phases"] = await run_regression(dut, p, board)
    finally:
        report(board, p.get("report"), "core")
    board.finish()
