"""Input checking shared by the golden model, the HDL generators and the command line.

Every check raises :class:`HalpInputError` with a one-line message that names the parameter,
what was given and what is allowed. The command line turns it into exit status 2.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HalpInputError", "check_int", "check_positive", "check_finite_array",
           "host_magnitude_limits", "check_data_values"]

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


def host_magnitude_limits(n: int, d: int) -> tuple[float, float]:
    """The range ``(low, high)`` that the largest |value| of a data set must lie in for its float64
    sums of squares (losses, gradients, ``X^T X`` over ``n`` samples and ``d`` features) to
    neither overflow nor underflow, with :data:`HOST_HEADROOM` to spare."""
    terms = float(n) * float(d)
    info = np.finfo(np.float64)
    return (float(np.sqrt(info.smallest_normal * terms)) * HOST_HEADROOM,
            float(np.sqrt(info.max / terms)) / HOST_HEADROOM)


def check_data_values(X: np.ndarray, y: np.ndarray, problem: str, l2: float = 0.0) -> None:
    """Raise unless ``X`` and ``y`` (finite arrays) make a problem worth training on.

    ``X`` must not be all zeros; its and ``y``'s magnitudes must lie within
    :func:`host_magnitude_limits`; for ``linreg``, ``y`` must not be all zeros (``w = 0`` would
    already be optimal); for ``logreg`` without L2, ``y`` must hold both labels (with one, the
    optimum is at infinity).
    """
    n, d = X.shape
    low, high = host_magnitude_limits(n, d)
    for name, values in (("X", X), ("y", y)):
        peak = float(np.max(np.abs(values)))
        if peak > high:
            raise HalpInputError(
                f"{name} holds values up to {peak:.3g}; with {n} samples and {d} features the "
                f"float64 host needs max |{name}| <= {high:.3g} (rescale the data)")
        if name == "X" and peak == 0:
            raise HalpInputError("X is all zeros: there is nothing to train on")
        if name == "X" and peak < low:
            raise HalpInputError(
                f"X holds values no larger than {peak:.3g}; the float64 host needs max |X| >= "
                f"{low:.3g} for its sums of squares not to underflow (rescale the data)")
    if problem == "linreg" and not np.any(y):
        raise HalpInputError("y is all zeros: w = 0 is already optimal, there is nothing to train")
    if problem == "logreg" and l2 == 0 and np.all(y == y[0]):
        raise HalpInputError(f"y is constant (every label is {y[0]:g}): the logistic optimum is "
                             "at infinity; use both labels or --l2 > 0")
