"""Where a command's training data comes from: synthetic, a bundled data set, or a file.

Shared by ``golden``, ``simulate`` and ``verify``: ``--dataset NAME`` (scikit-learn's bundled
sets, split and standardized), ``--data FILE`` (used as given) or the synthetic problem of
``--n`` samples and ``--d`` features.
"""

from __future__ import annotations

from pathlib import Path

from halp_hw.golden.datasets import DATASETS, TEST_FRACTION


def add_data_options(parser, *, n: int, d: int) -> None:
    """Add ``--dataset``, ``--data``, ``--no-standardize``, ``--n`` and ``--d``."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset", choices=tuple(DATASETS),
        help="a scikit-learn bundled data set (digits: odd vs even); "
             f"{TEST_FRACTION:.0%}% of the rows are held out (split seeded by --seed) for the "
             "test metric, features standardized, an intercept column added")
    source.add_argument("--data", metavar="FILE", type=Path,
                        help=".npz (arrays X, y) or CSV (last column y, optional header), "
                             "used as given (no split, no standardization)")
    parser.add_argument("--no-standardize", action="store_true",
                        help="with --dataset: keep the raw feature values")
    parser.add_argument("--n", type=int, help=f"synthetic samples (default {n})")
    parser.add_argument("--d", type=int, help=f"synthetic features (default {d})")
    parser.set_defaults(synthetic_size=(n, d))


def load_problem(args, problem: str, l2: float = 0.0):
    """The training problem the options select, and a one-line description of its data."""
    from halp_hw.golden.data import synthetic_problem
    from halp_hw.golden.datasets import load_sklearn_dataset
    from halp_hw.golden.separability import require_finite_optimum
    from halp_hw.golden.validation import HalpInputError, check_int

    from ._checks import check_memory, load_data_file

    chosen = args.dataset or args.data
    if chosen is not None and (args.n is not None or args.d is not None):
        raise HalpInputError("--n and --d size synthetic data; with --data or --dataset the "
                             "data set sets them")
    if args.no_standardize and args.dataset is None:
        raise HalpInputError("--no-standardize applies to --dataset only (--data is used as "
                             "given)")
    if args.dataset is not None:
        result, source = load_sklearn_dataset(args.dataset, problem, l2, args.seed,
                                              standardize=not args.no_standardize)
        name = args.dataset
    elif args.data is not None:
        result, source = load_data_file(args.data, problem, l2), f"data file {args.data} (as given)"
        name = str(args.data)
    else:
        n, d = (given if given is not None else default
                for given, default in zip((args.n, args.d), args.synthetic_size))
        check_int("n", n, 1)
        check_int("d", d, 1)
        check_memory(n, d)
        result, source = synthetic_problem(problem, n, d, args.seed, l2)
        name = "synthetic data"
    require_finite_optimum(result, name)
    return result, source
