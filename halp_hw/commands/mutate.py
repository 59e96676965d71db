"""``halp-hw mutate``: a mutation campaign on the synthesized core, scored by the regression."""

from __future__ import annotations

from pathlib import Path

from ._run_options import add_run_options, run_from_args

#: At least this many mutants (the campaign's default).
DEFAULT_MUTANTS = 300


def register(subparsers) -> None:
    from halp_hw.runtime.simulators import SIM_ENV_VAR, SIMULATORS

    parser = subparsers.add_parser(
        "mutate",
        help="mutation campaign: how much of the core's netlist the verification regression "
             "watches",
        description="Synthesize HALPCore with Yosys (pip), pick N single-bit mutations of its "
                    "netlist with Yosys's mutate pass and put them all into one netlist behind "
                    "a select input (one simulator build). Run the regression of `halp-hw "
                    "verify` (a training run compared after every step, the corner, random, "
                    "boundary and command phases) and the long phase (the counters' high bits) "
                    "on the original design and on every mutant, each mutant until its first "
                    "difference; for every mutant it does not kill, Yosys's equivalence passes "
                    "try to prove it equivalent by induction (only a proof counts), and where "
                    "they do not, a bounded SymbiYosys miter (yices) looks for a difference. "
                    "Writes "
                    "DIR/mutation.json, DIR/mutation.csv and DIR/mutation.md (every survivor "
                    "with the signal it mutates). Exit status 0 when the run completed.",
    )
    parser.add_argument("--mutants", type=int, default=DEFAULT_MUTANTS,
                        help=f"mutations to sample (default {DEFAULT_MUTANTS})")
    parser.add_argument("--n", type=int, default=32,
                        help="samples of the regression's problem (default 32; the build's n_max)")
    parser.add_argument("--d", type=int, default=10,
                        help="features (default 10; the build's d_max)")
    add_run_options(parser, lanes=4, epochs=2)
    parser.add_argument("--mutation-seed", type=int, default=1,
                        help="seed of Yosys's choice of mutations (default 1)")
    parser.add_argument("--miter-depth", type=int, default=20,
                        help="cycles of the bounded miter that looks for a difference where "
                             "the equivalence proof does not close (default 20; 0: none)")
    parser.add_argument("--miter-timeout", type=int, default=120,
                        help="seconds for a survivor's equivalence proof, and again for its "
                             "bounded miter, before each counts as undecided (default 120)")
    parser.add_argument("--sim", choices=SIMULATORS, default=None,
                        help=f"RTL simulator (default: ${SIM_ENV_VAR}, else verilator)")
    parser.add_argument("--build-dir", type=Path, default=Path("sim_build"), metavar="DIR",
                        help="where the simulator build is cached (default sim_build)")
    parser.add_argument("--out", type=Path, default=Path("mutate-out"), metavar="DIR",
                        help="output directory (default mutate-out)")
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    import sys

    from halp_hw.golden.data import paper_linreg
    from halp_hw.golden.validation import HalpInputError, check_int
    from halp_hw.mutation.campaign import classify, prepare
    from halp_hw.mutation.netlist import YosysError
    from halp_hw.mutation.report import summarize, write_reports
    from halp_hw.runtime.simulators import SimulationError, default_simulator

    check_int("mutants", args.mutants, 1, 4096)
    check_int("miter-depth", args.miter_depth, 0, 1000)
    check_int("miter-timeout", args.miter_timeout, 1, 86400)
    problem = paper_linreg(args.n, args.d, args.seed)
    config, run = run_from_args(args, problem)
    simulator = args.sim or default_simulator()
    if simulator != "verilator":
        raise HalpInputError(f"--sim must be verilator for a mutation campaign (the only "
                             f"simulator it is built and tested with), not {simulator!r}")
    try:
        campaign = prepare(problem, args.seed, config, run, mutations=args.mutants,
                           seed=args.mutation_seed, simulator=simulator,
                           work_dir=args.out / "netlist", build_root=args.build_dir)
        result = classify(campaign, depth=args.miter_depth, timeout=args.miter_timeout)
    except (SimulationError, YosysError) as error:
        print(f"halp-hw mutate: error: {error}", file=sys.stderr)
        return 1
    summary = summarize(result["mutants"])
    report = {"summary": summary, "config": campaign.params["config"],
              "run": campaign.params["run"], "problem": {"n": args.n, "d": args.d,
                                                         "seed": args.seed},
              "mutation_seed": args.mutation_seed, "miter_depth": args.miter_depth,
              "miter_timeout": args.miter_timeout, **result}
    paths = write_reports(report, args.out)
    print(f"{summary['mutants']} mutants: {summary['killed']} killed, {summary['survived']} "
          f"survived, {summary['equivalent']} equivalent; score "
          f"{summary['score']:.1%}" if summary["score"] is not None else "no mutant judged")
    print(f"wrote {', '.join(str(path) for path in paths)}")
    return 0
