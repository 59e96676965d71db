"""The full-gradient pass on the accelerator, in integers: the arithmetic of the epoch on chip.

``docs/numeric-contract.md`` ("The epoch on the accelerator") is the prose of this file. With the
pass's data ``xg`` (``gradient_data_bits``-bit ints, ``X_q = xg * 2**exg``), the targets ``yq``
(LSB ``2**(exg + ec)``) and the center ``wc`` (``center_bits``-bit ints, ``w~ = wc * 2**ec``):

    r_i  = sum_j xg_ij wc_j - yq_i                                  exact
    acc_j = sum_i xg_ij r_i                                          exact (acc_width bits)
    t_j  = acc_j + rshift(wc_j * LAMBDA.m, -LAMBDA.e)                 N g_j in LSBs 2**u
    Q    = sum_j t_j**2                                              exact
    e    = smallest e with Q <= K.m * 2**(K.e + 2 e)                 leading ones + one compare
    G_j  = clamp(rshift(t_j * A.m, -(A.e + u + F - e)), grad_width)
    wc_j <- clamp(wc_j + rshift(z_j, ec - e), center_bits)           end of the epoch

with ``u = 2 exg + ec`` (least squares; the logistic pass's residual and ``u`` are in
:mod:`halp_hw.golden.logistic_pass`). ``rshift(v, s)`` is ``v << -s`` for ``s <= 0`` and
``(v + 2**(s-1)) >> s`` (nearest, ties up) for ``s > 0``. The host programs the constants once,
at load: ``LAMBDA ~ N lambda 2**(ec - u)``, ``A ~ alpha / N`` (nearest) and
``K ~ (mu N (2**(b-1) - 1) 2**-u)**2`` (rounded down, so the grid is never finer than the host's
rule), each a ``CONSTANT_BITS``-bit mantissa and an exponent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from .fixedpoint import covering_exponent, int_range
from .validation import HalpInputError

__all__ = ["CONSTANT_BITS", "CONSTANT_EXPONENT_BITS", "SCALE_EXPONENT_BITS", "CENTER_HEADROOM",
           "Constant", "PassWidths", "rshift", "quantize_targets", "default_center_exponent",
           "accumulate_residuals", "pass_dots", "pass_accumulators", "scale_exponent",
           "PassConstants", "EpochGradient", "finish_gradient", "update_center"]

#: Bits of the mantissa of every host-given constant (lambda, alpha / N, the scale bound K).
CONSTANT_BITS = 32
#: Width of the signed exponent of a host-given constant.
CONSTANT_EXPONENT_BITS = 10
#: Width of the signed scale-exponent register (``halp_hw.hdl.centering.EXPONENT_BITS``).
SCALE_EXPONENT_BITS = 8
#: The default center range covers this multiple of ``max |w*|`` (room for the iterates).
CENTER_HEADROOM = 4.0
#: Bits of the low limb of the compiled loop's exact accumulators.
_LIMB = 32


@dataclass(frozen=True)
class Constant:
    """A host-given constant ``mantissa * 2**exponent``, mantissa in ``[2**31, 2**32)`` or 0."""

    mantissa: int
    exponent: int

    @classmethod
    def of(cls, value: float, round_down: bool = False, name: str = "constant") -> "Constant":
        """The constant nearest ``value`` (or the largest not above it) that the chip holds."""
        if not (math.isfinite(value) and value >= 0):
            raise HalpInputError(f"the full-gradient {name} must be finite and >= 0, not {value}")
        if value == 0:
            return cls(0, 0)
        exponent = math.frexp(value)[1] - CONSTANT_BITS
        scaled = math.ldexp(value, -exponent)
        mantissa = math.floor(scaled) if round_down else math.floor(scaled + 0.5)
        if mantissa >> CONSTANT_BITS:
            mantissa, exponent = mantissa >> 1, exponent + 1
        low, high = int_range(CONSTANT_EXPONENT_BITS)
        if not low <= exponent <= high:
            raise HalpInputError(
                f"the full-gradient {name} {value:.3g} needs the exponent {exponent}, outside "
                f"the {CONSTANT_EXPONENT_BITS}-bit range {low}..{high}: rescale the data or "
                "change center_exponent")
        return cls(mantissa, exponent)

    @property
    def value(self) -> float:
        return math.ldexp(self.mantissa, self.exponent)


def rshift(value: int, shift: int) -> int:
    """``value * 2**-shift`` rounded to nearest, ties up; exact for ``shift <= 0``."""
    if shift <= 0:
        return value << -shift
    return (value + (1 << (shift - 1))) >> shift


def _clamp(value: int, bits: int) -> tuple[int, bool]:
    low, high = int_range(bits)
    return min(max(value, low), high), not low <= value <= high


@dataclass(frozen=True)
class PassWidths:
    """The widths of the full-gradient pass of one build (a ``HardwareConfig``).

    Attributes
    ----------
    data_bits : int
        Width of the data the pass reads (``gradient_data_bits``, or the inner loop's).
    dot_width : int
        Width of ``x_i . wc`` and of the stored target ``yq_i``: exact for any ``d <= d_max``.
    residual_width : int
        Width of ``r_i``.
    acc_width : int
        Width of the accumulators ``acc_j``: exact for any ``n <= n_max``.
    word_bits : int
        A memory word of the pass's region: ``lanes`` values of ``data_bits``.
    target_words : int
        Words that hold one target after its row.
    sum_of_squares_width : int
        Width of the unsigned ``Q``.
    """

    data_bits: int
    dot_width: int
    residual_width: int
    acc_width: int
    word_bits: int
    target_words: int
    sum_of_squares_width: int

    @classmethod
    def of(cls, config) -> "PassWidths":
        bits = config.gradient_data_bits or config.data_bits
        dot = bits + config.center_bits - 1 + config.d_max.bit_length()
        acc = bits + dot + config.n_max.bit_length()
        word = config.lanes * bits
        # |t_j| < 2**acc_width (PassConstants.check_l2_term), so t**2 < 2**(2 acc_width)
        widths = cls(bits, dot, dot + 1, acc, word, -(-dot // word),
                     2 * acc + config.d_max.bit_length())
        # the compiled loop keeps r in int64 and acc in two int64 limbs (low limb 32 bits)
        if widths.residual_width > 62 or widths.acc_width > 62 + _LIMB:
            raise HalpInputError(
                f"the full-gradient pass of this build needs a {widths.residual_width}-bit "
                f"residual and {acc}-bit accumulators (at most 62 and {62 + _LIMB}): lower "
                f"center_bits ({config.center_bits}), gradient_data_bits ({bits}), d_max or n_max")
        return widths

    def row_words(self, beats: int) -> int:
        """Words of one row of the pass's region: its ``beats`` data words and its target."""
        return beats + self.target_words


def quantize_targets(y: np.ndarray, exponent: int, width: int) -> np.ndarray:
    """``yq = nearest(y * 2**-exponent)`` (ties up) as ``width``-bit ints; refuses to clamp."""
    scaled = np.floor(np.ldexp(np.asarray(y, dtype=np.float64), -exponent) + 0.5)
    low, high = int_range(width)
    if scaled.min() < low or scaled.max() > high:
        raise HalpInputError(
            f"the targets y (max |y| {np.max(np.abs(y)):.3g}) do not fit the {width}-bit target "
            f"word at LSB 2**{exponent}: raise center_exponent or center_bits")
    return scaled.astype(np.int64)


def default_center_exponent(problem, config, pass_exponent: int) -> int:
    """The LSB exponent ``ec`` of the center: its range covers ``CENTER_HEADROOM * max|w*|``
    and least squares' targets fit the target word (``pass_exponent`` is the pass data's
    ``exg``; a logistic target is a label, whatever ``ec``)."""
    widths = PassWidths.of(config)
    peak = float(np.max(np.abs(problem.optimum)))
    exponent = covering_exponent(CENTER_HEADROOM * peak, config.center_bits) if peak > 0 else 0
    y_peak = float(np.max(np.abs(problem.y)))
    if y_peak > 0 and config.problem == "linreg":  # yq = y * 2**-(exg + ec) must fit dot_width bits
        exponent = max(exponent, covering_exponent(y_peak, widths.dot_width) - pass_exponent)
    return exponent


@numba.njit(cache=True)
def _accumulate_loop(x, residuals, high, low):
    """``acc_j = sum_i x_ij residuals_i`` exactly, as ``high * 2**32 + low``."""
    mask = (1 << 32) - 1
    n, d = x.shape
    for i in range(n):
        residual_high = residuals[i] >> 32
        residual_low = residuals[i] & mask
        for j in range(d):
            low[j] += x[i, j] * residual_low
            high[j] += x[i, j] * residual_high + (low[j] >> 32)
            low[j] &= mask


def accumulate_residuals(x: np.ndarray, residuals: np.ndarray) -> list:
    """``acc_j = sum_i x_ij r_i``, exact, as Python ints (``r_i`` fits ``residual_width``)."""
    d = x.shape[1]
    high, low = np.zeros(d, dtype=np.int64), np.zeros(d, dtype=np.int64)
    _accumulate_loop(np.ascontiguousarray(x, dtype=np.int64),
                     np.ascontiguousarray(residuals, dtype=np.int64), high, low)
    return [(int(h) << _LIMB) + int(v) for h, v in zip(high, low)]


def pass_dots(x: np.ndarray, center: np.ndarray) -> np.ndarray:
    """``dot_i = x_i . wc`` for every row, exact in int64 (``dot_width`` < 63 bits)."""
    return np.asarray(x, dtype=np.int64) @ np.asarray(center, dtype=np.int64)


def pass_accumulators(x: np.ndarray, targets: np.ndarray, center: np.ndarray) -> list:
    """The least-squares pass over all rows: the exact accumulators ``acc_j`` as Python ints,
    with ``r_i = x_i . wc - yq_i``."""
    return accumulate_residuals(x, pass_dots(x, center) - np.asarray(targets, dtype=np.int64))


def scale_exponent(sum_of_squares: int, bound: Constant, previous: int) -> int:
    """The smallest ``e`` with ``Q <= K.m * 2**(K.e + 2 e)``, clamped to the exponent register.

    With ``p = bit_length(Q)`` and ``q = bit_length(K.m)``, every ``e`` with
    ``2 e <= p - q - K.e - 1`` fails and every one with ``2 e >= p - q - K.e + 1`` holds, so the
    chip starts at ``e0 = ceil((p - q - K.e) / 2)`` and compares once. ``Q = 0`` keeps
    ``previous``.
    """
    if sum_of_squares == 0:
        return previous
    if bound.mantissa == 0:
        raise HalpInputError("the scale bound K (from mu) is zero")
    excess = sum_of_squares.bit_length() - bound.mantissa.bit_length() - bound.exponent
    exponent = -(-excess // 2)
    shift = bound.exponent + 2 * exponent
    holds = (sum_of_squares <= bound.mantissa << shift if shift >= 0
             else sum_of_squares << -shift <= bound.mantissa)
    if not holds:
        exponent += 1
    low, high = int_range(SCALE_EXPONENT_BITS)
    return min(max(exponent, low), high)


@dataclass(frozen=True)
class PassConstants:
    """What the host programs once for the epoch on chip.

    Attributes
    ----------
    data_exponent : int
        ``exg`` of the pass's data.
    center_exponent : int
        ``ec``: ``w~ = wc * 2**ec``.
    l2 : Constant
        ``N lambda 2**(ec - u)`` (least squares: ``N lambda 2**-(2 exg)``).
    step : Constant
        ``alpha / N``.
    bound : Constant
        ``K = (mu N (2**(b-1) - 1) 2**-u)**2``, rounded down.
    unit : int or None
        ``u``, the LSB exponent of the accumulators and ``t`` (``t 2**u ~ N g``); None is least
        squares' ``2 exg + ec``. The logistic pass's is ``exg - sigmoid_out_bits``
        (:mod:`halp_hw.golden.logistic_pass`).
    """

    data_exponent: int
    center_exponent: int
    l2: Constant
    step: Constant
    bound: Constant
    unit: int | None = None

    @property
    def gradient_unit(self) -> int:
        """``u``: ``t_j 2**u = N g_j``."""
        if self.unit is None:
            return 2 * self.data_exponent + self.center_exponent
        return self.unit

    @classmethod
    def program(cls, *, n: int, l2: float, step_size: float, mu: float, bits: int,
                data_exponent: int, center_exponent: int,
                unit: int | None = None) -> "PassConstants":
        """The constants of a run; ``unit`` as the attribute (None: least squares)."""
        unit = 2 * data_exponent + center_exponent if unit is None else unit
        radius = mu * n * int_range(bits)[1]
        return cls(data_exponent, center_exponent,
                   Constant.of(math.ldexp(n * l2, center_exponent - unit), name="L2 constant"),
                   Constant.of(step_size / n, name="step constant alpha / N"),
                   Constant.of(math.ldexp(radius, -unit) ** 2, round_down=True,
                               name="scale bound K"), unit)

    def check_l2_term(self, widths: PassWidths, center_bits: int) -> None:
        """Refuse an L2 weight whose term ``wc * LAMBDA`` could reach ``2**(acc_width - 1)``,
        so that ``|t_j| < 2**acc_width``."""
        if self.l2.mantissa and (center_bits - 1 + CONSTANT_BITS + self.l2.exponent
                                 >= widths.acc_width - 1):
            raise HalpInputError(
                f"the L2 weight is too large for the full-gradient pass of this build: "
                f"wc * {self.l2.value:.3g} can exceed the {widths.acc_width}-bit accumulator; "
                "lower center_bits or raise center_exponent")


@dataclass(frozen=True)
class EpochGradient:
    """The chip's per-epoch result of the pass.

    Attributes
    ----------
    exponent : int
        The new scale exponent ``e``.
    grad_ints : numpy.ndarray of int64
        ``G``, ``grad_width``-bit.
    grad_saturated : int
        Clamps of ``G``.
    sum_of_squares : int
        ``Q``.
    """

    exponent: int
    grad_ints: np.ndarray
    grad_saturated: int
    sum_of_squares: int


def finish_gradient(accumulators: list, center: np.ndarray, constants: PassConstants,
                    config, previous_exponent: int) -> EpochGradient:
    """``t``, ``Q``, the scale exponent and ``G`` from the pass's accumulators."""
    terms = [acc + rshift(int(w) * constants.l2.mantissa, -constants.l2.exponent)
             for acc, w in zip(accumulators, center)]
    squares = sum(t * t for t in terms)
    exponent = scale_exponent(squares, constants.bound, previous_exponent)
    shift = -(constants.step.exponent + constants.gradient_unit + config.frac_bits - exponent)
    grad, saturated = [], 0
    for t in terms:
        value, clamped = _clamp(rshift(t * constants.step.mantissa, shift), config.grad_width)
        grad.append(value)
        saturated += clamped
    return EpochGradient(exponent, np.array(grad, dtype=np.int64), saturated, squares)


def update_center(center: np.ndarray, z: np.ndarray, exponent: int, center_exponent: int,
                  center_bits: int) -> tuple[np.ndarray, int]:
    """``wc_j <- clamp(wc_j + rshift(z_j, ec - e), center_bits)``; returns it and the clamps."""
    updated, saturated = [], 0
    for w, offset in zip(center, z):
        value, clamped = _clamp(int(w) + rshift(int(offset), center_exponent - exponent),
                                center_bits)
        updated.append(value)
        saturated += clamped
    return np.array(updated, dtype=np.int64), saturated
