"""Fixed-point numbers: the one definition of bits, scale, rounding and saturation in halp-hw.

A format ``(delta, b)`` holds the values ``delta * q`` with ``q`` a b-bit two's-complement integer,
``-2**(b-1) <= q <= 2**(b-1) - 1``. Quantization is

    Q(x) = delta * clamp(floor(x / delta + u), qmin, qmax)

with ``u ~ U[0, 1)`` per element for stochastic rounding (unbiased inside the range) and ``u = 1/2``
for nearest rounding, so an exact tie rounds up, towards +inf (``Q(0.5 delta) = delta``,
``Q(-0.5 delta) = 0``). Every clamp is counted: a quantization returns how many values saturated.

The integer primitives at the bottom (:func:`saturate`, :func:`shift_round`) are the exact
operations the hardware performs, for the HDL's testbenches and checks (with the widths in
:class:`halp_hw.golden.hardware.HardwareConfig`); the compiled loops of
:mod:`halp_hw.golden.kernels` apply the same arithmetic element by element.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

from .validation import HalpInputError, check_int, check_positive

__all__ = [
    "MIN_BITS", "MAX_BITS", "MAX_FORMAT_BITS", "Rounding", "FixedFormat", "Quantized",
    "int_range", "saturate", "shift_round", "covering_exponent",
]

MIN_BITS = 2
#: Widest user-facing precision (the solvers' and the command line's ``bits``).
MAX_BITS = 32
#: Widest format at all: internal hardware words (accumulators, gradients) stay exact in int64.
MAX_FORMAT_BITS = 62


class Rounding(str, enum.Enum):
    """How a value between two grid points is rounded."""

    NEAREST = "nearest"
    STOCHASTIC = "stochastic"


def int_range(bits: int) -> tuple[int, int]:
    """The smallest and largest ``bits``-bit two's-complement integers."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


@dataclass(frozen=True)
class Quantized:
    """The result of a quantization: grid integers, the format, and the saturation count.

    Attributes
    ----------
    ints : numpy.ndarray of int64
        The integers ``q``; the represented values are ``q * fmt.scale``.
    fmt : FixedFormat
        The format the integers belong to.
    saturated : int
        How many elements were clamped to ``qmin`` or ``qmax``.
    """

    ints: np.ndarray
    fmt: "FixedFormat"
    saturated: int

    @property
    def values(self) -> np.ndarray:
        """The represented real values, ``ints * scale``, as float64."""
        return self.ints.astype(np.float64) * self.fmt.scale


@dataclass(frozen=True)
class FixedFormat:
    """A b-bit signed fixed-point format with a real scale.

    Parameters
    ----------
    bits : int
        Total width including the sign, ``MIN_BITS..MAX_FORMAT_BITS``.
    scale : float
        The grid spacing ``delta`` (value of one LSB), finite and > 0.
    """

    bits: int
    scale: float

    def __post_init__(self):
        check_int("bits", self.bits, MIN_BITS, MAX_FORMAT_BITS)
        object.__setattr__(self, "scale", check_positive("scale", self.scale))

    @classmethod
    def power_of_two(cls, bits: int, exponent: int) -> "FixedFormat":
        """The format with ``scale = 2**exponent``, as hardware uses."""
        return cls(bits, math.ldexp(1.0, int(exponent)))

    @property
    def qmin(self) -> int:
        return int_range(self.bits)[0]

    @property
    def qmax(self) -> int:
        return int_range(self.bits)[1]

    @property
    def max_value(self) -> float:
        """The largest representable value, ``qmax * scale``."""
        return self.qmax * self.scale

    def quantize(self, x, rounding: Rounding | str = Rounding.NEAREST,
                 rng: np.random.Generator | None = None) -> Quantized:
        """Quantize ``x`` onto this grid.

        Parameters
        ----------
        x : array_like
            Finite real values.
        rounding : Rounding or str
            ``"nearest"`` (ties towards +inf) or ``"stochastic"``.
        rng : numpy.random.Generator
            The source of ``u`` for stochastic rounding; required then, ignored otherwise.
        """
        rounding = Rounding(rounding)
        scaled = np.asarray(x, dtype=np.float64) / self.scale
        if rounding is Rounding.STOCHASTIC:
            if rng is None:
                raise HalpInputError("stochastic rounding needs rng, a numpy.random.Generator")
            offset = rng.random(scaled.shape)
        else:
            offset = 0.5
        floored = np.floor(scaled + offset)
        # Clamp in float first so that huge values cannot overflow the int64 conversion.
        clamped = np.clip(floored, self.qmin, self.qmax)
        return Quantized(clamped.astype(np.int64), self, int(np.count_nonzero(clamped != floored)))


def saturate(values: np.ndarray, bits: int) -> tuple[np.ndarray, int]:
    """Clamp integers to ``bits``-bit two's complement; return them and how many were clamped."""
    low, high = int_range(bits)
    values = np.asarray(values, dtype=np.int64)
    clamped = np.clip(values, low, high)
    return clamped, int(np.count_nonzero(clamped != values))


def shift_round(values: np.ndarray, frac_bits: int, addend) -> np.ndarray:
    """``floor((values + addend) / 2**frac_bits)`` on integers: an arithmetic shift after an add.

    With ``addend`` uniform in ``0 .. 2**frac_bits - 1`` this is stochastic rounding of a number
    with ``frac_bits`` fraction bits; with ``addend = 2**(frac_bits - 1)`` it is nearest rounding
    with ties towards +inf. Both are exactly what an adder followed by dropping the low bits does.
    """
    return (np.asarray(values, dtype=np.int64) + np.asarray(addend, dtype=np.int64)) >> frac_bits


def covering_exponent(radius: float, bits: int) -> int:
    """The smallest ``e`` such that the b-bit grid of spacing ``2**e`` reaches ``radius``.

    That is, ``(2**(bits-1) - 1) * 2**e >= radius``: the power-of-two scale that HALP's bit
    centering uses in hardware, never finer than the real-valued ``radius / (2**(bits-1) - 1)``.
    """
    radius = check_positive("radius", radius)
    qmax = int_range(bits)[1]
    exponent = math.ceil(math.log2(radius / qmax))
    # log2 rounding can be off by one ulp near powers of two: settle it exactly.
    while math.ldexp(qmax, exponent) < radius:
        exponent += 1
    while math.ldexp(qmax, exponent - 1) >= radius:
        exponent -= 1
    return exponent
