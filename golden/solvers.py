"""The five solvers of the HALP paper behind one interface: SGD, SVRG, LP-SGD, LP-SVRG and HALP.

Every solver starts from ``w_0 = 0`` and shares, for a given seed, the same sample order (the
xorshift32 stream :class:`halp_hw.golden.prng.SampleOrder`, the one the accelerator also uses), the same
step size ``alpha`` and the same epoch length ``T``. The low-precision solvers store their iterate
(LP-SGD, LP-SVRG) or their offset from the epoch's center (HALP) with
:meth:`halp_hw.golden.fixedpoint.FixedFormat.quantize`, stochastic rounding drawn from
``numpy.random.default_rng(seed)``, and count every saturation. The math is ``HALP.md``'s:

- SGD:      ``w <- w - alpha grad f_i(w)``
- SVRG:     ``w <- w - alpha (grad f_i(w) - grad f_i(w~) + g~)``, snapshot every T steps
- LP-*:     the same, with ``w <- Q_(delta,b)(...)`` for one fixed ``delta``
- HALP:     SVRG on the offset ``z = w - w~``, ``z <- Q_(s_k,b)(...)`` with the bit-centering
            scale ``s_k = ||g~_k|| / (mu (2^(b-1) - 1))`` and ``z = 0`` at every epoch start.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .defaults import default_epoch_length, default_mu, default_step_size
from .fixedpoint import MAX_BITS, MIN_BITS, FixedFormat, int_range
from .kernels import sgd_steps, svrg_steps
from .prng import SampleOrder
from .problems import Problem
from .trace import Trace
from .validation import check_int, check_positive

__all__ = [
    "EpochState", "Solver", "SGD", "SVRG", "LowPrecisionSGD", "LowPrecisionSVRG", "HALP",
    "SOLVER_KEYS", "bit_centering_scale", "make_solvers", "epochs_to_reach",
]

def bit_centering_scale(gradient_norm: float, mu: float, bits: int) -> float:
    """HALP's grid spacing ``||g~|| / (mu (2^(b-1) - 1))``: the b-bit grid reaches ``||g~||/mu``.

    Under mu-strong convexity ``||w~ - w*|| <= ||g~|| / mu``, so that grid around ``w~`` covers
    the optimum. Hardware rounds it up to a power of two
    (:func:`halp_hw.golden.fixedpoint.covering_exponent`).
    """
    return check_positive("gradient norm", gradient_norm) / (
        check_positive("mu", mu) * int_range(bits)[1])


@dataclass(frozen=True)
class EpochState:
    """A solver's state at an epoch boundary.

    Attributes
    ----------
    w : numpy.ndarray
        The iterate (for the SVRG family, the next snapshot ``w~``).
    scale : float or None
        The grid spacing used in the epoch that produced ``w`` (for k = 0: the first epoch's);
        None at full precision.
    saturations : int
        Values clamped during that epoch (0 for k = 0).
    """

    w: np.ndarray
    scale: float | None
    saturations: int


class _FullPrecision:
    """Storage that keeps float64 values as they are."""

    scale = None
    saturations = 0
    grid = None


class _StochasticGrid:
    """Storage on a b-bit grid with stochastic rounding; counts the values it clamps."""

    def __init__(self, fmt: FixedFormat):
        self.fmt, self.saturations = fmt, 0
        self.grid = (fmt.scale, float(fmt.qmin), float(fmt.qmax))

    @property
    def scale(self) -> float:
        return self.fmt.scale


class _Anchor:
    """The SVRG snapshot ``w~``: its full gradient ``g~`` and every sample's margin and residual.

    With those cached, ``grad f_i(w~ + z) - grad f_i(w~) + g~`` costs one dot product
    (``x_i . z``) per step, as HALP.md describes for both problems.
    """

    def __init__(self, problem: Problem, center: np.ndarray):
        self.margins = problem.X @ center
        self.residuals = problem.residual(self.margins, slice(None))
        self.gradient = problem.full_gradient(center)  # the host's float64 full gradient

    @property
    def arrays(self) -> tuple:
        """``(a~, r~, g~)`` as :func:`halp_hw.golden.kernels.svrg_steps` takes them."""
        return self.margins, self.residuals, self.gradient


class Solver:
    """The shared interface: ``run(problem, epochs, seed) -> Trace``.

    Parameters
    ----------
    step_size : float
        ``alpha`` > 0.
    epoch_length : int or None
        ``T`` >= 1: inner steps per epoch (SGD: steps between two trace points); None means
        the number of samples N.

    Attributes
    ----------
    key : str
        The solver's name in traces and result files (one of :data:`SOLVER_KEYS`).
    step_size : float
        ``alpha``.
    epoch_length : int or None
        ``T`` as given (None: N of the problem being run).
    """

    key = ""

    def __init__(self, *, step_size: float, epoch_length: int | None = None):
        self.step_size = check_positive("step size", step_size)
        self.epoch_length = (None if epoch_length is None
                             else check_int("epoch length", epoch_length, 1))

    def hyperparameters(self) -> dict:
        """What, with the seed and problem, reproduces a run."""
        return {"step_size": self.step_size, "epoch_length": self.epoch_length}

    def iterates(self, problem: Problem, epochs: int, seed: int = 0):
        """Yield the :class:`EpochState` at k = 0 (the start, ``w = 0``) and after each epoch."""
        epochs = check_int("epochs", epochs, 1)
        order = SampleOrder(problem.n, seed)
        rng = np.random.default_rng(seed)
        epoch_length = self.epoch_length or problem.n
        w = np.zeros(problem.d)
        epoch = _Epoch(problem, w)
        storage = self._storage(epoch, previous=None)
        yield EpochState(w, storage.scale, 0)
        for _ in range(epochs):
            indices = order.take(epoch_length)
            if np.all(np.isfinite(w)):  # a diverged iterate stays where it is (inf/nan)
                w = w.copy()
                steps = epoch.chunks(indices, storage.grid, rng)
                storage.saturations += self._epoch(epoch, w, steps)
            yield EpochState(w, storage.scale, storage.saturations)
            epoch = _Epoch(problem, w)
            storage = self._storage(epoch, previous=storage)

    def run(self, problem: Problem, epochs: int, seed: int = 0, on_epoch=None) -> Trace:
        """Run ``epochs`` epochs from ``w = 0``; ``on_epoch(k, trace)`` is called after each."""
        trace = Trace(self.key, {**self.hyperparameters(),
                                 "epoch_length": self.epoch_length or problem.n,
                                 "epochs": epochs, "seed": seed})
        with np.errstate(over="ignore", invalid="ignore"):
            for k, state in enumerate(self.iterates(problem, epochs, seed)):
                trace.record(problem, state.w, state.scale, state.saturations)
                if k and on_epoch is not None:
                    on_epoch(k, trace)
        return trace

    # -- what each solver defines -----------------------------------------------------------
    def _storage(self, epoch: "_Epoch", previous):
        """Where ``epoch`` keeps its iterate (full precision by default).

        ``previous`` is the storage of the epoch before (None for the first).
        """
        return _FullPrecision()

    def _epoch(self, epoch: "_Epoch", w: np.ndarray, steps) -> int:
        """Run ``epoch`` on ``w`` (a copy of its start point, updated in place to the epoch's
        result) over ``steps`` (:meth:`_Epoch.chunks`); return how many stored values clamped."""
        raise NotImplementedError


class _Epoch:
    """An epoch that starts at ``w``, as the compiled loops (:mod:`halp_hw.golden.kernels`) take
    it: the problem's arrays and loss kernel, the snapshot, and the steps in chunks.

    Attributes
    ----------
    problem : Problem
        The problem.
    start : numpy.ndarray
        ``w`` at the start of the epoch (the SVRG snapshot ``w~``); never modified.
    data : tuple
        ``(X, y, l2, loss_derivative)`` as the loops take them.
    """

    #: Rounding draws per chunk of steps (bounds the buffer to 8 MB).
    CHUNK_DRAWS = 1 << 20

    def __init__(self, problem: Problem, start: np.ndarray):
        self.problem, self.start = problem, start
        self.data = (np.ascontiguousarray(problem.X), np.ascontiguousarray(problem.y),
                     problem.l2, problem.loss_derivative)

    @cached_property
    def anchor(self) -> _Anchor:
        """The snapshot's margins, loss derivatives and full gradient (computed once)."""
        return _Anchor(self.problem, self.start)

    def chunks(self, indices: np.ndarray, grid: tuple, rng: np.random.Generator):
        """Yield ``(indices, grid, uniforms)``: runs of the samples, the storage ``grid``
        (:func:`halp_hw.golden.kernels.store`) and, if it rounds, the rng's next ``U[0, 1)``
        draws, one per feature and step (else None)."""
        d = self.problem.d
        steps = max(1, self.CHUNK_DRAWS // d)
        for start in range(0, indices.size, steps):
            chunk = indices[start:start + steps]
            yield chunk, grid, None if grid is None else rng.random((chunk.size, d))


class SGD(Solver):
    """Plain SGD: ``w <- w - alpha grad f_i(w)``."""

    key = "sgd"

    def _epoch(self, epoch, w, steps):
        return sum(sgd_steps(*epoch.data, w, indices, self.step_size, grid, uniforms)
                   for indices, grid, uniforms in steps)


class SVRG(Solver):
    """SVRG; the last inner iterate is the next snapshot, kept as an offset from the snapshot."""

    key = "svrg"

    def _epoch(self, epoch, w, steps):
        z = np.zeros_like(w)
        saturations = sum(svrg_steps(*epoch.data, epoch.anchor.arrays, z, None, indices,
                                     self.step_size, grid, uniforms)
                          for indices, grid, uniforms in steps)
        w += z
        return saturations


class _LowPrecision:
    """The b-bit fixed grid of LP-SGD and LP-SVRG: ``w`` itself lives on it.

    Parameters
    ----------
    bits : int
        b, 2..32.
    scale : float
        The fixed grid spacing ``delta`` > 0 (:func:`make_solvers` defaults it to HALP's
        first-epoch scale).

    Attributes
    ----------
    format : halp_hw.golden.fixedpoint.FixedFormat
        The grid ``(delta, b)``.
    """

    def __init__(self, *, bits: int, scale: float, **shared):
        super().__init__(**shared)
        self.format = FixedFormat(check_int("bits", bits, MIN_BITS, MAX_BITS),
                                  check_positive("scale", scale))

    def hyperparameters(self):
        return {**super().hyperparameters(), "bits": self.format.bits, "scale": self.format.scale}

    def _storage(self, epoch, previous):
        return _StochasticGrid(self.format)


class LowPrecisionSGD(_LowPrecision, SGD):
    """LP-SGD: SGD with ``w`` stored on a fixed b-bit grid."""

    key = "lp_sgd"


class LowPrecisionSVRG(_LowPrecision, SVRG):
    """LP-SVRG: SVRG with the iterate (not an offset) stored on a fixed b-bit grid."""

    key = "lp_svrg"

    def _epoch(self, epoch, w, steps):
        return sum(svrg_steps(*epoch.data, epoch.anchor.arrays, w, epoch.start, indices,
                              self.step_size, grid, uniforms) for indices, grid, uniforms in steps)


class HALP(SVRG):
    """HALP: SVRG whose offset from the snapshot lives on a re-centered, re-scaled b-bit grid.

    Parameters
    ----------
    bits : int
        b, 2..32.
    mu : float
        The strong-convexity parameter that sets the grid radius ``||g~|| / mu`` (> 0).

    Attributes
    ----------
    bits : int
        b.
    mu : float
        mu.
    """

    key = "halp"

    def __init__(self, *, bits: int, mu: float, **shared):
        super().__init__(**shared)
        self.bits = check_int("bits", bits, MIN_BITS, MAX_BITS)
        self.mu = check_positive("mu", mu)

    def hyperparameters(self):
        return {**super().hyperparameters(), "bits": self.bits, "mu": self.mu}

    def _storage(self, epoch, previous):
        norm = float(np.linalg.norm(epoch.anchor.gradient))  # grad f(w~)
        if norm > 0:
            scale = bit_centering_scale(norm, self.mu, self.bits)
        else:  # at the exact optimum z stays 0 on any grid: keep the scale, as hardware does
            scale = previous.scale if previous is not None else 1.0
        return _StochasticGrid(FixedFormat(self.bits, scale))


#: The result-file keys, in the paper's legend order.
SOLVER_KEYS = ("sgd", "svrg", "lp_sgd", "lp_svrg", "halp")


def make_solvers(problem: Problem, *, step_size: float | None = None,
                 epoch_length: int | None = None, bits: int = 8, mu: float | None = None,
                 lp_scale: float | None = None) -> dict[str, Solver]:
    """The five solvers with shared hyperparameters, keyed as in :data:`SOLVER_KEYS`.

    None selects the default: :func:`default_step_size`, :func:`default_epoch_length`,
    :func:`default_mu`.
    ``lp_scale`` is the fixed grid of LP-SGD and LP-SVRG; by default it is HALP's first-epoch
    scale, the b-bit grid that reaches ``||grad f(0)|| / mu`` from ``w_0 = 0`` (the same coverage
    HALP starts with, never refined).
    """
    step_size = default_step_size(problem) if step_size is None else step_size
    mu = default_mu(problem, bits) if mu is None else mu
    if epoch_length is None:
        epoch_length = default_epoch_length(problem, step_size)
    shared = {"step_size": step_size, "epoch_length": epoch_length}
    if lp_scale is None:
        lp_scale = bit_centering_scale(float(np.linalg.norm(problem.full_gradient(
            np.zeros(problem.d)))), mu, check_int("bits", bits, MIN_BITS, MAX_BITS))
    return {
        "sgd": SGD(**shared),
        "svrg": SVRG(**shared),
        "lp_sgd": LowPrecisionSGD(bits=bits, scale=lp_scale, **shared),
        "lp_svrg": LowPrecisionSVRG(bits=bits, scale=lp_scale, **shared),
        "halp": HALP(bits=bits, mu=mu, **shared),
    }


def epochs_to_reach(trace: Trace, threshold: float) -> int | None:
    """The first epoch k with ``rel_subopt[k] <= threshold``, or None if the run never got there."""
    return next((k for k, value in enumerate(trace.rel_subopt) if value <= threshold), None)
