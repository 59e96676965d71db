"""``halp-hw verify``: a whole training run on the simulated RTL, checked bit for bit."""

from __future__ import annotations

from pathlib import Path

from ._data_options import add_data_options, load_problem
from ._run_options import add_run_options, memory_from_args, run_from_args


def register(subparsers) -> None:
    from halp_hw.runtime.simulators import SIM_ENV_VAR, SIMULATORS
    from halp_hw.runtime.verify import COMPARE_POINTS, MEMORY_FAULT_NAMES

    parser = subparsers.add_parser(
        "verify",
        help="train on the simulated RTL and compare it bit for bit with the golden model",
        description="Run hardware-mode HALP with the host loop in Python (full gradient, "
                    "recenter) and the inner loops on the simulated HALPCore RTL next to its "
                    "off-chip memory models (--mem-*), in lockstep "
                    "with the golden hardware mode: z and the step/saturation/cycle counters "
                    "are compared after every inner step (or every epoch); then a corner phase "
                    "(data, step, gradients and exponents at the extremes of their widths) and "
                    "one random phase per random stream are compared the same way. Prints a one-line verdict (bit-exact, or the first "
                    "mismatch) and writes DIR/verify.json (bit_exact, iterates_compared, "
                    "first_mismatch, cycles, "
                    "rel_subopt per epoch, coverage) and DIR/verify.png. Exit status 0 only "
                    "when bit-exact.",
    )
    add_data_options(parser, n=256, d=32)
    add_run_options(parser, lanes=4, epochs=3)
    parser.add_argument("--sim", choices=SIMULATORS, default=None,
                        help=f"RTL simulator (default: ${SIM_ENV_VAR}, else verilator)")
    parser.add_argument("--compare", choices=COMPARE_POINTS, default="step",
                        help="compare after every inner step (default) or every epoch")
    parser.add_argument("--fault", metavar="NAME",
                        help="build a deliberately broken core (see --list-faults); the run must "
                             "then report a mismatch")
    parser.add_argument("--memory-fault", choices=MEMORY_FAULT_NAMES,
                        help="use a faulty data memory: jitter (random extra delays; must stay "
                             "bit-exact, cycles only checked to be at least the model's), "
                             "drop-beat or duplicate-beat (must be caught)")
    parser.add_argument("--list-faults", action="store_true",
                        help="list the fault names and exit")
    parser.add_argument("--waves", action="store_true", help="record a waveform of the run")
    parser.add_argument("--build-dir", type=Path, default=Path("sim_build"), metavar="DIR",
                        help="where RTL builds are cached, one per design (default sim_build)")
    parser.add_argument("--out", type=Path, default=Path("verify-out"), metavar="DIR",
                        help="output directory (default verify-out)")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true",
                       help="print the whole report as JSON on stdout (the verdict goes to stderr)")
    shown.add_argument("--quiet", action="store_true",
                       help="print the verdict line only (no progress, no file list)")
    parser.set_defaults(handler=handle)


def _list_faults() -> int:
    from halp_hw.testbenches.faults import FAULTS

    width = max(map(len, FAULTS))
    for name, fault in FAULTS.items():
        print(f"{name:<{width}}  {fault.description}")
    return 0


def verdict(report: dict) -> str:
    """One line: bit-exact with what was compared, or where the RTL first disagreed."""
    where = f"on {report['simulator']}" + (f" (fault {report['fault']})" if report["fault"] else "")
    if report["bit_exact"]:
        return (f"bit-exact {where}: {report['iterates_compared']} iterates and "
                f"{report['values_compared']} values compared over {report['run']['epochs']} "
                f"epochs, the corner, random, boundary and command phases; {report['cycles']} "
                "cycles, equal to the golden model's")
    first = report["first_mismatch"] or {}
    if "error" in first:
        return f"MISMATCH {where}: the simulation failed: {' '.join(str(first['error']).split())}"
    cycle = f" at cycle {first['cycle']}" if first.get("cycle") is not None else ""
    context = f" ({first['context']})" if first.get("context") else ""
    return (f"MISMATCH {where}: first{cycle}{context}: {first.get('signal')} expected "
            f"{first.get('expected')}, got {first.get('actual')}")


def handle(args) -> int:
    if args.list_faults:
        return _list_faults()
    import dataclasses
    import json
    import shutil
    import sys

    from halp_hw.golden.validation import HalpInputError
    from halp_hw.testbenches.faults import check_fault

    from halp_hw.runtime.simulators import SIMULATORS, default_simulator

    from ._checks import check_backend, check_hardware_run, check_hardware_size
    from ._partial import keep_partial_results, write_json

    simulator = args.sim or default_simulator()
    if simulator not in SIMULATORS:
        raise HalpInputError(f"simulator must be one of {', '.join(SIMULATORS)}, not "
                             f"{simulator!r}")
    check_backend(simulator)
    check_fault(args.fault)
    problem, source = load_problem(args, args.problem, args.l2)
    check_hardware_size(problem.n, problem.d)
    memory = memory_from_args(args)
    config, run = run_from_args(args, problem)
    if args.fault == "sigmoid-table" and config.problem != "logreg":
        raise HalpInputError("fault sigmoid-table breaks the sigmoid unit, which only a "
                             "logistic core has: use it with --problem logreg")
    check_hardware_run(problem, config, run, source, step_given=args.step_size is not None)
    if not args.quiet:
        print(f"{problem.name} on {source}", file=sys.stderr)
    from halp_hw.runtime.verify import verify, write_plot

    json_path = args.out / "verify.json"
    settings = {"simulator": simulator, "fault": args.fault, "memory_fault": args.memory_fault,
                "memory": dataclasses.asdict(memory), "compare": args.compare,
                "problem": {"name": problem.name, "n": problem.n, "d": problem.d,
                            "seed": args.seed},
                "config": dataclasses.asdict(config), "run": dataclasses.asdict(run)}
    with keep_partial_results(json_path, lambda: settings):
        report = verify(problem, args.seed, config, run, simulator=simulator, memory=memory,
                        compare=args.compare, fault=args.fault,
                        memory_fault=args.memory_fault, waves=args.waves,
                        build_root=args.build_dir, quiet=args.quiet)
        report["complete"] = True
        args.out.mkdir(parents=True, exist_ok=True)
        coverage_path = args.out / "coverage.yml"
        if Path(report["coverage_report"]).is_file():  # cocotb-coverage's report of the run
            shutil.copyfile(report["coverage_report"], coverage_path)
            report["coverage_report"] = str(coverage_path)
        write_json(json_path, report)
        plot_path = write_plot(report, args.out / "verify.png")
    line = verdict(report)
    if args.json:
        print(json.dumps(report, indent=2))
        print(line, file=sys.stderr)
    else:
        if not args.quiet:
            print(f"wrote {json_path}, {plot_path}")
        print(line)
    return 0 if report["bit_exact"] else 1
