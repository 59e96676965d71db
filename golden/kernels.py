"""The golden model's inner loops, compiled with numba: plain Python loops over NumPy arrays.

Each function here is the one implementation of its loop. ``numba.njit`` compiles it on first
use; with ``NUMBA_DISABLE_JIT=1`` the very same code runs as plain Python (slowly), which is how a
test checks that compilation changes nothing.

- :func:`accelerator_steps`: inner steps of the hardware numeric mode
  (:class:`halp_hw.golden.hardware.AcceleratorModel`), in integers, lane random streams included.
  The sample indices come in as an array, so the same loop serves any sample source.
- :func:`sgd_steps` and :func:`svrg_steps`: the inner loops of the five real-valued solvers
  (:mod:`halp_hw.golden.solvers`). They see the problem through its scalar
  :attr:`halp_hw.golden.problems.Problem.loss_derivative` and store every iterate with
  :func:`store`: unchanged at full precision, else stochastically rounded onto a fixed grid. The
  rounding's uniforms come in as an array (steps x features) that the caller draws from its
  ``numpy.random.Generator`` in one call, the same numbers in the same order as one
  :meth:`halp_hw.golden.fixedpoint.FixedFormat.quantize` per step would draw (and several times
  faster than drawing them one by one inside the loop), so the results are those of the
  vectorized NumPy formulas bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np

from .prng import STATE_BITS, xorshift32_step

__all__ = ["step_coefficient", "accelerator_steps", "lane_update", "store", "sgd_steps", "svrg_steps"]


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

    Step on sample ``i`` (``docs/numeric-contract.md``): ``c = step_coefficient(x_i . z)``, then
    for each feature ``j``, in beats of ``lanes`` features, ``r_j`` the top ``frac_bits`` bits of
    lane ``j % lanes``'s next state and ``z_j <- clamp(((z_j << F) - x_ij c - G_j + r_j) >> F)``.

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
                    z[j], clamped = lane_update(z[j], x[i, j], c, grad[j], random, frac_bits,
                                                bits)
                    saturations += clamped
    return saturations


@numba.njit(cache=True)
def lane_update(z: int, x: int, c: int, grad: int, random: int, frac_bits: int, bits: int):
    """One lane's update of one feature, ``clamp(((z << F) - x c - G + r) >> F, bits)``, and 1
    if the clamp changed it, else 0: the one copy, used by :func:`accelerator_steps` and by the
    RTL testbenches."""
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    value = ((z << frac_bits) - x * c - grad + random) >> frac_bits
    if value < low or value > high:
        return min(max(value, low), high), 1
    return value, 0


# -- real-valued solvers --------------------------------------------------------------------------
@numba.njit(cache=True)
def store(value: float, grid, uniforms, t: int, j: int):
    """``value`` as the iterate's storage keeps it, and 1 if that clamped it, else 0.

    ``grid`` None keeps the value as it is (full precision; ``uniforms`` may be None too). Else
    ``grid = (scale, qmin, qmax)`` and the value becomes
    ``scale * clamp(floor(value / scale + uniforms[t, j]), qmin, qmax)``: stochastic rounding
    with the draw of feature ``j`` at step ``t``. A NaN stays NaN and counts as clamped.
    """
    if grid is None:
        return value, 0
    scale, qmin, qmax = grid
    floored = np.floor(value / scale + uniforms[t, j])
    kept = floored
    if kept < qmin:
        kept = qmin
    if kept > qmax:
        kept = qmax
    return kept * scale, int(kept != floored)


@numba.njit(cache=True)
def sgd_steps(X, y, l2, loss_derivative, w, indices, step_size, grid, uniforms):
    """SGD over ``indices``: ``w <- store(w - step_size grad f_i(w))``, ``w`` in place.

    ``grad f_i(w) = x_i loss_derivative(x_i . w, y_i) + l2 w``; ``grid`` and ``uniforms`` as in
    :func:`store`. Returns the number of clamps.
    """
    saturations = 0
    for t in range(indices.size):
        x = X[indices[t]]
        derivative = loss_derivative(np.dot(x, w), y[indices[t]])
        for j in range(w.size):
            w[j], clamped = store(w[j] - step_size * (x[j] * derivative + l2 * w[j]), grid,
                                  uniforms, t, j)
            saturations += clamped
    return saturations


@numba.njit(cache=True)
def svrg_steps(X, y, l2, loss_derivative, anchor, iterate, center, indices, step_size, grid,
               uniforms):
    """SVRG's inner loop around the snapshot ``w~``, updating ``iterate`` in place.

    The iterate is the offset ``z = w - w~`` itself when ``center`` is None (SVRG, HALP), or the
    point ``w``, with ``center = w~``, ``z = iterate - center`` (LP-SVRG). Each step is
    ``iterate <- store(iterate - step_size v)`` with the variance-reduced direction

        v = x_i (loss_derivative(a~_i + x_i . z, y_i) - r~_i) + l2 z + g~

    where ``anchor = (a~, r~, g~)`` holds every sample's margin ``x_i . w~`` and loss derivative at
    the snapshot, and the full gradient ``g~``. ``grid`` and ``uniforms`` as in :func:`store`.
    Returns the number of clamps.
    """
    margins, derivatives, gradient = anchor
    if center is None:
        offset = iterate
    else:
        offset = np.empty_like(iterate)
    saturations = 0
    for t in range(indices.size):
        i = indices[t]
        if center is not None:
            for j in range(offset.size):
                offset[j] = iterate[j] - center[j]
        x = X[i]
        derivative = loss_derivative(margins[i] + np.dot(x, offset), y[i]) - derivatives[i]
        for j in range(offset.size):
            direction = x[j] * derivative + l2 * offset[j] + gradient[j]
            iterate[j], clamped = store(iterate[j] - step_size * direction, grid, uniforms, t, j)
            saturations += clamped
    return saturations
