"""The hyperparameters chosen from the problem when the user gives none: step size, mu, T.

Each default is a formula of the data (per-sample smoothness, the Hessian's eigenvalues at the
optimum) and of the width ``b``; the docstrings give the formula and the measurement behind it
(the sweeps are in ``docs/paper-figure.md``). Every solver and the hardware mode use them.
"""

from __future__ import annotations

import math

import numpy as np

from .fixedpoint import MAX_BITS, MIN_BITS, int_range
from .problems import Problem
from .validation import HalpInputError, check_int, check_positive

__all__ = ["STEP_FRACTION", "OUTLIER_FACTOR", "MAX_EPOCH_PASSES", "MU_FACTOR", "FLAT_MU_FACTOR",
           "NOISE_MU_FACTOR", "TRACE_MU_DIVISOR", "default_step_size", "default_mu",
           "default_epoch_length"]


#: Default step size as a fraction of 1 / L_max: SVRG's classic safe step ``1 / (4 L_max)``.
STEP_FRACTION = 0.25



#: The default step bounds the per-sample smoothness by this multiple of its mean, not its max.
OUTLIER_FACTOR = 2.0



#: The default epoch length is at most this many passes over the data.
MAX_EPOCH_PASSES = 4



#: Default mu as a multiple of the mean Hessian eigenvalue at the optimum (docs/paper-figure.md
#: has the sweep: the smallest eigenvalue, the theory's mu, makes HALP's grid needlessly coarse).
MU_FACTOR = 2.0



#: ... but at most this multiple of the smallest eigenvalue (ill-conditioned real data) ...
FLAT_MU_FACTOR = 16.0



#: ... and at least this multiple of the largest over 2^(b-1) - 1 (the grid's rounding noise) ...
NOISE_MU_FACTOR = 4.0



#: ... and at least the trace of the Hessian over this multiple of 2^(b-1) - 1 (the stochastic
#: rounding noise an epoch accumulates grows with the features: docs/paper-figure.md).
TRACE_MU_DIVISOR = 0.7



def default_step_size(problem: Problem) -> float:
    """``STEP_FRACTION / L`` with ``L = min(L_max, OUTLIER_FACTOR L_mean) + l2``.

    ``L_max`` and ``L_mean`` are the largest and the mean per-sample smoothness ``||x_i||^2 c_i``
    (``c_i`` the curvature at ``w = 0``: 1 for least squares and the squared hinge, the logistic
    maximum 1/4). On homogeneous data (the paper's problem) this is SVRG's classic ``1/(4 L_max)``;
    a few outlying rows of real data (breast_cancer: ``L_max`` = 13 ``L_mean``) no longer shrink
    the step for every sample.
    """
    curvature = problem.curvature(np.zeros(problem.n))
    smoothness = curvature * np.einsum("ij,ij->i", problem.X, problem.X)
    bound = min(float(np.max(smoothness)), OUTLIER_FACTOR * float(np.mean(smoothness)))
    bound += problem.l2
    if not 0 < bound < np.inf:
        raise HalpInputError(f"no default step size: the largest per-sample smoothness is "
                             f"{bound:g} (X all zeros, or too large for float64); "
                             "give --step-size or rescale the data")
    return STEP_FRACTION / bound



def default_mu(problem: Problem, bits: int = 8) -> float:
    """``max(min(2 mean, 16 mu_min), 4 L / Q, tr H / (0.7 Q))`` over the eigenvalues of
    ``H(w*)``, ``Q = 2^(b-1) - 1``.

    The grid must reach ``||w~ - w*||``. On a well-conditioned problem 2x the mean eigenvalue
    gives the finest grid that never saturated; on an ill-conditioned one SVRG's remaining error
    lies along the flat directions, where ``||g~|| ~ mu_min ||w~ - w*||``, so mu must stay within
    a small multiple of the smallest eigenvalue (diabetes: 2x the mean saturates on 1 in 30
    updates and stalls near 1e-5). But the grid's rounding noise (spacing
    ``||g~|| / (mu (2^(b-1) - 1))``) moves the gradient by up to ``L`` times that; at least
    ``NOISE_MU_FACTOR L / (2^(b-1) - 1)`` keeps it below a quarter of ``||g~||`` (breast_cancer
    least squares, ``mu_min = L / 1e5``: at ``1x`` HALP diverges, at ``4x`` it tracks SVRG).
    And each inner step's stochastic rounding adds noise of up to ``alpha |x_ij| |x_i . z|``
    LSBs to every ``z_j``, which the steps damp at the rate ``alpha mu``: over an epoch the noise
    grows against the offset's coordinates as ``tr H / (mu Q)``, independent of the step size
    and T. Every problem measured converges with ``tr H / (mu Q) <= 0.69`` (the paper problem
    0.39, the bundled data sets 0.12-0.69); an MNIST-sized one (d = 784, ``tr H`` = 784) at
    2x the mean eigenvalue has 3.1 and diverges, so mu is at least ``tr H / (0.7 Q)``.
    Directions without curvature (``mu_min <= 1e-9 L``, e.g. more features than samples) carry
    no gradient and do not count.
    """
    eigenvalues = np.linalg.eigvalsh(problem.hessian(problem.optimum))
    flattest = eigenvalues[0] if eigenvalues[0] > 1e-9 * eigenvalues[-1] else np.inf
    spread = min(MU_FACTOR * float(np.mean(eigenvalues)), FLAT_MU_FACTOR * float(flattest))
    levels = int_range(check_int("bits", bits, MIN_BITS, MAX_BITS))[1]
    curved = eigenvalues[eigenvalues > 1e-9 * eigenvalues[-1]]
    return max(spread, NOISE_MU_FACTOR * float(eigenvalues[-1]) / levels,
               float(np.sum(curved)) / (TRACE_MU_DIVISOR * levels))



def default_epoch_length(problem: Problem, step_size: float) -> int:
    """``T = p N``: ``p`` whole passes, ``1 / (2 alpha mu_min N)`` rounded, within 1..4.

    ``mu_min`` is the smallest eigenvalue of the Hessian at the optimum. An epoch is long enough
    that gradient steps shrink the error along the flattest direction by
    ``exp(-alpha mu_min T) <= e**-0.5`` (so every full gradient buys progress), but at most
    :data:`MAX_EPOCH_PASSES` passes: HALP's stochastic-rounding noise adds up within an epoch
    along the flat directions (breast_cancer, logistic: HALP needed 1.22x SVRG's passes at 1 pass
    per epoch, 1.35x at 4, and lost its linear rate at 31). Without curvature in some direction
    (``mu_min <= 1e-9 L``, e.g. more features than samples) ``T = N``.
    """
    flattest, largest = problem.hessian_extremes
    if flattest <= 1e-9 * largest:
        return problem.n
    passes = 1.0 / (2.0 * check_positive("step size", step_size) * flattest * problem.n)
    return problem.n * min(MAX_EPOCH_PASSES, max(1, math.floor(passes + 0.5)))
