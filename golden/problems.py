"""The training problems: least squares, logistic regression and the L2-SVM, each with optional L2.

Both minimize ``f(w) = (1/N) sum_i f_i(w)`` with the regularizer folded into every ``f_i``, so
the mean of the per-sample gradients is the full gradient. Each problem knows its exact optimum,
so the suboptimality ``f(w) - f*`` the solvers report is exact, not a difference of two noisy
losses.

Every problem here is a linear model: ``f_i(w) = loss(x_i . w, y_i) + l2/2 ||w||^2``. The compiled
solver loops (:mod:`halp_hw.golden.kernels`) see a problem through one scalar function, its
:attr:`Problem.loss_derivative`: ``d loss / d a`` at the linear prediction ``a = x_i . w`` and the
target ``y_i``, so that ``grad f_i(w) = x_i * loss_derivative(a, y_i) + l2 * w``. It is a
compiled C callback, ``@numba.cfunc(LOSS_DERIVATIVE_SIGNATURE, cache=True)`` on a function of two
floats (callable from Python too), set as a class attribute. A new linear model (the squared hinge
of an L2-SVM, say) writes that kernel, its ``loss``, ``curvature`` and ``_solve_optimum``; the
per-sample and full gradients, and every solver, follow. (A C callback rather than an ``njit``
function: the compiled loops that take it as an argument can then be cached on disk.)
"""

from __future__ import annotations

import math
import sys
from functools import cached_property

import numba
import numpy as np
import scipy.linalg
from scipy.special import expit

from .validation import HalpInputError, check_finite_array

__all__ = ["Problem", "LeastSquares", "LogisticRegression", "SquaredHingeSVM",
           "squared_hinge_derivative", "make_problem", "PROBLEMS", "LOSS_DERIVATIVE_SIGNATURE"]

#: The signature of every :attr:`Problem.loss_derivative`: ``(a, y) -> d loss / d a``.
LOSS_DERIVATIVE_SIGNATURE = "float64(float64, float64)"


@numba.cfunc(LOSS_DERIVATIVE_SIGNATURE, cache=True)
def squared_error_derivative(a, y):
    """``d/da 1/2 (a - y)**2``."""
    return a - y


#: The largest argument of ``exp`` with a finite result.
_EXP_LIMIT = math.log(sys.float_info.max)


@numba.cfunc(LOSS_DERIVATIVE_SIGNATURE, cache=True)
def logistic_derivative(a, y):
    """``d/da (log(1 + exp(a)) - y a) = sigmoid(a) - y``."""
    if -a > _EXP_LIMIT:  # exp overflows: sigmoid(a) is 1 / inf = 0 (plain Python would raise)
        return 0.0 - y
    return 1.0 / (1.0 + math.exp(-a)) - y


@numba.njit(cache=True)
def _loss_derivatives(loss_derivative, margins, targets):
    out = np.empty_like(margins)
    for k in range(margins.size):
        out[k] = loss_derivative(margins[k], targets[k])
    return out


