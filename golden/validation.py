"""Input checking shared by the golden model, the HDL generators and the command line.

Every check raises :class:`HalpInputError` with a one-line message that names the parameter,
what was given and what is allowed. The command line turns it into exit status 2.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HalpInputError", "check_int", "check_positive", "check_finite_array",
           "check_data_values"]

#: Headroom (a factor) kept between the data and the float64 range, for the sums of squares of
#: losses and gradients.
HOST_HEADROOM = 2.0**20


class HalpInputError(ValueError):
    """A user-supplied parameter or data set is outside what halp-hw supports."""


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int, or raise if it is not an integer in ``low..high``."""
    allowed = f"an integer in {low}..{high}" if high is not None else f"an integer >= {low}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise HalpInputError(f"{name} must be {allowed}, not {value!r}")
    if value < low or (high is not None and value > high):
        raise HalpInputError(f"{name} must be {allowed}, not {value}")
    return int(value)


def check_positive(name: str, value) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise HalpInputError(f"{name} must be a finite number > 0, not {value!r}") from None
    if not np.isfinite(number) or number <= 0:
        raise HalpInputError(f"{name} must be a finite number > 0, not {value}")
    return number


def check_finite_array(name: str, values, ndim: int) -> np.ndarray:
    """Return ``values`` as a float64 array of ``ndim`` dimensions, non-empty and finite."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim:
        raise HalpInputError(f"{name} must be a {ndim}-D array, got shape {array.shape}")
    if array.size == 0:
        raise HalpInputError(f"{name} is empty (shape {array.shape}); at least one sample is needed")
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise HalpInputError(
            f"{name} contains {int(bad.sum())} NaN/inf value(s), first at index {where}; "
            "all values must be finite"
        )
    return array


def _scale_estimates(n: int, d: int, x_peak: float, y_peak: float) -> dict[str, float]:
    """log10 of the largest values a least-squares run computes from data of these peaks: the
    squared norm of a gradient (``~ d (n d |x| |y|)^2``), a loss (``~ n (d |y|)^2``), the squared
    distance to the optimum (``~ d (|y| / |x|)^2``) and a per-sample smoothness (``~ d |x|^2``)."""
    lx, ly, ln, ld = (float(np.log10(v)) for v in (x_peak, y_peak, n, d))
    return {"squared gradient norm": 2 * (lx + ly + ln) + 3 * ld,
            "loss": ly * 2 + ln + 2 * ld,
            "squared distance to the optimum": 2 * (ly - lx) + ld,
            "per-sample smoothness": 2 * lx + ld}


def check_data_values(X: np.ndarray, y: np.ndarray, problem: str, l2: float = 0.0,
                      dtype=np.float64) -> None:
    """Raise unless ``X`` and ``y`` (finite arrays) make a problem worth training on.

    ``X`` must not be all zeros or constant; for ``linreg``, ``y`` must not be all zeros (``w = 0`` would
    already be optimal); for ``logreg`` without L2, ``y`` must hold both labels (with one, the
    optimum is at infinity). The magnitudes must keep the largest values a run computes
    (:func:`_scale_estimates`) within ``dtype``'s range, :data:`HOST_HEADROOM` to spare, and
    the smallest (the gradient and the smoothness) above its smallest normal number.
    """
    n, d = X.shape
    x_peak, y_peak = float(np.max(np.abs(X))), float(np.max(np.abs(y)))
    if x_peak == 0:
        raise HalpInputError("X is all zeros: there is nothing to train on")
    if n > 1 and np.all(X == X.flat[0]):
        raise HalpInputError(f"X is constant (every entry is {X.flat[0]:g}): all {n} samples are "
                             "the same point")
    if problem == "linreg" and y_peak == 0:
        raise HalpInputError("y is all zeros: w = 0 is already optimal, there is nothing to train")
    if problem == "logreg" and l2 == 0 and np.all(y == y[0]):
        raise HalpInputError(f"y is constant (every label is {y[0]:g}): the logistic optimum is "
                             "at infinity; use both labels or --l2 > 0")
    info, headroom = np.finfo(dtype), float(np.log10(HOST_HEADROOM))
    high, low = float(np.log10(info.max)) - headroom, float(np.log10(info.smallest_normal))
    y_scale = y_peak if y_peak > 0 else 1.0  # logreg labels all 0 (with L2): margins of 1
    estimates = _scale_estimates(n, d, x_peak, y_scale)
    smallest = {"gradient": 2 * float(np.log10(x_peak * y_scale)) if x_peak * y_scale > 0
                else -np.inf, "per-sample smoothness": 2 * float(np.log10(x_peak))}
    scale = f"max |X| = {x_peak:.3g}, max |y| = {y_peak:.3g}"
    for quantity, exponent in estimates.items():
        if exponent > high:
            raise HalpInputError(
                f"the data's scale ({scale}) is beyond {np.dtype(dtype).name}: the {quantity} "
                f"would reach about 1e{exponent:.0f}, above 1e{high:.0f}; rescale the data")
    for quantity, exponent in smallest.items():
        if exponent < low + headroom:
            raise HalpInputError(
                f"the data's scale ({scale}) is too small for {np.dtype(dtype).name}: the "
                f"squared {quantity} would be about 1e{exponent:.0f}, near or below its "
                f"smallest normal number 1e{low:.0f}; rescale the data")
