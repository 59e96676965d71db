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

__all__ = ["step_coefficient", "sigmoid_lookup", "sigmoid_array", "scaled_coefficient",
           "glm_coefficient", "accelerator_steps", "lane_update", "store", "sgd_steps",
           "svrg_steps"]


# -- hardware numeric mode ------------------------------------------------------------------------
@numba.njit(cache=True)
def step_coefficient(dot: int, mantissa: int, shift: int, width: int) -> int:
    """The step coefficient ``clamp((dot * m + 2**(shift-1)) >> shift, width bits)``."""
    c = (dot * mantissa + (1 << (shift - 1))) >> shift
    return min(max(c, -(1 << (width - 1))), (1 << (width - 1)) - 1)


@numba.njit(cache=True)
def sigmoid_lookup(a: int, base, delta, shift: int, in_bits: int, out_bits: int) -> int:
    """The fixed-point sigmoid of one signed ``in_bits`` input ``a`` (the table ``base``,
    ``delta`` and ``shift`` of :func:`halp_hw.golden.glm.sigmoid_table`): the one copy."""
    magnitude = min(abs(a), (1 << (in_bits - 1)) - 1)
    segment, position = magnitude >> shift, magnitude & ((1 << shift) - 1)
    p = base[segment] + ((delta[segment] * position + (1 << (shift - 1))) >> shift)
    return p if a >= 0 else (1 << out_bits) - p


@numba.njit(cache=True)
def sigmoid_array(inputs, base, delta, shift, in_bits, out_bits):
    """:func:`sigmoid_lookup` of every entry of ``inputs`` (int64 array)."""
    out = np.empty_like(inputs)
    for k in range(inputs.size):
        out[k] = sigmoid_lookup(inputs[k], base, delta, shift, in_bits, out_bits)
    return out


@numba.njit(cache=True)
def _clamp(value: int, width: int) -> int:
    return min(max(value, -(1 << (width - 1))), (1 << (width - 1)) - 1)


@numba.njit(cache=True)
def scaled_coefficient(product: int, shift: int, product_width: int, width: int) -> int:
    """``clamp(round(product 2**-shift), width)``, rounded half up, for a signed product of
    ``product_width`` bits; the shift is first clamped to ``-width .. product_width``, which
    changes no result (beyond it every nonzero product saturates, or every product rounds to 0)."""
    shift = min(max(shift, -width), product_width)
    if shift > 0:
        value = (product + (1 << (shift - 1))) >> shift
    else:
        value = product << -shift
    return _clamp(value, width)


@numba.njit(cache=True)
def glm_coefficient(dot: int, value: int, mantissa: int, glm, base, delta) -> int:
    """The step coefficient of a logistic or SVM step from ``dot = x_i . z`` and the sample's
    streamed ``value`` (``docs/numeric-contract.md``).

    ``glm = (loss, coef_shift, margin_shift, exponent, coef_width, product_width, dot_width,
    margin_bits, guard, in_bits, out_bits, table_shift)``: the loss code (1 logistic, 2 SVM), the
    host's shifts, the epoch's ``e_k`` and the widths; ``base``, ``delta`` the sigmoid table.
    """
    (loss, coef_shift, margin_shift, exponent, coef_width, product_width, dot_width, margin_bits,
     guard, in_bits, out_bits, table_shift) = glm
    if loss == 1:
        # x_i . z onto the margin's grid (floor), clamped: beyond margin_bits + 1 bits every
        # sum saturates the sigmoid input on the same side.
        shift = min(max(margin_shift + exponent, -dot_width), margin_bits + 1)
        moved = dot << shift if shift >= 0 else dot >> -shift
        moved = _clamp(moved, margin_bits + 1)
        half = 1 << (guard - 1)
        start = _clamp((value + half) >> guard, in_bits)
        moved_in = _clamp((value + moved + half) >> guard, in_bits)
        difference = (sigmoid_lookup(moved_in, base, delta, table_shift, in_bits, out_bits)
                      - sigmoid_lookup(start, base, delta, table_shift, in_bits, out_bits))
        return scaled_coefficient(difference * mantissa, coef_shift + exponent, product_width,
                                  coef_width)
    # SVM: value = 2 U + p, label y = +1 if p else -1, slack U in LSBs of the dot product.
    slack = value >> 1
    if value & 1:
        moved_slack = slack - dot
        difference = max(moved_slack, 0) - max(slack, 0)
        difference = -difference
    else:
        moved_slack = slack + dot
        difference = max(moved_slack, 0) - max(slack, 0)
    return scaled_coefficient(difference * mantissa, coef_shift, product_width, coef_width)


@numba.njit(cache=True)
def accelerator_steps(x, indices, z, grad, lane_states, mantissa, step_shift, frac_bits, bits,
                      coef_width, values, decay, glm, base, delta):
    """One inner step per entry of ``indices`` (the sample used), updating ``z`` in place.

    Step on sample ``i`` (``docs/numeric-contract.md``): the coefficient ``c`` from ``x_i . z``
    (:func:`step_coefficient` for least squares, ``glm[0] == 0``; else :func:`glm_coefficient`
    with the sample's streamed value), then for each feature ``j``, in beats of ``lanes``
    features, ``r_j`` the top ``frac_bits`` bits of lane ``j % lanes``'s next state and
    ``z_j <- clamp(((z_j << F) - z_j decay - x_ij c - G_j + r_j) >> F)``.

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
    values : numpy.ndarray of int64, shape (n,) or (0,)
        The per-sample values of the epoch (least squares: none).
    decay : int
        The L2 decay ``round(alpha lambda 2**F)``.
    glm, base, delta
        As :func:`glm_coefficient`.

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
        if glm[0] == 0:
            c = step_coefficient(dot, mantissa, step_shift, coef_width)
        else:
            c = glm_coefficient(dot, values[i], mantissa, glm, base, delta)
        for beat_start in range(0, d, lanes):
            for lane in range(lanes):
                lane_states[lane] = xorshift32_step(lane_states[lane])
                j = beat_start + lane
                if j < d:
                    random = lane_states[lane] >> (STATE_BITS - frac_bits)
                    z[j], clamped = lane_update(z[j], x[i, j], c, grad[j], random, frac_bits,
                                                bits, decay)
                    saturations += clamped
    return saturations


@numba.njit(cache=True)
def lane_update(z: int, x: int, c: int, grad: int, random: int, frac_bits: int, bits: int,
                decay: int = 0):
    """One lane's update of one feature, ``clamp(((z << F) - z decay - x c - G + r) >> F, bits)``,
    and 1 if the clamp changed it, else 0: the one copy, used by :func:`accelerator_steps` and
    by the RTL testbenches."""
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    value = ((z << frac_bits) - z * decay - x * c - grad + random) >> frac_bits
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
