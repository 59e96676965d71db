"""The logistic full-gradient pass: each row's margin at the center and its sigmoid residual.

``docs/numeric-contract.md`` ("The epoch on the accelerator", logistic regression) is the prose
of this file. The least-squares pass (:mod:`halp_hw.golden.full_gradient`) takes
``r_i = x_i . wc - yq_i``; the logistic pass takes, from the same exact dot product
``dot_i = xg_i . wc`` (LSB ``2**(exg + ec)``):

    A_i   = clamp(rshift(dot_i, s), margin_bits)            the margin, s = -(exg + ec + Fm)
    in_i  = clamp((A_i + 2**(G-1)) >> G, sigmoid_in_bits)   as the inner loop's in0
    r_i   = sigmoid(in_i) - label_i                         LSB 2**-O, O + 2 bits

with ``Fm = margin_frac``, ``G = MARGIN_GUARD_BITS``, ``sigmoid`` the fixed-point unit
(:func:`halp_hw.golden.sigmoid.fixed_sigmoid`) and ``label_i`` the low ``O + 2`` bits (signed)
of the target word, which holds ``yq_i = y_i 2**O`` (``y_i`` in {0, 1}). The accumulators,
``t``, ``Q``, the exponent and ``G`` follow as for least squares with the unit
``u = exg - O``: ``acc_j 2**u = (X_q^T (sigmoid - y))_j``. ``A_i`` is also the per-sample value
of the inner loop (``halp_hw.golden.glm``): the chip writes it next to row ``i`` in the data
memory, so the inner loop's ``sigmoid(in0)`` is the pass's ``sigmoid(in_i)``.
"""

from __future__ import annotations

import numpy as np

from .config import HardwareConfig
from .fixedpoint import int_range
from .full_gradient import PassWidths, accumulate_residuals, pass_dots, rshift
from .glm import MARGIN_GUARD_BITS, SHIFT_BITS
from .sigmoid import fixed_sigmoid
from .validation import HalpInputError

__all__ = ["PASS_MARGIN_SHIFT_BITS", "label_bits", "pass_unit", "pass_margin_shift",
           "logistic_targets", "check_logistic_pass", "pass_margins", "logistic_residuals",
           "logistic_accumulators"]

#: Width of the signed margin shift ``s`` the host programs.
PASS_MARGIN_SHIFT_BITS = SHIFT_BITS


def label_bits(config: HardwareConfig) -> int:
    """Bits of the target word the logistic pass reads: ``sigmoid_out_bits + 2`` (signed)."""
    return config.sigmoid_out_bits + 2


def pass_unit(config: HardwareConfig, data_exponent: int) -> int:
    """``u = exg - O``: the LSB exponent of the logistic accumulators and of ``t``."""
    return data_exponent - config.sigmoid_out_bits


def pass_margin_shift(config: HardwareConfig, data_exponent: int, center_exponent: int) -> int:
    """``s = -(exg + ec + margin_frac)``: ``A_i = rshift(dot_i, s)``; refused beyond
    :data:`PASS_MARGIN_SHIFT_BITS` signed bits."""
    shift = -(data_exponent + center_exponent + config.margin_frac)
    low, high = int_range(PASS_MARGIN_SHIFT_BITS)
    if not low <= shift <= high:
        raise HalpInputError(
            f"the logistic pass's margin shift {shift} (data exponent {data_exponent}, center "
            f"exponent {center_exponent}) does not fit {PASS_MARGIN_SHIFT_BITS} signed bits: "
            "change center_exponent")
    return shift


def logistic_targets(y: np.ndarray, config: HardwareConfig) -> np.ndarray:
    """``yq_i = y_i 2**O`` for labels 0 or 1."""
    labels = np.asarray(y, dtype=np.float64)
    if not np.isin(labels, (0.0, 1.0)).all():
        raise HalpInputError("the logistic pass needs labels y of 0 or 1")
    return labels.astype(np.int64) << config.sigmoid_out_bits


def check_logistic_pass(config: HardwareConfig) -> None:
    """Refuse a build whose logistic pass cannot hold its labels or write its margins: the
    target word must hold ``O + 2`` bits, and a row's margin words (``sample_words``, one
    write per cycle) must be written before the next row's margin, at least
    ``1 + target_words`` cycles later."""
    widths = PassWidths.of(config)
    if widths.dot_width < label_bits(config):
        raise HalpInputError(
            f"the logistic pass's {widths.dot_width}-bit target word cannot hold the "
            f"{label_bits(config)}-bit label: raise center_bits or lower sigmoid_out_bits")
    if config.sample_words > 1 + widths.target_words:
        raise HalpInputError(
            f"the logistic pass writes {config.sample_words} margin words per row, more than "
            f"its shortest row of {1 + widths.target_words} words: raise lanes or data_bits")


def pass_margins(dots: np.ndarray, shift: int, config: HardwareConfig) -> np.ndarray:
    """``A_i = clamp(rshift(dot_i, s), margin_bits)`` (exact, Python ints inside)."""
    low, high = int_range(config.margin_bits)
    return np.array([min(max(rshift(int(dot), shift), low), high) for dot in dots],
                    dtype=np.int64)


def logistic_residuals(margins: np.ndarray, targets: np.ndarray,
                       config: HardwareConfig) -> np.ndarray:
    """``r_i = sigmoid(clamp((A_i + 2**(G-1)) >> G, I)) - label_i`` in LSBs ``2**-O``."""
    low, high = int_range(config.sigmoid_in_bits)
    inputs = np.clip((margins + (1 << (MARGIN_GUARD_BITS - 1))) >> MARGIN_GUARD_BITS, low, high)
    width = label_bits(config)
    raw = np.asarray(targets, dtype=np.int64) & ((1 << width) - 1)
    labels = raw - ((raw >> (width - 1)) << width)
    return fixed_sigmoid(inputs, config) - labels


def logistic_accumulators(x: np.ndarray, targets: np.ndarray, center: np.ndarray, shift: int,
                          config: HardwareConfig) -> tuple[list, np.ndarray]:
    """The logistic pass over all rows: the exact accumulators ``acc_j`` and the margins."""
    margins = pass_margins(pass_dots(x, center), shift, config)
    return accumulate_residuals(x, logistic_residuals(margins, targets, config)), margins
