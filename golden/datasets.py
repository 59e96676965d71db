"""scikit-learn's bundled real data sets as training problems, with a held-out test split.

Every set is split once, seeded, into a training part (the problem the solvers minimize) and a
test part (:data:`TEST_FRACTION` of the rows, stratified for classification) on which each
report gives the metric a user cares about: accuracy for classification, RMSE for regression.
By default the features are standardized with the training part's mean and standard deviation
(features constant on the training part are dropped), and a constant column of ones is appended
so that the model has an intercept; the test part goes through the same transformation.

Labels follow each problem's convention: 0/1 for ``logreg``, -1/+1 for ``svm`` and ``linreg``
(least squares on +-1 targets is a linear classifier too). A classifier predicts the positive
class when ``x . w > 0`` (for logistic regression: probability above 1/2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problems import PROBLEMS, Problem, make_problem
from .validation import HalpInputError, check_int

__all__ = ["DATASETS", "TEST_FRACTION", "Dataset", "Holdout", "load_sklearn_dataset",
           "save_problem", "read_problem", "sklearn_test_metric"]

#: The fraction of the rows held out for the test metric.
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Dataset:
    """One of scikit-learn's bundled sets and how it is posed.

    Attributes
    ----------
    loader : str
        The ``sklearn.datasets`` function.
    task : str
        ``regression`` or ``classification`` (binary).
    positive : str
        For classification: which samples form the positive class.
    """

    loader: str
    task: str
    positive: str = ""

    def targets(self, target: np.ndarray) -> np.ndarray:
        """The regression targets, or 1.0 for the positive class and 0.0 for the other."""
        if self.task == "regression":
            return target.astype(np.float64)
        if self.loader == "load_digits":
            return (target % 2 == 1).astype(np.float64)
        return (target == 1).astype(np.float64)


#: The data sets ``--dataset`` accepts.
DATASETS = {
    "diabetes": Dataset("load_diabetes", "regression"),
    "breast_cancer": Dataset("load_breast_cancer", "classification", "benign (target 1)"),
    "digits": Dataset("load_digits", "classification", "odd digits (1, 3, 5, 7, 9) vs even"),
}


@dataclass(frozen=True)
class Holdout:
    """The held-out test part and its metric.

    Attributes
    ----------
    X : numpy.ndarray
        Test features, transformed as the training part.
    y : numpy.ndarray
        Test targets in the problem's label convention.
    metric : str
        ``accuracy`` (fraction of correct signs of ``x . w``) or ``rmse``.
    """

    X: np.ndarray
    y: np.ndarray
    metric: str

    def evaluate(self, w: np.ndarray) -> float:
        """The metric of the model ``w`` on the test part (NaN if ``w`` is not finite)."""
        if not np.all(np.isfinite(w)):
            return float("nan")
        predictions = self.X @ w
        if self.metric == "rmse":
            return float(np.sqrt(np.mean((predictions - self.y) ** 2)))
        return float(np.mean((predictions > 0) == (self.y > 0)))


def _labels(targets: np.ndarray, problem: str) -> np.ndarray:
    """0/1 class targets in the label convention of ``problem``."""
    return targets if problem == "logreg" else 2.0 * targets - 1.0


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Both parts scaled by the training part's statistics; constant features dropped."""
    std = train.std(axis=0)
    keep = std > 0
    mean = train.mean(axis=0)
    return ((train[:, keep] - mean[keep]) / std[keep], (test[:, keep] - mean[keep]) / std[keep],
            int((~keep).sum()))


