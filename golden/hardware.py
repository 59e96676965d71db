"""HALP's hardware numeric mode: the integer model the RTL must match bit for bit.

``docs/numeric-contract.md`` is the prose of this file; the two change together (the build's
widths are :class:`halp_hw.golden.config.HardwareConfig`, re-exported here). In short, for
least squares, with data ``X ~ x * 2**ex`` (``data_bits``-bit ints) and the epoch's offset
``z * 2**e_k`` (``bits``-bit ints), one inner step on sample ``i`` is

    dot   = x_i . z                                           exact, dot_width bits
    c     = clamp((dot * m + 2**(S-1)) >> S, coef_width)       S = STEP_SHIFT, m = step mantissa
    v_j   = (z_j << F) - x_ij * c - G_j + r_j                  r_j: F random bits of lane j % L
    z_j  <- clamp(v_j >> F, bits)                              saturations counted

where ``m / 2**S ~ alpha * 2**(2 ex + F)`` (fixed for the run) and ``G = round(alpha g~ 2**(F - e_k))``
(``grad_width`` bits, per epoch). The host (:class:`HalpHost`) does the float64 work
once per epoch: full gradient, power-of-two scale, ``G``, recenter, and ``w~ += z * 2**e_k``.
Logistic regression and the L2-SVM replace ``c`` by their gradient difference and add the L2
decay (:mod:`halp_hw.golden.glm`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import STEP_MANTISSA_BITS, STEP_SHIFT, HardwareConfig
from .fixedpoint import FixedFormat, Rounding, covering_exponent
from .glm import LOSS_CODES, MARGIN_GUARD_BITS, glm_step, sample_values, sigmoid_table
from .kernels import accelerator_steps, glm_coefficient, step_coefficient
from .memory import (SAMPLE_ORDERS, HostOrder, MemoryTiming, host_sample_order,
                     order_lookahead, run_cycles, step_cost)
from .prng import LaneRandom, SampleOrder
from .problems import Problem
from .trace import Trace
from .validation import HalpInputError, check_int, check_positive

__all__ = [
    "STEP_SHIFT", "STEP_MANTISSA_BITS", "HardwareConfig", "quantize_data", "step_mantissa",
    "largest_step_size",
    "AcceleratorModel", "HardwareRun", "EpochInputs", "HalpHost", "run_halp_hardware",
]


def quantize_data(X: np.ndarray, data_bits: int) -> tuple[np.ndarray, int]:
    """Load-time quantization of the data: one power-of-two scale, nearest rounding.

    Returns the integers and the exponent ``ex``: ``X ~ ints * 2**ex``. The exponent is the
    smallest that covers ``max |X|``, so nothing saturates.
    """
    peak = float(np.max(np.abs(X)))
    if peak == 0.0:
        raise HalpInputError("X is all zeros: there is nothing to train on")
    exponent = covering_exponent(peak, data_bits)
    quantized = FixedFormat.power_of_two(data_bits, exponent).quantize(X, Rounding.NEAREST)
    return quantized.ints, exponent


def step_mantissa(step_size: float, data_exponent: int, frac_bits: int) -> int:
    """The integer ``m`` with ``m / 2**STEP_SHIFT ~ step_size * 2**(2 ex + F)`` (nearest)."""
    target = step_size * math.ldexp(1.0, 2 * data_exponent + frac_bits + STEP_SHIFT)
    mantissa = math.floor(target + 0.5)
    limit = (1 << STEP_MANTISSA_BITS) - 1
    if not 1 <= mantissa <= limit:
        unit = math.ldexp(1.0, -(2 * data_exponent + frac_bits + STEP_SHIFT))
        raise HalpInputError(
            f"step size {step_size:g} is outside what the hardware step coefficient holds for "
            f"this data scale and frac_bits={frac_bits}: allowed {0.5 * unit:.3g} .. "
            f"{(limit + 0.5) * unit:.3g}"
        )
    return mantissa


def largest_step_size(data_exponent: int, frac_bits: int) -> float:
    """The largest step size :func:`step_mantissa` holds for this data scale and ``frac_bits``."""
    return math.ldexp((1 << STEP_MANTISSA_BITS) - 1, -(2 * data_exponent + frac_bits + STEP_SHIFT))


class AcceleratorModel:
    """The accelerator's architectural state and its inner step, in integers.

    It models exactly what the RTL keeps between commands: the offset ``z``, the sample-index
    and lane random streams, the gradient memory ``G``, and the counters. A ``run(T)`` here and
    a run command of T steps on the RTL leave identical state. The steps themselves are the
    compiled loop :func:`halp_hw.golden.kernels.accelerator_steps`.

    Parameters
    ----------
    config : HardwareConfig
        The build.
    x : numpy.ndarray of int, shape (n, d)
        Quantized data (see :func:`quantize_data`).
    mantissa : int
        The step mantissa ``m`` (see :func:`step_mantissa`).
    seed : int
        The user seed of the sample-index and lane streams.
    memory : MemoryTiming, optional
        The off-chip memory the rows stream from (default ``MemoryTiming()``); sets the cycles.
    order : array of int, optional
        A host-given sample order (``halp_hw.golden.memory.HostOrder``) instead of the
        xorshift32 stream.
    coef_shift, margin_shift, decay : int, optional
        The coefficient path's shifts and the L2 decay of a logistic or SVM build
        (:class:`halp_hw.golden.glm.GlmStep`).

    Attributes
    ----------
    z : numpy.ndarray of int64, shape (d,)
        The offset from the epoch's center, in LSBs of ``2**exponent``.
    exponent : int
        The scale register: ``z`` is in units of ``2**exponent``.
    order : SampleOrder or HostOrder
        The sample source: ``order.take(T)`` gives the samples of the next T steps.
    lane_random : LaneRandom
        The stochastic-rounding streams of the lanes.
    cycles_per_step : int
        What one inner step costs in the steady state, in cycles, memory stalls included
        (:func:`halp_hw.golden.memory.step_cost`); a run command's exact count is
        :func:`halp_hw.golden.memory.run_cycles`.
    saturations, steps, cycles : int
        Counters since construction, as the RTL's status registers count them.
    """

    #: Steps per call of the compiled loop (bounds the sample-index buffer).
    CHUNK_STEPS = 1 << 16

    def __init__(self, config: HardwareConfig, x: np.ndarray, mantissa: int, seed: int, *,
                 memory: MemoryTiming | None = None, order=None, coef_shift: int = 0,
                 margin_shift: int = 0, decay: int = 0):
        x = np.ascontiguousarray(x, dtype=np.int64)
        config.check_problem_size(*x.shape)
        low = -(1 << (config.data_bits - 1))
        if x.min() < low or x.max() > -low - 1:
            raise HalpInputError(f"x must hold {config.data_bits}-bit integers")
        self.config = config
        self.x = x
        self.n, self.d = x.shape
        self.mantissa = check_int("step mantissa", mantissa, 1, (1 << STEP_MANTISSA_BITS) - 1)
        self.order = SampleOrder(self.n, seed) if order is None else HostOrder(order, self.n)
        self.memory = MemoryTiming() if memory is None else memory
        self.lane_random = LaneRandom(config.lanes, config.frac_bits, seed)
        self.order_name = "xorshift" if order is None else "host"
        self.cycles_per_step = step_cost(config, self.memory, self.d, self.order_name).cycles
        self.z = np.zeros(self.d, dtype=np.int64)
        self.grad = np.zeros(self.d, dtype=np.int64)
        self.exponent = 0
        self.saturations = self.steps = self.cycles = 0
        self.coef_shift, self.margin_shift, self.decay = coef_shift, margin_shift, decay
        self.values = np.zeros(self.n if config.problem != "linreg" else 0, dtype=np.int64)
        table = sigmoid_table(config)
        self._table = (table.base, table.delta, table.shift)

    def load_sample_values(self, values: np.ndarray) -> None:
        """Write the per-sample values of the epoch (logistic, SVM) next to the rows."""
        values = np.ascontiguousarray(values, dtype=np.int64)
        if values.shape != self.values.shape:
            raise HalpInputError(f"per-sample values must have shape {self.values.shape}, "
                                 f"got {values.shape}")
        self.values = values

    def load_gradient(self, grad_ints: np.ndarray) -> None:
        """Write the gradient memory (``grad_width``-bit ints, one per feature)."""
        grad_ints = np.ascontiguousarray(grad_ints, dtype=np.int64)
        if grad_ints.shape != (self.d,):
            raise HalpInputError(f"gradient must have shape ({self.d},), got {grad_ints.shape}")
        self.grad = grad_ints

    def seed(self, seed: int) -> None:
        """The seed command: every random stream from ``seed``, the sample order restarted,
        ``z`` and the scale register cleared; the data, gradient memory, per-sample values,
        step, loss parameters and counters stay, as in the core."""
        if isinstance(self.order, HostOrder):
            self.order.position = 0
        else:
            self.order = SampleOrder(self.n, seed)
        self.lane_random = LaneRandom(self.config.lanes, self.config.frac_bits, seed)
        self.z = np.zeros(self.d, dtype=np.int64)
        self.exponent = 0

    def recenter(self, exponent: int) -> None:
        """The bit-centering command: clear ``z`` and load the new scale exponent."""
        self.z = np.zeros(self.d, dtype=np.int64)
        self.exponent = int(exponent)

    def coefficient(self, dot: int, sample: int = 0) -> int:
        """The step coefficient ``c`` for a dot product (and, in a logistic or SVM build, the
        sample's streamed value), as the scalar path computes it."""
        if self.config.problem == "linreg":
            return int(step_coefficient(int(dot), self.mantissa, STEP_SHIFT,
                                        self.config.coef_width))
        return int(glm_coefficient(int(dot), int(self.values[sample]), self.mantissa,
                                   self._glm(), *self._table[:2]))

    def step(self) -> int:
        """One inner step; returns the sample index it used. The cycles are counted per run
        command (:meth:`count_run`), as a run's first steps may cost less than the rest."""
        indices = self.order.take(1)
        self._steps_on(indices)
        return int(indices[0])

    def count_run(self, steps: int) -> None:
        """Add the cycles of a run command of ``steps`` steps (made with :meth:`step`)."""
        self.cycles += run_cycles(self.config, self.memory, self.d, self.order_name, steps)

    def run(self, steps: int) -> None:
        """The run command: ``steps`` inner steps on the samples the sample source draws."""
        for start in range(0, steps, self.CHUNK_STEPS):
            self._steps_on(self.order.take(min(self.CHUNK_STEPS, steps - start)))
        self.count_run(steps)

    def _glm(self) -> tuple:
        """The coefficient path's parameters (:func:`halp_hw.golden.kernels.glm_coefficient`)."""
        cfg = self.config
        return (LOSS_CODES[cfg.problem], self.coef_shift, self.margin_shift, self.exponent,
                cfg.coef_width, cfg.coef_product_width, cfg.dot_width, cfg.margin_bits,
                MARGIN_GUARD_BITS, cfg.sigmoid_in_bits, cfg.sigmoid_out_bits, self._table[2])

    def _steps_on(self, indices: np.ndarray) -> None:
        """One inner step per sample index, and the counters: the only place steps happen."""
        cfg = self.config
        z = self.z.copy()  # a new array, as after any command: earlier reads stay as they were
        base, delta, _ = self._table
        self.saturations += int(accelerator_steps(
            self.x, indices, z, self.grad, self.lane_random.state, self.mantissa, STEP_SHIFT,
            cfg.frac_bits, cfg.bits, cfg.coef_width, self.values, self.decay, self._glm(), base,
            delta))
        self.z = z
        self.steps += indices.size


@dataclass(frozen=True)
class HardwareRun:
    """The hyperparameters of a hardware-mode HALP run.

    ``order`` is where the sample indices come from (``halp_hw.golden.memory.SAMPLE_ORDERS``):
    the on-chip xorshift32 stream, or a host-given permutation per epoch
    (:func:`halp_hw.golden.memory.host_sample_order` of ``seed``) read from memory.
    ``full_gradient`` is who computes each epoch's full gradient, scale and center: ``host``
    (float64, :class:`HalpHost`) or ``accelerator`` (:mod:`halp_hw.golden.epoch`), which also
    takes ``center_exponent``, the LSB exponent of the on-chip center (None: the default of
    :func:`halp_hw.golden.full_gradient.default_center_exponent`).
    """

    step_size: float
    mu: float
    epoch_length: int
    epochs: int
    seed: int = 0
    order: str = "xorshift"
    full_gradient: str = "host"
    center_exponent: int | None = None


@dataclass(frozen=True)
class EpochInputs:
    """What the host hands the accelerator at the start of an epoch.

    Attributes
    ----------
    exponent : int
        The scale register: this epoch's ``z`` is in units of ``2**exponent``.
    grad_ints : numpy.ndarray of int64
        The gradient memory contents ``G`` (``grad_width``-bit, one per feature).
    grad_saturated : int
        How many entries of ``G`` were clamped on the host.
    sample_values : numpy.ndarray of int64
        The per-sample values streamed with the rows (logistic, SVM; empty for least squares).
    """

    exponent: int
    grad_ints: np.ndarray
    grad_saturated: int
    sample_values: np.ndarray


class HalpHost:
    """The host side of hardware-mode HALP: float64 work once per epoch.

    The accelerator behind it may be the golden :class:`AcceleratorModel` or an RTL simulation;
    both are driven with the same commands, in the same order, by the code that owns the loop:
    :func:`run_halp_hardware` here, a cocotb testbench for the RTL.

    Parameters
    ----------
    problem : Problem
        The problem, of the loss the build is for (``config.problem``); the full gradient and
        the reported suboptimality use its float64 data.
    config : HardwareConfig
        The accelerator build.
    run : HardwareRun
        Step size, mu, epoch length T, epochs, seed and sample order.
    memory : MemoryTiming, optional
        The accelerator's off-chip memory (default ``MemoryTiming()``).

    Attributes
    ----------
    x_ints : numpy.ndarray of int64
        The data as loaded into the accelerator; ``X ~ x_ints * 2**data_exponent``.
    mantissa : int
        The step mantissa programmed into the accelerator.
    step : halp_hw.golden.glm.GlmStep
        The mantissa, the coefficient path's shifts and the L2 decay programmed into it.
    trace : Trace
        The convergence record so far (entry 0 is the start point).
    center : numpy.ndarray
        The current center ``w~`` in float64.
    """

    def __init__(self, problem: Problem, config: HardwareConfig, run: HardwareRun,
                 memory: MemoryTiming | None = None):
        if problem.name != config.problem:
            raise HalpInputError(f"the accelerator is built for problem {config.problem}, "
                                 f"the problem is {problem.name}")
        config.check_problem_size(problem.n, problem.d)
        self.step_size = check_positive("step size", run.step_size)
        self.mu = check_positive("mu", run.mu)
        check_int("epoch length", run.epoch_length, 1)
        check_int("epochs", run.epochs, 1)
        check_int("seed", run.seed, 0, (1 << 32) - 1)
        if run.order not in SAMPLE_ORDERS:
            raise HalpInputError(f"sample order must be one of {', '.join(SAMPLE_ORDERS)}, "
                                 f"not {run.order!r}")
        self.problem, self.config, self.run = problem, config, run
        self.memory = MemoryTiming() if memory is None else memory
        self.order = (None if run.order == "xorshift" else
                      host_sample_order(problem.n, run.epochs, run.epoch_length, run.seed,
                                        order_lookahead(config)))
        self.x_ints, self.data_exponent = quantize_data(problem.X, config.data_bits)
        self.step = glm_step(config, self.step_size, problem.l2, self.data_exponent,
                             lambda size: step_mantissa(size, self.data_exponent,
                                                        config.frac_bits))
        self.mantissa = self.step.mantissa
        self.center = np.zeros(problem.d)
        self.exponent = 0
        self.trace = Trace("halp_hw", {
            "step_size": self.step_size, "mu": self.mu, "epoch_length": run.epoch_length,
            "epochs": run.epochs, "seed": run.seed, "bits": config.bits,
            "data_bits": config.data_bits, "frac_bits": config.frac_bits, "lanes": config.lanes,
            "data_exponent": self.data_exponent, "step_mantissa": self.mantissa,
            "problem": config.problem, "coef_shift": self.step.coef_shift,
            "margin_shift": self.step.margin_shift, "l2_decay": self.step.decay,
        })
        self._pending: EpochInputs | None = None

    def make_model(self) -> AcceleratorModel:
        """A golden accelerator loaded with this run's data, step and seed."""
        return AcceleratorModel(self.config, self.x_ints, self.mantissa, self.run.seed,
                                memory=self.memory, order=self.order,
                                coef_shift=self.step.coef_shift,
                                margin_shift=self.step.margin_shift, decay=self.step.decay)

    def begin_epoch(self) -> EpochInputs:
        """Full gradient at the center, the new power-of-two scale, and the gradient memory."""
        full_grad = self.problem.full_gradient(self.center)
        norm = float(np.linalg.norm(full_grad))
        if norm > 0:  # at the exact optimum z stays 0 whatever the scale: keep the last one
            self.exponent = covering_exponent(norm / self.mu, self.config.bits)
        if not self.trace.subopt:
            self.trace.record(self.problem, self.center, math.ldexp(1.0, self.exponent), cycles=0)
        grad = FixedFormat.power_of_two(self.config.grad_width,
                                        self.exponent - self.config.frac_bits)
        quantized = grad.quantize(self.step_size * full_grad, Rounding.NEAREST)
        values = sample_values(self.config, self.problem, self.center, self.data_exponent,
                               self.exponent)
        self._pending = EpochInputs(self.exponent, quantized.ints, quantized.saturated, values)
        return self._pending

    def end_epoch(self, z: np.ndarray, saturations: int, cycles: int) -> None:
        """Move the center by the accelerator's offset and record the epoch.

        ``saturations`` and ``cycles`` are what the accelerator counted during this epoch.
        """
        inputs = self._pending
        scale = math.ldexp(1.0, inputs.exponent)
        self.center = self.center + np.asarray(z, dtype=np.float64) * scale
        self.trace.record(self.problem, self.center, scale,
                          saturations=saturations + inputs.grad_saturated, cycles=cycles)


def run_halp_hardware(problem: Problem, config: HardwareConfig, run: HardwareRun,
                      on_epoch=None, memory: MemoryTiming | None = None) -> Trace:
    """HALP in hardware mode on the golden accelerator model; returns the trace.

    ``on_epoch(k, trace)``, if given, is called after each epoch (progress bars, checks).
    """
    host = HalpHost(problem, config, run, memory)
    model = host.make_model()
    for epoch in range(1, run.epochs + 1):
        inputs = host.begin_epoch()
        saturations, cycles = model.saturations, model.cycles
        model.load_gradient(inputs.grad_ints)
        model.load_sample_values(inputs.sample_values)
        model.recenter(inputs.exponent)
        model.run(run.epoch_length)
        host.end_epoch(model.z, model.saturations - saturations, model.cycles - cycles)
        if on_epoch is not None:
            on_epoch(epoch, host.trace)
    return host.trace
