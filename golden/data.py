"""Data sets: the paper's synthetic least-squares problem, a synthetic logistic one, and user files.

Both generators draw a Gaussian design ``X ~ N(0, 1)`` (N x d) and a true weight vector from
``numpy.random.default_rng(seed)``; a file holds ``X`` and ``y`` as ``.npz`` arrays or as CSV
columns (``y`` last). Every data set goes through :func:`halp_hw.golden.problems.make_problem`, so shapes,
NaN/inf and emptiness are checked in one place; file errors also name the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from scipy.special import expit

from .problems import LeastSquares, LogisticRegression, Problem, make_problem
from .validation import HalpInputError, check_int, check_positive

__all__ = ["paper_linreg", "synthetic_logreg", "synthetic_problem", "load_dataset",
           "DATA_SUFFIXES"]

#: The file types :func:`load_dataset` reads.
DATA_SUFFIXES = (".npz", ".csv")


def _gaussian_design(n: int, d: int, seed: int):
    """``X ~ N(0, 1)`` of shape (n, d), ``w_true ~ N(0, 1)`` of shape (d,), and the generator."""
    rng = np.random.default_rng(check_int("seed", seed, 0))
    X = rng.standard_normal((check_int("n", n, 1), check_int("d", d, 1)))
    return X, rng.standard_normal(d), rng


def paper_linreg(n: int = 1000, d: int = 100, seed: int = 0, noise: float = 0.1,
                 l2: float = 0.0) -> LeastSquares:
    """The synthetic least-squares problem of the HALP paper's figure: ``y = X w_true + noise``.

    Parameters
    ----------
    n, d : int
        Samples and features (the paper: 1000 and 100).
    seed : int
        Seed of the generator (>= 0).
    noise : float
        Standard deviation of the Gaussian label noise (> 0), so that ``f* > 0``.
    l2 : float
        L2 weight (>= 0; the paper's problem has none).
    """
    X, w_true, rng = _gaussian_design(n, d, seed)
    y = X @ w_true + check_positive("noise", noise) * rng.standard_normal(n)
    return LeastSquares(X, y, l2)


def synthetic_logreg(n: int = 1000, d: int = 100, seed: int = 0,
                     l2: float = 0.0) -> LogisticRegression:
    """A synthetic logistic-regression problem with labels ``y_i ~ Bernoulli(sigmoid(x_i . w))``.

    ``w_true`` is scaled by ``1/sqrt(d)`` so that the margins are ``N(0, 1)``: the labels are
    noisy, the data are not separable and the unregularized optimum is finite.

    Parameters
    ----------
    n, d : int
        Samples and features.
    seed : int
        Seed of the generator (>= 0).
    l2 : float
        L2 weight (>= 0).
    """
    X, w_true, rng = _gaussian_design(n, d, seed)
    labels = rng.random(n) < expit(X @ w_true / np.sqrt(d))
    return LogisticRegression(X, labels.astype(np.float64), l2)


def synthetic_problem(problem: str, n: int, d: int, seed: int,
                      l2: float = 0.0) -> tuple[Problem, str]:
    """The synthetic problem called ``problem`` and a one-line description of its data.

    ``linreg`` is :func:`paper_linreg`; ``logreg`` is :func:`synthetic_logreg`; ``svm`` takes
    the same samples with the labels mapped to -1/+1.
    """
    if problem == "linreg":
        return paper_linreg(n, d, seed, l2=l2), f"paper_linreg(n={n}, d={d}, seed={seed})"
    logistic = synthetic_logreg(n, d, seed, l2=l2)
    description = f"synthetic_logreg(n={n}, d={d}, seed={seed})"
    if problem == "logreg":
        return logistic, description
    labels = 2.0 * logistic.y - 1.0
    return make_problem(problem, logistic.X, labels, l2), description + ", labels +-1"


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not zipfile.is_zipfile(path):  # np.load would try a pickle and suggest an unsafe load
        raise HalpInputError("is not an .npz archive (a zip of .npy arrays): write it with "
                             "numpy.savez(path, X=X, y=y), or name a CSV file .csv")
    with np.load(path, allow_pickle=False) as archive:
        missing = [name for name in ("X", "y") if name not in archive.files]
        if missing:
            raise HalpInputError(f"needs arrays X and y; missing {', '.join(missing)} "
                                 f"(found: {', '.join(archive.files) or 'none'})")
        arrays = []
        for name in ("X", "y"):
            try:
                array = archive[name]
            except ValueError:  # an object array, which only an unsafe pickle load would read
                raise HalpInputError(f"array {name} holds Python objects, not numbers") from None
            if array.dtype.kind not in "biuf":
                raise HalpInputError(f"array {name} holds {array.dtype} values, not numbers")
            arrays.append(array)
        return arrays[0], arrays[1]


def _is_numeric_row(line: str) -> bool:
    try:
        [float(value) for value in line.split(",")]
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if lines and not _is_numeric_row(lines[0]):  # a header
        lines = lines[1:]
    if not lines:
        raise HalpInputError("has no data rows; at least one sample is needed")
    try:
        table = np.loadtxt(lines, delimiter=",", ndmin=2)
    except ValueError as error:
        raise HalpInputError(f"is not a numeric CSV table: {error}") from None
    if table.shape[1] < 2:
        raise HalpInputError(f"needs at least 2 columns (features, then y), found {table.shape[1]}")
    return table[:, :-1], table[:, -1]


def load_dataset(path, problem: str = "linreg", l2: float = 0.0) -> Problem:
    """Load ``X`` and ``y`` from ``.npz`` (arrays ``X``, ``y``) or CSV (last column ``y``).

    Parameters
    ----------
    path : str or pathlib.Path
        The file; a CSV file may start with one header line.
    problem : str
        ``linreg``, ``logreg`` (then ``y`` must hold 0/1 labels) or ``svm`` (-1/+1 labels).
    l2 : float
        L2 weight (>= 0).
    """
    path = Path(path)
    try:
        if path.suffix.lower() not in DATA_SUFFIXES:
            raise HalpInputError(f"must be one of {', '.join(DATA_SUFFIXES)}, not "
                                 f"{path.suffix or 'a file without suffix'}")
        if not path.is_file():
            raise HalpInputError("does not exist or is not a file")
        X, y = _read_npz(path) if path.suffix.lower() == ".npz" else _read_csv(path)
        return make_problem(problem, X, y, l2)
    except (HalpInputError, OSError, ValueError, zipfile.BadZipFile) as error:
        raise HalpInputError(f"data file {path} (problem {problem}): {error}") from None
