"""Input checking shared by the golden model, the HDL generators and the command line.

Every check raises :class:`HalpInputError` with a one-line message that names the parameter,
what was given and what is allowed. The command line turns it into exit status 2.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HalpInputError", "check_int", "check_positive", "check_finite_array"]


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
