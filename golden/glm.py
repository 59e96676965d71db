"""The hardware numerics of the nonlinear losses: logistic regression and the L2-SVM.

``docs/numeric-contract.md`` ("Logistic regression and the L2-SVM") is the prose of this file.
Least squares needs nothing per sample: its inner gradient difference is ``x_i (x_i . z)``. The
two other linear models need the sample's margin at the epoch's center ``w~``, which the host
computes once per epoch (``a_i = x_i . w~``, float64) and writes next to the row in off-chip
memory, so that it streams in with the row:

- logistic regression: ``A_i``, the margin with ``margin_frac`` fraction bits; the core forms the
  sigmoid inputs of ``a_i + x_i . z 2**(ex + e_k)`` and of ``a_i`` and takes the difference of
  the two fixed-point sigmoids (:func:`halp_hw.golden.kernels.glm_coefficient`);
- L2-SVM: the slack ``1 - y_i a_i`` in units of the dot product's LSB ``2**(ex + e_k)``, and the
  label, so that the hinge's gradient difference is exact integer arithmetic on the dot product.

The step coefficient of both is ``round(difference * m * 2**-shift)`` with a normalized 18-bit
mantissa ``m`` and a shift the host programs (plus ``e_k`` for logistic regression). The L2 term
enters every update as ``z_j * decay`` (:class:`GlmStep`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import expit

from .fixedpoint import FixedFormat, Rounding
from .validation import HalpInputError

__all__ = ["LOSSES", "LOSS_CODES", "LOSS_LATENCY", "MARGIN_GUARD_BITS", "SHIFT_BITS",
           "SigmoidTable", "sigmoid_table", "sample_value_bits", "GlmStep", "glm_step",
           "sample_values"]

#: The losses a core can be built for, and their code in the compiled loop.
LOSSES = ("linreg", "logreg", "svm")
LOSS_CODES = {name: code for code, name in enumerate(LOSSES)}
#: Cycles the coefficient path of each loss adds to the pipeline (``docs/datapath.md``).
LOSS_LATENCY = {"linreg": 0, "logreg": 10, "svm": 3}
#: Fraction bits the streamed margin has beyond the sigmoid input: they dither the rounding of
#: ``a_i + x_i . z`` to the input grid, so that its expected change is the true one.
MARGIN_GUARD_BITS = 16
#: Width of the signed shifts the host programs (``coef_shift``, ``margin_shift``).
SHIFT_BITS = 8
#: The step mantissa's width, ``halp_hw.golden.config.STEP_MANTISSA_BITS`` (that module
#: imports this one); ``tests/test_glm_hardware.py`` checks that they agree.
_MANTISSA_BITS = 18


@dataclass(frozen=True)
class SigmoidTable:
    """The ROM of the sigmoid unit.

    Attributes
    ----------
    base : numpy.ndarray of int64, shape (2**K,)
        ``round(sigmoid(x_k) 2**O)`` at the left end ``x_k`` of each segment.
    delta : numpy.ndarray of int64, shape (2**K,)
        Rise of each segment, ``base[k+1] - base[k]`` (never negative).
    delta_width : int
        Unsigned width that holds every ``delta``.
    shift : int
        ``S``: the low input bits that interpolate inside a segment.
    """

    base: np.ndarray
    delta: np.ndarray
    delta_width: int
    shift: int


@lru_cache(maxsize=8)
def sigmoid_table(config) -> SigmoidTable:
    """The table of ``config``'s sigmoid unit (a ``HardwareConfig``; cached per configuration)."""
    shift = config.sigmoid_in_bits - 1 - config.sigmoid_table_bits
    knots = np.arange(2**config.sigmoid_table_bits + 1, dtype=np.float64)
    scaled = expit(np.ldexp(knots, shift - config.sigmoid_in_frac)) * 2.0**config.sigmoid_out_bits
    values = np.minimum(np.floor(scaled + 0.5), 2**config.sigmoid_out_bits - 1).astype(np.int64)
    delta = np.diff(values)
    return SigmoidTable(values[:-1], delta, max(1, int(delta.max()).bit_length()), shift)