class Problem:
    """Data ``X`` (N x d), targets ``y`` (N,) and an L2 weight ``l2 >= 0``.

    Parameters
    ----------
    X : array_like, shape (N, d)
        Finite features, N >= 1 and d >= 1.
    y : array_like, shape (N,)
        Finite targets.
    l2 : float
        L2 regularization weight lambda; the objective gains ``lambda/2 ||w||^2``.

    Attributes
    ----------
    n, d : int
        Number of samples and features.
    loss_derivative : numba.cfunc of :data:`LOSS_DERIVATIVE_SIGNATURE`
        ``d f_i / d a`` at the linear prediction ``a = x_i . w`` for target ``y`` (without the
        regularizer): the one scalar kernel each problem defines (see the module docstring).
    holdout : halp_hw.golden.datasets.Holdout or None
        Held-out test data and its metric, recorded per epoch in every trace (None: no test
        data, as for the synthetic problems).
    """

    name = "problem"
    holdout = None

    def __init__(self, X, y, l2: float = 0.0):
        self.X = check_finite_array("X", X, ndim=2)
        self.y = check_finite_array("y", y, ndim=1)
        if self.y.shape[0] != self.X.shape[0]:
            raise HalpInputError(
                f"y must have one entry per row of X: X has {self.X.shape[0]} rows, "
                f"y has {self.y.shape[0]} entries"
            )
        l2 = float(l2)
        if not np.isfinite(l2) or l2 < 0:
            raise HalpInputError(f"l2 must be a finite number >= 0, not {l2}")
        self.l2 = l2
        self.n, self.d = self.X.shape

    # -- what each problem defines -------------------------------------------------------
    loss_derivative = None

    def loss(self, w: np.ndarray) -> float:
        raise NotImplementedError

    def _solve_optimum(self) -> np.ndarray:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------
    def residual(self, margins: np.ndarray, rows) -> np.ndarray:
        """:attr:`loss_derivative` of the given rows, from their margins ``x_i . w`` (1-D)."""
        return _loss_derivatives(self.loss_derivative, np.asarray(margins, dtype=np.float64),
                                 np.ascontiguousarray(self.y[rows]))

    def sample_gradient(self, w: np.ndarray, i: int) -> np.ndarray:
        """``grad f_i(w)``, regularizer included."""
        x = self.X[i]
        return x * self.loss_derivative(float(np.dot(x, w)), float(self.y[i])) + self.l2 * w

    def full_gradient(self, w: np.ndarray) -> np.ndarray:
        """``grad f(w) = (1/N) sum_i grad f_i(w)``."""
        return self.X.T @ self.residual(self.X @ w, slice(None)) / self.n + self.l2 * w

    @cached_property
    def optimum(self) -> np.ndarray:
        """The minimizer ``w*`` (for a singular least-squares problem, the minimum-norm one)."""
        return self._solve_optimum()

    @cached_property
    def optimal_loss(self) -> float:
        return self.loss(self.optimum)

    def suboptimality(self, w: np.ndarray) -> float:
        """``f(w) - f*``, never negative."""
        return max(self.loss(w) - self.optimal_loss, 0.0)

    @cached_property
    def hessian_extremes(self) -> tuple[float, float]:
        """Smallest and largest eigenvalue of the Hessian at the optimum (mu and L)."""
        eig = np.linalg.eigvalsh(self.hessian(self.optimum))
        return float(eig[0]), float(eig[-1])

    def hessian(self, w: np.ndarray) -> np.ndarray:
        weights = self.curvature(self.X @ w)
        return (self.X.T * weights) @ self.X / self.n + self.l2 * np.eye(self.d)

    def curvature(self, margins: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class LeastSquares(Problem):
    """``f_i(w) = 1/2 (x_i . w - y_i)^2 + l2/2 ||w||^2``."""

    name = "linreg"
    loss_derivative = squared_error_derivative

    def curvature(self, margins):
        return np.ones_like(margins)

    def loss(self, w):
        r = self.X @ w - self.y
        return 0.5 * float(r @ r) / self.n + 0.5 * self.l2 * float(w @ w)

    def suboptimality(self, w):
        # f is quadratic, so f(w) - f* = 1/2 (w-w*)' H (w-w*) exactly, with no cancellation
        # between two nearly equal losses: this is what lets the trace reach 1e-30.
        e = w - self.optimum
        Xe = self.X @ e
        return 0.5 * float(Xe @ Xe) / self.n + 0.5 * self.l2 * float(e @ e)

    def _solve_optimum(self):
        if self.l2 > 0:
            A = self.X.T @ self.X / self.n + self.l2 * np.eye(self.d)
            return scipy.linalg.solve(A, self.X.T @ self.y / self.n, assume_a="pos")
        return scipy.linalg.lstsq(self.X, self.y)[0]


class LogisticRegression(Problem):
    """``f_i(w) = log(1 + exp(x_i . w)) - y_i x_i . w + l2/2 ||w||^2``, labels ``y_i`` in {0, 1}."""

    name = "logreg"

    def __init__(self, X, y, l2: float = 0.0):
        super().__init__(X, y, l2)
        if not np.isin(self.y, (0.0, 1.0)).all():
            raise HalpInputError("y must hold logistic labels 0 or 1 for problem logreg")

    loss_derivative = logistic_derivative

    def curvature(self, margins):
        p = expit(margins)
        return p * (1.0 - p)

    def loss(self, w):
        a = self.X @ w
        return float(np.mean(np.logaddexp(0.0, a) - self.y * a)) + 0.5 * self.l2 * float(w @ w)

    def suboptimality(self, w):
        # f(w) - f* without subtracting two nearly equal losses. With a = X w, a* = X w*,
        # delta = a - a* and p* = sigmoid(a*), each sample contributes
        #   softplus(a) - softplus(a*) - y delta = log1p(p* expm1(delta)) - y delta,
        # and since grad f(w*) = 0 the first-order terms sum to -l2 w*.e, which cancels against
        # the regularizer's, leaving  mean(log1p(p* expm1(delta)) - p* delta) + l2/2 ||e||^2:
        # a sum of non-negative remainders, each exact to rounding, down to 1e-30 and below.
        e = w - self.optimum
        delta = self.X @ e
        p_star = expit(self.X @ self.optimum)
        remainder = np.log1p(p_star * np.expm1(delta)) - p_star * delta
        return max(float(np.mean(remainder)) + 0.5 * self.l2 * float(e @ e), 0.0)

    def _solve_optimum(self):
        # Damped Newton to machine precision: the objective is smooth and (with l2 > 0 or
        # non-separable data) strongly convex, so this converges quadratically.
        w = np.zeros(self.d)
        for _ in range(100):
            g = self.full_gradient(w)
            if np.linalg.norm(g) <= 1e-14 * max(1.0, np.linalg.norm(w)):
                return w
            step = scipy.linalg.solve(self.hessian(w), g, assume_a="pos")
            t, f0 = 1.0, self.loss(w)
            while self.loss(w - t * step) > f0 - 0.25 * t * float(g @ step) and t > 1e-10:
                t *= 0.5
            w = w - t * step
        return w


@numba.cfunc(LOSS_DERIVATIVE_SIGNATURE, cache=True)
def squared_hinge_derivative(a, y):
    """``d/da max(0, 1 - y a)^2 / 2 = -y max(0, 1 - y a)`` for one sample (label ``y = +-1``)."""
    slack = 1.0 - y * a
    return -y * slack if slack > 0.0 else 0.0


class SquaredHingeSVM(Problem):
    """The L2-SVM: ``f_i(w) = max(0, 1 - y_i x_i . w)^2 / 2 + l2/2 ||w||^2``, labels ``+-1``.

    The squared hinge is once differentiable; its generalized Hessian weighs the samples inside
    the margin (``y_i x_i . w < 1``) by 1 and the others by 0.
    """

    name = "svm"
    loss_derivative = squared_hinge_derivative

    def __init__(self, X, y, l2: float = 0.0):
        super().__init__(X, y, l2)
        if not np.isin(self.y, (-1.0, 1.0)).all():
            raise HalpInputError("y must hold SVM labels -1 or +1 for problem svm")

    def curvature(self, margins):
        return (self.y * margins < 1.0).astype(np.float64)

    def loss(self, w):
        slack = np.maximum(1.0 - self.y * (self.X @ w), 0.0)
        return 0.5 * float(slack @ slack) / self.n + 0.5 * self.l2 * float(w @ w)

    def suboptimality(self, w):
        # As for logistic regression, the first-order terms at w* cancel, leaving the mean of
        # the per-sample Bregman remainders of h(u) = max(0, u)^2 / 2 at the slacks u = 1 - y a,
        # each a sum of non-negative terms (no cancellation): with u* > 0 it is (u - u*)^2 / 2
        # while u > 0 and u* (u*/2 - u) once u <= 0; with u* <= 0 it is max(0, u)^2 / 2.
        e = w - self.optimum
        slack_star = 1.0 - self.y * (self.X @ self.optimum)
        change = -self.y * (self.X @ e)  # u - u*, computed without forming u - u*
        slack = slack_star + change
        active = np.where(slack > 0, 0.5 * change * change,
                          slack_star * (0.5 * slack_star - slack))
        remainder = np.where(slack_star > 0, active, 0.5 * np.maximum(slack, 0.0) ** 2)
        return max(float(np.mean(remainder)) + 0.5 * self.l2 * float(e @ e), 0.0)

    def _solve_optimum(self):
        # Finite Newton (Keerthi and DeCoste 2005): on the samples inside the margin the loss is
        # the least-squares (a - y)^2 / 2, so each step solves that quadratic exactly, then a
        # line search on the piecewise quadratic; it stops when the active set repeats.
        w = np.zeros(self.d)
        for _ in range(200):
            active = self.y * (self.X @ w) < 1.0
            Xa = self.X[active]
            A = Xa.T @ Xa / self.n + self.l2 * np.eye(self.d)
            target = scipy.linalg.lstsq(A, Xa.T @ self.y[active] / self.n)[0]
            step = target - w
            t, f0 = 1.0, self.loss(w)
            slope = float(self.full_gradient(w) @ step)
            while self.loss(w + t * step) > f0 + 0.25 * t * slope and t > 1e-12:
                t *= 0.5
            w = w + t * step
            if t == 1.0 and np.array_equal(self.y * (self.X @ w) < 1.0, active):
                return w
        return w


PROBLEMS = {cls.name: cls for cls in (LeastSquares, LogisticRegression, SquaredHingeSVM)}


def make_problem(name: str, X, y, l2: float = 0.0) -> Problem:
    """The problem called ``name`` (``linreg``, ``logreg`` or ``svm``) on the given data."""
    if name not in PROBLEMS:
        raise HalpInputError(f"problem must be one of {', '.join(PROBLEMS)}, not {name!r}")
    return PROBLEMS[name](X, y, l2)