def load_sklearn_dataset(name: str, problem: str = "linreg", l2: float = 0.0, seed: int = 0,
                         standardize: bool = True) -> tuple[Problem, str]:
    """The training problem of data set ``name`` (its ``holdout`` set) and a one-line description.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`.
    problem : str
        ``linreg``, ``logreg`` or ``svm``; the classification sets take any, the regression set
        ``linreg`` only.
    l2 : float
        L2 weight (>= 0).
    seed : int
        Seed of the train/test split.
    standardize : bool
        Standardize the features (the default) or keep the raw values.
    """
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    if name not in DATASETS:
        raise HalpInputError(f"dataset must be one of {', '.join(DATASETS)}, not {name!r}")
    if problem not in PROBLEMS:
        raise HalpInputError(f"problem must be one of {', '.join(PROBLEMS)}, not {problem!r}")
    spec = DATASETS[name]
    if spec.task == "regression" and problem != "linreg":
        raise HalpInputError(f"dataset {name} is a regression set: use --problem linreg, "
                             f"not {problem}")
    check_int("seed", seed, 0, 2**32 - 1)
    kwargs = {"scaled": False} if name == "diabetes" else {}
    bunch = getattr(datasets, spec.loader)(**kwargs)
    X, targets = np.asarray(bunch.data, dtype=np.float64), spec.targets(np.asarray(bunch.target))
    X_train, X_test, t_train, t_test = train_test_split(
        X, targets, test_size=TEST_FRACTION, random_state=seed,
        stratify=targets if spec.task == "classification" else None)
    dropped = 0
    if standardize:
        X_train, X_test, dropped = _standardize(X_train, X_test)
    X_train = np.hstack([X_train, np.ones((len(X_train), 1))])
    X_test = np.hstack([X_test, np.ones((len(X_test), 1))])
    if spec.task == "classification":
        t_train, t_test = _labels(t_train, problem), _labels(t_test, problem)
    result = make_problem(problem, X_train, t_train, l2)
    result.holdout = Holdout(X_test, t_test,
                             "accuracy" if spec.task == "classification" else "rmse")
    features = ("standardized features (training mean and std"
                + (f"; {dropped} constant features dropped" if dropped else "") + ")"
                if standardize else "raw features (--no-standardize)")
    task = f"positive class {spec.positive}" if spec.positive else "regression"
    description = (f"{name} ({task}): {result.n} training rows, {len(X_test)} held out "
                   f"({TEST_FRACTION:.0%}, seed {seed}), {features} plus an intercept column")
    return result, description


def save_problem(problem: Problem, path) -> None:
    """Write ``problem`` (data, name, L2 weight and held-out part) to an ``.npz`` file."""
    arrays = {"X": problem.X, "y": problem.y, "name": problem.name, "l2": problem.l2}
    if problem.holdout is not None:
        arrays.update(X_test=problem.holdout.X, y_test=problem.holdout.y,
                      metric=problem.holdout.metric)
    np.savez(path, **arrays)


def read_problem(path) -> Problem:
    """The problem :func:`save_problem` wrote."""
    with np.load(path, allow_pickle=False) as arrays:
        problem = make_problem(str(arrays["name"]), arrays["X"], arrays["y"], float(arrays["l2"]))
        if "metric" in arrays.files:
            problem.holdout = Holdout(arrays["X_test"], arrays["y_test"], str(arrays["metric"]))
    return problem


def sklearn_test_metric(problem: Problem) -> float:
    """The test metric of scikit-learn's solution of the same objective (no extra intercept: the
    design carries its own column of ones, penalized like the others): ``LinearRegression`` or
    ``Ridge``, ``LogisticRegression``, ``LinearSVC`` with the squared hinge."""
    from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
    from sklearn.svm import LinearSVC

    X, y, n, l2 = problem.X, problem.y, problem.n, problem.l2
    if problem.name == "linreg":
        model = (Ridge(alpha=n * l2, fit_intercept=False) if l2 > 0
                 else LinearRegression(fit_intercept=False))
    elif problem.name == "logreg":  # sum log-loss * C + 1/2 ||w||^2, C = 1 / (N l2)
        model = LogisticRegression(C=1 / (n * l2), fit_intercept=False, tol=1e-12,
                                   max_iter=10000)
    else:  # 1/2 ||w||^2 + C sum squared hinge, C = 1 / (2 N l2)
        model = LinearSVC(C=1 / (2 * n * l2), loss="squared_hinge", fit_intercept=False,
                          dual=False, tol=1e-12, max_iter=100000)
    w = model.fit(X, y).coef_.ravel()
    return problem.holdout.evaluate(w)