def sample_value_bits(config) -> int:
    """Bits of the per-sample value of ``config.problem``: the margin ``A_i`` (logistic), the
    slack ``U_i`` (``dot_width + 1`` bits) and the label bit (SVM), nothing for least squares."""
    if config.problem == "logreg":
        return config.margin_bits
    if config.problem == "svm":
        return config.dot_width + 2
    return 0


@dataclass(frozen=True)
class GlmStep:
    """What the host programs, once per run, for the coefficient path and the L2 decay.

    Attributes
    ----------
    mantissa : int
        ``m``: for least squares ``round(alpha 2**(2 ex + F + S))``; for the other losses
        ``round(alpha 2**q)`` with ``q`` chosen so that ``2**17 <= m < 2**18``.
    coef_shift : int
        The coefficient is ``round(difference * m * 2**-(coef_shift [+ e_k for logreg]))``:
        ``q + O - ex - F`` (logistic) or ``q - 2 ex - F`` (SVM); 0 for least squares.
    margin_shift : int
        Logistic: ``x_i . z`` is in units of ``2**-(margin_shift + e_k)`` of the margin's LSB,
        ``margin_shift = ex + margin_frac``; 0 otherwise.
    decay : int
        ``round(alpha lambda 2**F)``: the L2 term of the update is ``z_j * decay`` (0 without L2
        and for least squares, whose core has no decay multiplier).
    """

    mantissa: int
    coef_shift: int = 0
    margin_shift: int = 0
    decay: int = 0


def glm_step(config, step_size: float, l2: float, data_exponent: int, linreg_mantissa) -> GlmStep:
    """The :class:`GlmStep` of a run (``linreg_mantissa(step_size)`` gives the least-squares
    mantissa, with its range check)."""
    if config.problem == "linreg":
        return GlmStep(linreg_mantissa(step_size))
    exponent = _MANTISSA_BITS - 1 - math.floor(math.log2(step_size))
    mantissa = math.floor(math.ldexp(step_size, exponent) + 0.5)
    if mantissa >= 1 << _MANTISSA_BITS:  # log2 rounded up, or the rounding carried
        exponent -= 1
        mantissa = math.floor(math.ldexp(step_size, exponent) + 0.5)
    ex, frac = data_exponent, config.frac_bits
    if config.problem == "logreg":
        coef_shift = exponent + config.sigmoid_out_bits - ex - frac
        margin_shift = ex + config.margin_frac
    else:
        coef_shift, margin_shift = exponent - 2 * ex - frac, 0
    limit = 1 << (SHIFT_BITS - 1)
    for name, value in (("coefficient shift", coef_shift), ("margin shift", margin_shift)):
        if not -limit <= value < limit:
            raise HalpInputError(f"the {name} {value} of step size {step_size:g} and data "
                                 f"exponent {ex} does not fit {SHIFT_BITS} signed bits")
    decay = math.floor(step_size * l2 * 2.0**frac + 0.5)
    if decay >= 1 << frac:
        raise HalpInputError(f"step size x l2 = {step_size * l2:g} must be below 1 for the "
                             "hardware's L2 decay")
    return GlmStep(mantissa, coef_shift, margin_shift, decay)


def sample_values(config, problem, center: np.ndarray, data_exponent: int,
                  exponent: int) -> np.ndarray:
    """The per-sample values the host writes for an epoch at center ``w~`` with scale ``e_k``.

    Logistic: ``A_i = clamp(nearest(a_i 2**margin_frac), margin_bits)``. SVM:
    ``U_i = clamp(nearest((1 - y_i a_i) 2**-(ex + e_k)), dot_width + 1)`` and the label bit
    ``p_i = (y_i > 0)``, packed as ``2 U_i + p_i``. ``a_i = x_i . w~`` in float64 on the original
    data. Least squares: an empty array.
    """
    if config.problem == "linreg":
        return np.zeros(0, dtype=np.int64)
    margins = problem.X @ center
    if config.problem == "logreg":
        fmt = FixedFormat.power_of_two(config.margin_bits, -config.margin_frac)
        return fmt.quantize(margins, Rounding.NEAREST).ints.astype(np.int64)
    slack = 1.0 - problem.y * margins
    fmt = FixedFormat.power_of_two(config.dot_width + 1, data_exponent + exponent)
    slack_ints = fmt.quantize(slack, Rounding.NEAREST).ints.astype(np.int64)
    return 2 * slack_ints + (problem.y > 0).astype(np.int64)
