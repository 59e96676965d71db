"""The CPU baseline the accelerator is compared with: SVRG in NumPy, float64 and float32.

Same problem, step size, epoch length, epochs, start point (w = 0) and sample order as the
accelerator run, timed with ``time.perf_counter`` on this machine. The timed region is the
algorithm only (full gradients and inner steps); drawing the sample indices and measuring the
suboptimality happen outside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from halp_hw.golden.prng import SampleOrder
from halp_hw.golden.problems import LeastSquares
from halp_hw.golden.validation import HalpInputError, check_int, check_positive

__all__ = ["BASELINE_DTYPES", "BaselineRun", "svrg_baseline"]

#: The precisions the baseline runs in, by name.
BASELINE_DTYPES = {"float64": np.float64, "float32": np.float32}


@dataclass(frozen=True)
class BaselineRun:
    """One timed baseline run.

    Attributes
    ----------
    dtype : str
        ``float64`` or ``float32``.
    seconds : float
        Wall time of the algorithm on this machine.
    inner_steps : int
        Inner steps taken (epochs * epoch length).
    rel_subopt : list of float
        ``(f(w_k) - f*) / (f(w_0) - f*)`` for k = 0..epochs, measured in float64.
    """

    dtype: str
    seconds: float
    inner_steps: int
    rel_subopt: list

    @property
    def steps_per_second(self) -> float:
        return self.inner_steps / self.seconds

    def to_dict(self) -> dict:
        return {"dtype": self.dtype, "seconds": self.seconds, "inner_steps": self.inner_steps,
                "inner_steps_per_second": self.steps_per_second,
                "rel_subopt": self.rel_subopt}


def _svrg(X: np.ndarray, y: np.ndarray, alpha, order: np.ndarray) -> list:
    """SVRG from w = 0 in the dtype of ``X``; returns the center after every epoch (and w_0).

    For least squares the variance-reduced step is
    ``w -= alpha * (x_i (x_i . w - x_i . w~) + g~)``, with ``X w~`` computed once per epoch
    alongside the full gradient ``g~``: the cheapest exact form, so the baseline is not slowed
    by redundant work.
    """
    inv_n = X.dtype.type(1.0 / X.shape[0])
    center = np.zeros(X.shape[1], dtype=X.dtype)
    centers = [center]
    for epoch_samples in order:
        margins = X @ center
        full_grad = X.T @ (margins - y) * inv_n
        w = center.copy()
        for i in epoch_samples:
            x = X[i]
            w -= alpha * ((x @ w - margins[i]) * x + full_grad)
        center = w
        centers.append(center)
    return centers


def svrg_baseline(problem: LeastSquares, *, dtype: str, step_size: float, epoch_length: int,
                  epochs: int, seed: int, repeats: int = 3) -> BaselineRun:
    """Run SVRG on a least-squares problem in ``dtype``; time the fastest of ``repeats`` runs
    (the usual ``timeit`` practice: slower runs measure other load on the machine).

    Parameters
    ----------
    problem : LeastSquares
        The problem the accelerator ran.
    dtype : str
        ``float64`` or ``float32`` (data, iterate and arithmetic).
    step_size, epoch_length, epochs, seed
        As in the accelerator run; the seed selects the same sample order.
    repeats : int
        Timed runs (>= 1); the fastest counts.
    """
    if not isinstance(problem, LeastSquares):
        raise HalpInputError("the CPU baseline implements least squares (problem linreg) only")
    if dtype not in BASELINE_DTYPES:
        raise HalpInputError(f"baseline dtype must be one of {', '.join(BASELINE_DTYPES)}, "
                             f"not {dtype!r}")
    real = BASELINE_DTYPES[dtype]
    check_int("epoch length", epoch_length, 1)
    check_int("epochs", epochs, 1)
    check_int("repeats", repeats, 1)
    alpha = real(check_positive("step size", step_size))
    order = SampleOrder(problem.n, seed).take(epochs * epoch_length).reshape(epochs, epoch_length)
    X, y = problem.X.astype(real), problem.y.astype(real)
    seconds = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        centers = _svrg(X, y, alpha, order)
        seconds = min(seconds, time.perf_counter() - start)
    subopt = [problem.suboptimality(c.astype(np.float64)) for c in centers]
    rel = [s / subopt[0] if subopt[0] > 0 else 0.0 for s in subopt]
    return BaselineRun(dtype, seconds, epochs * epoch_length, rel)
