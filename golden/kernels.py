"""The golden model's inner loops, compiled with numba: plain Python loops over NumPy arrays.

Each function here is the one implementation of its loop. ``numba.njit`` compiles it on first
use; with ``NUMBA_DISABLE_JIT=1`` the very same code runs as plain Python (slowly), which is how a
test checks that compilation changes nothing.

- :func:`accelerator_steps`: inner steps of the hardware numeric mode
  (:class:`halp_hw.golden.hardware.AcceleratorModel`), in integers, lane random streams included.
  The sample indices come in as an array, so the same loop serves any sample source.
- :func:`sgd_epoch` and :func:`svrg_epoch`: the inner loops of the five real-valued solvers
  (:mod:`halp_hw.golden.solvers`). They see the problem through its scalar
  :attr:`halp_hw.golden.problems.Problem.loss_derivative` and store every iterate with
  :func:`store`: unchanged at full precision, else stochastically rounded onto a fixed grid with
  one draw of the solver's ``numpy.random.Generator`` per element, in the order
  :meth:`halp_hw.golden.fixedpoint.FixedFormat.quantize` draws them, so the results are those of
  the vectorized NumPy formulas bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np

from .prng import STATE_BITS, xorshift32_step

__all__ = ["step_coefficient", "accelerator_steps", "store", "sgd_epoch", "svrg_epoch"]


# -- hardware numeric mode ------------------------------------------------------------------------
@numba.njit(cache=True)
def step_coefficient(dot: int, mantissa: int, shift: int, width: int) -> int:
    """The step coefficient ``clamp((dot * m + 2**(shift-1)) >> shift, width bits)``."""
    c = (dot * mantissa + (1 << (shift - 1))) >> shift
    return min(max(c, -(1 << (width - 1))), (1 << (width - 1)) - 1)


@numba.njit(cache=True)
def accelerator_steps(x, indices, z, grad, lane_states, mantissa, step_shift, frac_bits, bits,
                      coef_width):
    """One inner step per entry of ``indices`` (the sample used), updating ``z`` in place.

    Parameters
    ----------
    x : numpy.ndarray of int64, shape (n, d)
        The quantized data.
    indices : numpy.ndarray of int64
        The sample of each step, in order.
    z, grad : numpy.ndarray of int64, shape (d,)
        The offset (updated) and the gradient memory.
    lane_states : numpy.ndarray of int64, shape (lanes,)
        The xorshift32 states of the lane random streams (advanced in place, every lane once per
        beat of ``lanes`` features, the last beat of a row included).
    mantissa, step_shift, frac_bits, bits, coef_width : int
        The step mantissa ``m`` and the widths of :class:`halp_hw.golden.hardware.HardwareConfig`.

    Returns
    -------
    int
        How many ``z`` values were clamped to ``bits`` bits.
    """
    d = z.size
    lanes = lane_states.size
    z_low, z_high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    saturations = 0
    for i in indices:
        dot = 0
        for j in range(d):
            dot += x[i, j] * z[j]
        c = step_coefficient(dot, mantissa, step_shift, coef_width)
        for beat_start in range(0, d, lanes):
            for lane in range(lanes):
                lane_states[lane] = xorshift32_step(lane_states[lane])
                j = beat_start + lane
                if j < d:
                    random = lane_states[lane] >> (STATE_BITS - frac_bits)
                    value = ((z[j] << frac_bits) - x[i, j] * c - grad[j] + random) >> frac_bits
                    if value < z_low or value > z_high:
                        value = min(max(value, z_low), z_high)
                        saturations += 1
                    z[j] = value
    return saturations


# -- real-valued solvers --------------------------------------------------------------------------
@numba.njit(cache=True)
def store(value: float, grid, rng):
    """``value`` as the iterate's storage keeps it, and 1 if that clamped it, else 0.

    ``grid = (rounds, scale, qmin, qmax)``: with ``rounds`` False the value is kept as it is;
    otherwise it becomes ``scale * clamp(floor(value / scale + u), qmin, qmax)`` with
    ``u = rng.random()``. A NaN stays NaN and counts as clamped.
    """
    rounds, scale, qmin, qmax = grid
    if not rounds:
        return value, 0
    floored = np.floor(value / scale + rng.random())
    if floored < qmin:
        return qmin * scale, 1
    if floored > qmax:
        return qmax * scale, 1
    if floored != floored:
        return floored, 1
    return floored * scale, 0


@numba.njit(cache=True)
def sgd_epoch(X, y, l2, loss_derivative, w, indices, step_size, grid, rng):
    """SGD over ``indices``: ``w <- store(w - step_size grad f_i(w))``, ``w`` in place.

    ``grad f_i(w) = x_i loss_derivative(x_i . w, y_i) + l2 w``. Returns the number of clamps.
    """
    saturations = 0
    for i in indices:
        x = X[i]
        derivative = loss_derivative(np.dot(x, w), y[i])
        for j in range(w.size):
            w[j], clamped = store(w[j] - step_size * (x[j] * derivative + l2 * w[j]), grid, rng)
            saturations += clamped
    return saturations


@numba.njit(cache=True)
def svrg_epoch(X, y, l2, loss_derivative, anchor, iterate, base, indices, step_size, grid, rng):
    """SVRG's inner loop around the snapshot ``w~``, updating ``iterate`` in place.

    With ``offset = iterate - base`` (``base`` is 0 when the iterate is itself the offset from
    ``w~``, as in SVRG and HALP, and ``w~`` when it is the point, as in LP-SVRG), each step is
    ``iterate <- store(iterate - step_size v)`` with the variance-reduced direction

        v = x_i (loss_derivative(a~_i + x_i . offset, y_i) - r~_i) + l2 offset + g~

    where ``anchor = (a~, r~, g~)`` holds every sample's margin ``x_i . w~`` and loss derivative at
    the snapshot, and the full gradient ``g~``. Returns the number of clamps.
    """
    margins, derivatives, gradient = anchor
    offset = np.empty_like(iterate)
    saturations = 0
    for i in indices:
        for j in range(offset.size):
            offset[j] = iterate[j] - base[j]
        x = X[i]
        derivative = loss_derivative(margins[i] + np.dot(x, offset), y[i]) - derivatives[i]
        for j in range(offset.size):
            direction = x[j] * derivative + l2 * offset[j] + gradient[j]
            iterate[j], clamped = store(iterate[j] - step_size * direction, grid, rng)
            saturations += clamped
    return saturations
