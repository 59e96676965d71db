"""``halp-hw verify``: a whole training run on the simulated RTL, checked bit for bit."""

from __future__ import annotations

from pathlib import Path

from ._run_options import add_run_options, run_from_args


def register(subparsers) -> None:
    from halp_hw.runtime.simulators import SIM_ENV_VAR, SIMULATORS
    from halp_hw.runtime.verify import COMPARE_POINTS

    parser = subparsers.add_parser(
        "verify",
        help="train on the simulated RTL and compare it bit for bit with the golden model",
        description="Run hardware-mode HALP with the host loop in Python (full gradient, "
                    "recenter) and the inner loops on the simulated HALPCore RTL, in lockstep "
                    "with the golden hardware mode: z and the step/saturation/cycle counters "
                    "are compared after every inner step (or every epoch); then a corner phase "
                    "(data, step, gradients and exponents at the extremes of their widths) is "
                    "compared the same way. Prints and writes "
                    "DIR/verify.json (bit_exact, iterates_compared, first_mismatch, cycles, "
                    "rel_subopt per epoch, coverage) and DIR/verify.png. Exit status 0 only "
                    "when bit-exact.",
    )
    parser.add_argument("--n", type=int, default=256,
                        help="samples of the paper's synthetic problem (default 256)")
    parser.add_argument("--d", type=int, default=32, help="features (default 32)")
    add_run_options(parser, lanes=4, epochs=3)
    parser.add_argument("--sim", choices=SIMULATORS, default=None,
                        help=f"RTL simulator (default: ${SIM_ENV_VAR}, else verilator)")
    parser.add_argument("--compare", choices=COMPARE_POINTS, default="step",
                        help="compare after every inner step (default) or every epoch")
    parser.add_argument("--fault", metavar="NAME",
                        help="build a deliberately broken core (see --list-faults); the run must "
                             "then report a mismatch")
    parser.add_argument("--list-faults", action="store_true",
                        help="list the fault names and exit")
    parser.add_argument("--waves", action="store_true", help="record a waveform of the run")
    parser.add_argument("--build-dir", type=Path, default=Path("sim_build"), metavar="DIR",
                        help="where RTL builds are cached, one per design (default sim_build)")
    parser.add_argument("--out", type=Path, default=Path("verify-out"), metavar="DIR",
                        help="output directory (default verify-out)")
    parser.set_defaults(handler=handle)


def _list_faults() -> int:
    from halp_hw.hdl.faults import FAULTS

    width = max(map(len, FAULTS))
    for name, description in FAULTS.items():
        print(f"{name:<{width}}  {description}")
    return 0


def handle(args) -> int:
    if args.list_faults:
        return _list_faults()
    import json
    import sys

    from halp_hw.golden.data import paper_linreg

    from halp_hw.runtime.simulators import SimulationError, default_simulator
    from halp_hw.runtime.verify import verify, write_plot

    problem = paper_linreg(args.n, args.d, args.seed)
    config, run = run_from_args(args, problem)
    try:
        report = verify(problem, args.seed, config, run, simulator=args.sim or default_simulator(),
                        compare=args.compare, fault=args.fault, waves=args.waves,
                        build_root=args.build_dir)
    except SimulationError as error:  # the build or the simulator itself failed
        print(f"halp-hw verify: error: {error}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "verify.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    plot_path = write_plot(report, args.out / "verify.png")
    print(json.dumps(report, indent=2))
    print(f"wrote {json_path}, {plot_path}")
    return 0 if report["bit_exact"] else 1
