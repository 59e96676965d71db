"""``halp-hw verify``: a whole training run on the simulated RTL, checked bit for bit."""

from __future__ import annotations

from pathlib import Path

DEFAULTS = {"n": 256, "d": 32, "bits": 8, "lanes": 4, "epochs": 3, "data_bits": 8,
            "frac_bits": 16, "seed": 0}


def register(subparsers) -> None:
    from ..simulators import SIM_ENV_VAR, SIMULATORS
    from ..verify import COMPARE_POINTS

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
    parser.add_argument("--problem", choices=("linreg",), default="linreg",
                        help="the training problem (the hardware mode implements least squares)")
    for name, help_text in (("n", "samples of the paper's synthetic problem"),
                            ("d", "features"), ("bits", "width of the offset z (the paper's b)"),
                            ("lanes", "MACC lanes L"), ("epochs", "outer iterations"),
                            ("data-bits", "width of the quantized data x"),
                            ("frac-bits", "fraction bits of the update (random bits per lane)"),
                            ("seed", "seed of the data, the sample order and the rounding")):
        key = name.replace("-", "_")
        parser.add_argument(f"--{name}", type=int, default=DEFAULTS[key],
                            help=f"{help_text} (default {DEFAULTS[key]})")
    parser.add_argument("--epoch-length", type=int, help="inner steps per epoch T (default N)")
    parser.add_argument("--step-size", type=float,
                        help="alpha (default: golden.solvers.default_step_size of the problem)")
    parser.add_argument("--mu", type=float,
                        help="HALP's strong-convexity parameter (default: golden.solvers."
                             "default_mu of the problem)")
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
    from ..hdl.faults import FAULTS

    width = max(map(len, FAULTS))
    for name, description in FAULTS.items():
        print(f"{name:<{width}}  {description}")
    return 0


def handle(args) -> int:
    if args.list_faults:
        return _list_faults()
    import json

    from golden.data import paper_linreg
    from golden.hardware import HardwareConfig, HardwareRun
    from golden.solvers import default_mu, default_step_size

    import sys

    from ..simulators import SimulationError, default_simulator
    from ..verify import verify, write_plot

    problem = paper_linreg(args.n, args.d, args.seed)
    config = HardwareConfig(bits=args.bits, data_bits=args.data_bits, frac_bits=args.frac_bits,
                            lanes=args.lanes, d_max=problem.d, n_max=problem.n)
    run = HardwareRun(
        step_size=default_step_size(problem) if args.step_size is None else args.step_size,
        mu=default_mu(problem) if args.mu is None else args.mu,
        epoch_length=problem.n if args.epoch_length is None else args.epoch_length,
        epochs=args.epochs, seed=args.seed)
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
