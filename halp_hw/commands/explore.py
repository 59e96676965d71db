"""``halp-hw explore``: convergence, FPGA cost and time to accuracy over bits x lanes, on Dask."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ._flow_options import add_flow_options
from ._run_options import add_memory_options, memory_from_args
from ._partial import INTERRUPTED_STATUS, RunStopped

HELP = ("how few bits, at what cost, how fast: convergence x FPGA cost over bits x lanes, "
        "on Dask")
DEFAULT_N, DEFAULT_D = 1000, 100
_SCHEDULER = re.compile(r"^(tcp|tls|inproc|ucx)://[^\s:/]+(:\d+)?$")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "explore", help=HELP,
        description="For every bits x lanes configuration: hardware-mode HALP convergence "
                    "(epochs and cycles to --accuracy over --seeds, or the floor it stalls "
                    "at), the FPGA cost (LUTs, FFs, DSPs, BRAMs, Fmax median and minimum over "
                    "--pnr-seeds placement seeds) and time to accuracy = cycles / Fmax. Writes "
                    "DIR/explore.csv, explore.json, explore.md, pareto.png and heatmap.png. "
                    "Every task is cached in DIR: a rerun or an extended sweep redoes nothing.")
    parser.add_argument("--problem", choices=("linreg",), default="linreg",
                        help="the training problem (the hardware mode implements least squares)")
    parser.add_argument("--data", metavar="FILE", type=Path,
                        help=".npz (arrays X, y) or CSV (last column y); default: the paper's "
                             "synthetic problem")
    parser.add_argument("--n", type=int, help=f"synthetic samples (default {DEFAULT_N})")
    parser.add_argument("--d", type=int, help=f"synthetic features (default {DEFAULT_D})")
    parser.add_argument("--bits", default="4,6,8,10,12,16",
                        help="comma-separated widths of z, 2..16 (default 4,6,8,10,12,16)")
    parser.add_argument("--lanes", default="1,2,4,8,16",
                        help="comma-separated lane counts (default 1,2,4,8,16)")
    parser.add_argument("--accuracy", type=float, default=1e-10,
                        help="relative suboptimality to reach (default 1e-10)")
    parser.add_argument("--epochs", type=int, default=40, help="epochs per run (default 40)")
    parser.add_argument("--seeds", default="0,1,2",
                        help="comma-separated data seeds: each is one convergence run per "
                             "configuration (synthetic data, sample order, rounding; with "
                             "--data, sample order and rounding) (default 0,1,2)")
    parser.add_argument("--epoch-length", type=int,
                        help="inner steps per epoch T (default from the problem, as "
                             "`halp-hw golden`)")
    parser.add_argument("--step-size", type=float,
                        help="alpha (default 1/(4 L), as `halp-hw golden`)")
    parser.add_argument("--mu", type=float,
                        help="HALP's mu, shared by every width (default per width, as "
                             "`halp-hw golden --bits B`: it grows as the bits go down)")
    parser.add_argument("--pnr-seeds", type=int, default=1,
                        help="placement seeds per configuration (nextpnr --seed 1..N; default 1)")
    add_flow_options(parser, data_bits_default="8 for every --bits; with --cost-only, --bits")
    add_memory_options(parser)
    parser.add_argument("--cost-only", action="store_true",
                        help="synthesis only, no convergence (any --design)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run on this existing Dask scheduler (default: an embedded "
                             "LocalCluster)")
    parser.add_argument("--workers", type=int,
                        help="worker processes of the embedded cluster (default: the cores)")
    parser.add_argument("--out", type=Path, default=Path("explore-out"),
                        help="output directory and task cache (default explore-out)")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: write the outputs from the tasks already in DIR "
                             "(e.g. a sweep still running elsewhere)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _int_list(name: str, text: str) -> tuple:
    from halp_hw.golden.validation import HalpInputError

    try:
        values = tuple(int(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise HalpInputError(f"--{name} takes comma-separated integers, not {text!r}") from None
    if not values:
        raise HalpInputError(f"--{name} needs at least one value")
    if len(set(values)) != len(values):
        raise HalpInputError(f"--{name} lists a value twice: {text!r}")
    return values


def _data_bits(args) -> int | None:
    """8 bits of data for a convergence sweep (4-bit data cannot hold the default step size
    with 16 fraction bits); a cost-only sweep builds "B-bit" accelerators (None: ``--bits``)."""
    if args.data_bits is not None:
        return args.data_bits
    return None if args.cost_only else 8


def _problems(args, seeds) -> tuple[dict, str]:
    """Name -> (seed, problem), one per data seed, and where the data came from."""
    from halp_hw.golden.data import paper_linreg
    from halp_hw.golden.validation import HalpInputError

    from ._checks import check_hardware_size, load_data_file

    if args.cost_only:
        return {}, "no data (cost only)"
    if args.data is not None:
        if args.n is not None or args.d is not None:
            raise HalpInputError("--n and --d size synthetic data; with --data the file sets them")
        problem = load_data_file(args.data, args.problem)
        return {f"seed{seed}": (seed, problem) for seed in seeds}, f"file {args.data.name}"
    n = DEFAULT_N if args.n is None else args.n
    d = DEFAULT_D if args.d is None else args.d
    check_hardware_size(n, d)
    return ({f"seed{seed}": (seed, paper_linreg(n, d, seed)) for seed in seeds},
            f"paper_linreg(n={n}, d={d})")


def _check_scales(settings, problems: dict, step_given: bool) -> None:
    """The data's scale against the accelerator's fixed widths, for every problem and width."""
    from halp_hw.explore.sweep import hyperparameters
    from halp_hw.flow.targets import make_config
    from halp_hw.golden.hardware import HardwareRun

    from ._checks import check_hardware_run

    for name, (seed, problem) in problems.items():
        for bits in settings.bits:
            run = HardwareRun(seed=seed, **hyperparameters(settings, problem, bits))
            data_bits = bits if settings.data_bits is None else settings.data_bits
            config = make_config(target=settings.target, bits=bits, lanes=1,
                                 data_bits=data_bits, frac_bits=settings.frac_bits,
                                 n_max=problem.n, d_max=problem.d)
            check_hardware_run(problem, config, run, f"data seed {seed}", step_given=step_given)


def run(args) -> int:
    from halp_hw.explore.report import findings, markdown_table
    from halp_hw.explore.rows import speed_column
    from halp_hw.flow.targets import TARGETS
    from halp_hw.explore.sweep import ExploreSettings, run_explore
    from halp_hw.golden.validation import HalpInputError, check_int

    seeds = _int_list("seeds", args.seeds)
    for seed in seeds:
        check_int("seed", seed, 0, 2**32 - 1)
    if args.scheduler is not None and not _SCHEDULER.match(args.scheduler):
        raise HalpInputError(f"--scheduler takes tcp://HOST:PORT, not {args.scheduler!r}")
    if args.workers is not None:
        if args.scheduler is not None:
            raise HalpInputError("--workers sizes the embedded cluster; with --scheduler the "
                                 "cluster has its own workers")
        check_int("workers", args.workers, 1, 1024)
    settings = ExploreSettings(
        bits=_int_list("bits", args.bits), lanes=_int_list("lanes", args.lanes),
        target=args.target, accuracy=args.accuracy, pnr_seeds=args.pnr_seeds,
        epochs=args.epochs, data_bits=_data_bits(args),
        frac_bits=args.frac_bits, epoch_length=args.epoch_length, step_size=args.step_size,
        mu=args.mu, design=args.design, n_max=args.n_max, d_max=args.d_max,
        device=args.device, package=args.package, clock_mhz=args.clock_mhz,
        cost_only=args.cost_only, memory=memory_from_args(args))
    problems, source = _problems(args, seeds)
    _check_scales(settings, problems, args.step_size is not None)
    rows, stats = run_explore(settings, problems, args.out, source=source,
                              scheduler=args.scheduler, workers=args.workers,
                              progress=not args.quiet, run=not args.report_only)
    print(markdown_table(rows), end="")
    if not settings.cost_only:
        timed = TARGETS[settings.target].nextpnr is not None
        print("\n".join(findings(rows, settings.accuracy, speed=speed_column(timed))))
    print(f"tasks: {stats.total} ({stats.from_cache} from the cache, {stats.executed} run on "
          f"{stats.workers} workers, {stats.failed} failed, {stats.pending} pending)")
    for failure in stats.failures:
        print(f"halp-hw explore: failed: {failure}", file=sys.stderr)
    outputs = "explore.csv, explore.json, explore.md, " + (
        "heatmap.png" if settings.cost_only else "pareto.png, heatmap.png")
    print(f"wrote {args.out}/{{{outputs}}}")
    if stats.interrupted:
        raise RunStopped(INTERRUPTED_STATUS, f"interrupted; the finished tasks are cached in "
                                             f"{args.out}: rerun to complete")
    return 0
