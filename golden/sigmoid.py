"""The fixed-point sigmoid of the hardware mode: a table of the sigmoid with linear interpolation.

``docs/numeric-contract.md`` ("Fixed-point sigmoid") is the prose of this file. With
``HardwareConfig``'s ``sigmoid_in_bits`` = I, ``sigmoid_in_frac`` = F, ``sigmoid_out_bits`` = O
and ``sigmoid_table_bits`` = K, the input is a signed I-bit integer ``a`` (value ``a 2**-F``) and
the output an unsigned O-bit integer ``y`` (value ``y 2**-O``):

    m    = min(|a|, 2**(I-1) - 1)                      magnitude, I-1 bits
    S    = I - 1 - K                                   interpolation bits
    k, t = m >> S, m & (2**S - 1)                       segment and position in it
    p    = base[k] + ((delta[k] * t + 2**(S-1)) >> S)   linear interpolation, rounded half up
    y    = p if a >= 0 else 2**O - p                    sigmoid(-x) = 1 - sigmoid(x)

with ``base[k] = min(round(sigmoid(k 2**(S-F)) 2**O), 2**O - 1)`` for k = 0..2**K (rounded half
up) and ``delta[k] = base[k+1] - base[k] >= 0``. Only the table depends on floating point, and it
is computed once per build (:func:`halp_hw.golden.glm.sigmoid_table`), for both the golden model
and the RTL's ROM.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numba
import numpy as np
from scipy.special import expit

from .glm import SigmoidTable, sigmoid_table
from .hardware import HardwareConfig
from .kernels import sigmoid_array, sigmoid_lookup
from .problems import LOSS_DERIVATIVE_SIGNATURE, LogisticRegression

__all__ = ["SigmoidTable", "sigmoid_table", "fixed_sigmoid", "sigmoid_error",
           "FixedSigmoidLogistic", "fixed_logistic_derivative"]


def fixed_sigmoid(a, config: HardwareConfig) -> np.ndarray:
    """The unit's output ``y`` (value ``y 2**-O``) for the signed integer inputs ``a``.

    ``a`` must lie in the signed ``sigmoid_in_bits`` range.
    """
    a = np.asarray(a, dtype=np.int64)
    top = 2 ** (config.sigmoid_in_bits - 1)
    if a.size and (a.min() < -top or a.max() >= top):
        raise ValueError(f"sigmoid input outside the signed {config.sigmoid_in_bits}-bit range")
    table = sigmoid_table(config)
    flat = np.ascontiguousarray(a.reshape(-1))
    return sigmoid_array(flat, table.base, table.delta, table.shift, config.sigmoid_in_bits,
                         config.sigmoid_out_bits).reshape(a.shape)


def sigmoid_error(config: HardwareConfig) -> tuple[float, int]:
    """The largest ``|y 2**-O - sigmoid(a 2**-F)|`` over every input, and an input attaining it."""
    top = 2 ** (config.sigmoid_in_bits - 1)
    inputs = np.arange(-top, top, dtype=np.int64)
    exact = expit(np.ldexp(inputs.astype(np.float64), -config.sigmoid_in_frac))
    error = np.abs(np.ldexp(fixed_sigmoid(inputs, config).astype(np.float64),
                            -config.sigmoid_out_bits) - exact)
    worst = int(np.argmax(error))
    return float(error[worst]), int(inputs[worst])


class FixedSigmoidLogistic(LogisticRegression):
    """Logistic regression whose per-sample derivatives use the fixed-point sigmoid.

    The margin is rounded to the unit's input format (nearest, saturated) and the unit's output
    replaces ``sigmoid``, so the solvers' inner-loop gradient difference is
    ``x_i (fixed_sigmoid(a_i + x_i . z) - fixed_sigmoid(a_i))`` as on the accelerator; the full
    gradient, the loss and the optimum stay exact (the host's float64), so the fixed point of
    SVRG and HALP stays the true optimum and only the rate can change.

    Parameters
    ----------
    X, y, l2
        As :class:`halp_hw.golden.problems.LogisticRegression`.
    config : HardwareConfig
        The sigmoid unit's widths.
    """

    def __init__(self, X, y, l2: float = 0.0, *, config: HardwareConfig = HardwareConfig()):
        super().__init__(X, y, l2)
        self.config = config
        self.loss_derivative = fixed_logistic_derivative(config)

    def full_gradient(self, w):
        exact = expit(self.X @ w) - self.y
        return self.X.T @ exact / self.n + self.l2 * w


@lru_cache(maxsize=8)
def fixed_logistic_derivative(config: HardwareConfig):
    """``fixed_sigmoid(round(a 2**Fi)) 2**-O - y`` as a compiled loss-derivative kernel
    (:data:`halp_hw.golden.problems.LOSS_DERIVATIVE_SIGNATURE`), the table frozen into it."""
    table = sigmoid_table(config)
    base, delta, shift = table.base, table.delta, table.shift
    in_bits, out_bits = config.sigmoid_in_bits, config.sigmoid_out_bits
    top = 2 ** (in_bits - 1)
    scale_in, scale_out = 2.0 ** config.sigmoid_in_frac, 2.0 ** -out_bits

    @numba.cfunc(LOSS_DERIVATIVE_SIGNATURE)
    def derivative(a, y):
        rounded = int(min(max(math.floor(a * scale_in + 0.5), -top), top - 1))
        return sigmoid_lookup(rounded, base, delta, shift, in_bits, out_bits) * scale_out - y

    return derivative
