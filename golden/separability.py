"""Classifiers without a finite optimum are refused before any work.

Logistic regression or the L2-SVM without L2 on linearly separable data has no (unique) finite
minimizer: :func:`require_finite_optimum` says so, with the fix (``--l2``).
"""

from __future__ import annotations

import numpy as np

from .problems import Problem
from .validation import HalpInputError

__all__ = ["is_separable", "require_finite_optimum"]


def is_separable(X: np.ndarray, labels: np.ndarray) -> bool:
    """Whether some ``w`` has ``labels_i x_i . w >= 1`` for every row (``labels`` +-1): an LP."""
    from scipy.optimize import linprog

    outcome = linprog(np.zeros(X.shape[1]), A_ub=-(labels[:, None] * X), b_ub=-np.ones(len(X)),
                      bounds=(None, None), method="highs")
    return outcome.status == 0


def require_finite_optimum(problem: Problem, source: str) -> None:
    """Raise if ``problem`` is a classifier without L2 on separable data.

    ``source`` names the data in the message.
    """
    if problem.name not in ("logreg", "svm") or problem.l2 > 0:
        return
    labels = 2.0 * problem.y - 1.0 if problem.name == "logreg" else problem.y
    if not is_separable(problem.X, labels):
        return
    reason = ("the loss has no finite minimizer (w grows without bound)" if problem.name == "logreg"
              else "the loss is 0 on a whole cone of w, with no unique minimizer")
    raise HalpInputError(
        f"{problem.name} without L2 on {source}: the training data are linearly separable, so "
        f"{reason}; add --l2 (e.g. --l2 {1.0 / problem.n:.2g}, scikit-learn's default C = 1)")
