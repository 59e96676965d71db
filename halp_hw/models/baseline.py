"""The CPU baseline the accelerator is compared with: SVRG on one core, float64 and float32.

Two inner loops, the same algorithm: ``numpy`` (one vectorized NumPy step per sample, the
baseline ``halp-hw simulate`` has always reported) and ``compiled`` (the same step as a numba
loop, the strongest single-core baseline this machine runs: no per-step interpreter overhead).
Same problem, step size, epoch length, epochs, start point (w = 0) and sample order as the
accelerator run, timed with ``time.perf_counter`` on this machine. The timed region is the
algorithm only (full gradients and inner steps); drawing the sample indices and measuring the
suboptimality happen outside it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numba
import numpy as np

from halp_hw.golden.prng import SampleOrder
from halp_hw.golden.problems import Problem
from halp_hw.golden.validation import HalpInputError, check_int, check_positive

__all__ = ["BASELINE_DTYPES", "BASELINE_LOOPS", "REPORTED_TARGETS", "BaselineRun",
           "seconds_to_reach", "svrg_baseline"]

#: The precisions the baseline runs in, by name.
BASELINE_DTYPES = {"float64": np.float64, "float32": np.float32}
#: The ``rel_subopt`` levels whose time :meth:`BaselineRun.to_dict` reports.
REPORTED_TARGETS = (1e-6, 1e-10)


def seconds_to_reach(rel_subopt, epoch_seconds, target: float) -> float | None:
    """The time at the first epoch end with ``rel_subopt <= target`` (lists from epoch 0), or
    None if none is."""
    for rel, seconds in zip(rel_subopt, epoch_seconds):
        if rel <= target:
            return seconds
    return None


@dataclass(frozen=True)
class BaselineRun:
    """One timed baseline run.

    Attributes
    ----------
    dtype : str
        ``float64`` or ``float32``.
    loop : str
        ``numpy`` or ``compiled`` (:data:`BASELINE_LOOPS`).
    seconds : float
        Wall time of the algorithm on this machine.
    inner_steps : int
        Inner steps taken (epochs * epoch length).
    rel_subopt : list of float
        ``(f(w_k) - f*) / (f(w_0) - f*)`` for k = 0..epochs, measured in float64.
    epoch_seconds : list of float
        Wall time of the algorithm up to the end of epoch k, for k = 0..epochs (0 first), in the
        run that ``seconds`` timed.
    """

    dtype: str
    loop: str
    seconds: float
    inner_steps: int
    rel_subopt: list
    epoch_seconds: list

    @property
    def steps_per_second(self) -> float:
        return self.inner_steps / self.seconds

    def seconds_to_reach(self, target: float) -> float | None:
        """Wall time until the first center with ``rel_subopt <= target``; None if none is."""
        return seconds_to_reach(self.rel_subopt, self.epoch_seconds, target)

    def to_dict(self) -> dict:
        return {"dtype": self.dtype, "loop": self.loop, "seconds": self.seconds,
                "inner_steps": self.inner_steps,
                "inner_steps_per_second": self.steps_per_second,
                "rel_subopt": self.rel_subopt, "epoch_seconds": self.epoch_seconds,
                "seconds_to_rel_subopt": {f"{target:g}": self.seconds_to_reach(target)
                                          for target in REPORTED_TARGETS}}


#: The loss of each problem, as the loops take it.
LOSS_CODES = {"linreg": 0, "logreg": 1, "svm": 2}


@numba.njit(cache=True)
def _derivative(loss, a, y, one):
    """``d loss / d a`` at the margin ``a`` for the target ``y``, in the dtype of ``one``."""
    if loss == 0:
        return a - y
    if loss == 1:
        return one / (one + np.exp(-a)) - y
    slack = one - y * a
    return -y * slack if slack > 0 else 0 * one


def _residuals(loss, margins, y, one):
    """:func:`_derivative` of every sample, vectorized (the full gradient's)."""
    if loss == 0:
        return margins - y
    if loss == 1:
        return one / (one + np.exp(-margins)) - y
    slack = one - y * margins
    return np.where(slack > 0, -y * slack, 0 * one)


def _numpy_steps(X, y, loss, margins, full_grad, center, w, samples, alpha, l2) -> None:
    """The inner steps in NumPy, one vectorized step per sample (see :func:`_compiled_steps`)."""
    one = X.dtype.type(1)
    for i in samples:
        x = X[i]
        residual = (_derivative(loss, x @ w, y[i], one)
                    - _derivative(loss, margins[i], y[i], one))
        w -= alpha * (residual * x + l2 * (w - center) + full_grad)


@numba.njit(cache=True)
def _compiled_steps(X, y, loss, margins, full_grad, center, w, samples, alpha, l2) -> None:
    """The inner steps ``w -= alpha (x_i (l'(x_i . w) - l'(x_i . w~)) + l2 (w - w~) + g~)``,
    ``w`` in place (for least squares ``l'(a) - l'(a~) = a - a~``).

    Every value is in the dtype of ``X`` (``alpha`` and ``l2`` too), so float32 is float32
    arithmetic. (:func:`halp_hw.golden.kernels.svrg_steps` is the golden SVRG loop for any
    loss, but it computes through the problem's float64 loss callback, so it cannot run in
    float32.)
    """
    one = X.dtype.type(1)
    for i in samples:
        residual = (_derivative(loss, np.dot(X[i], w), y[i], one)
                    - _derivative(loss, margins[i], y[i], one))
        for j in range(w.size):
            w[j] -= alpha * (residual * X[i, j] + l2 * (w[j] - center[j]) + full_grad[j])


#: The inner loops the baseline runs, by name.
BASELINE_LOOPS = {"numpy": _numpy_steps, "compiled": _compiled_steps}


def _svrg(X: np.ndarray, y: np.ndarray, loss: int, alpha, l2, order: np.ndarray,
          steps) -> tuple[list, list]:
    """SVRG from w = 0 in the dtype of ``X``, inner loop ``steps``; returns the center after
    every epoch (w_0 first) and the cumulative seconds at each.

    The variance-reduced step is ``w -= alpha * (x_i (l'(x_i . w) - l'(x_i . w~)) + l2 (w - w~)
    + g~)``, with ``X w~`` computed once per epoch alongside the full gradient ``g~``: the
    cheapest exact form, so the baseline is not slowed by redundant work.
    """
    inv_n = X.dtype.type(1.0 / X.shape[0])
    one = X.dtype.type(1)
    center = np.zeros(X.shape[1], dtype=X.dtype)
    centers, elapsed = [center], [0.0]
    start = time.perf_counter()
    for epoch_samples in order:
        margins = X @ center
        full_grad = X.T @ _residuals(loss, margins, y, one) * inv_n + l2 * center
        w = center.copy()
        steps(X, y, loss, margins, full_grad, center, w, epoch_samples, alpha, l2)
        center = w
        centers.append(center)
        elapsed.append(time.perf_counter() - start)
    return centers, elapsed


def svrg_baseline(problem: Problem, *, dtype: str, step_size: float, epoch_length: int,
                  epochs: int, seed: int, repeats: int = 3, loop: str = "numpy") -> BaselineRun:
    """Run SVRG on a least-squares, logistic or SVM problem (L2 included) in ``dtype``; time
    the fastest of ``repeats`` runs (the usual ``timeit`` practice: slower runs measure other
    load on the machine).

    Parameters
    ----------
    problem : Problem
        The problem the accelerator ran.
    dtype : str
        ``float64`` or ``float32`` (data, iterate and arithmetic).
    step_size, epoch_length, epochs, seed
        As in the accelerator run; the seed selects the same sample order.
    repeats : int
        Timed runs (>= 1); the fastest counts.
    loop : str
        ``numpy`` or ``compiled`` (compiled before the timed runs, never inside them).
    """
    if problem.name not in LOSS_CODES:
        raise HalpInputError(f"the CPU baseline implements {', '.join(LOSS_CODES)}, not "
                             f"{problem.name}")
    if dtype not in BASELINE_DTYPES:
        raise HalpInputError(f"baseline dtype must be one of {', '.join(BASELINE_DTYPES)}, "
                             f"not {dtype!r}")
    if loop not in BASELINE_LOOPS:
        raise HalpInputError(f"baseline loop must be one of {', '.join(BASELINE_LOOPS)}, "
                             f"not {loop!r}")
    real = BASELINE_DTYPES[dtype]
    check_int("epoch length", epoch_length, 1)
    check_int("epochs", epochs, 1)
    check_int("repeats", repeats, 1)
    alpha = real(check_positive("step size", step_size))
    order = SampleOrder(problem.n, seed).take(epochs * epoch_length).reshape(epochs, epoch_length)
    X, y = np.ascontiguousarray(problem.X, dtype=real), np.ascontiguousarray(problem.y, dtype=real)
    steps = BASELINE_LOOPS[loop]
    loss, l2 = LOSS_CODES[problem.name], real(problem.l2)
    _svrg(X, y, loss, alpha, l2, order[:1, :0], steps)  # compiles (or loads) the loop: not timed
    best = (math.inf, None, None)
    for _ in range(repeats):
        centers, elapsed = _svrg(X, y, loss, alpha, l2, order, steps)
        best = min(best, (elapsed[-1], centers, elapsed), key=lambda run: run[0])
    seconds, centers, elapsed = best
    subopt = [problem.suboptimality(c.astype(np.float64)) for c in centers]
    rel = [s / subopt[0] if subopt[0] > 0 else 0.0 for s in subopt]
    return BaselineRun(dtype, loop, seconds, epochs * epoch_length, rel, elapsed)
