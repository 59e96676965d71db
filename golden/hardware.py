"""HALP's hardware numeric mode: the integer model the RTL must match bit for bit.

``docs/numeric-contract.md`` is the prose of this file; the two change together. In short, for
least squares, with data ``X ~ x * 2**ex`` (``data_bits``-bit ints) and the epoch's offset
``z * 2**e_k`` (``bits``-bit ints), one inner step on sample ``i`` is

    dot   = x_i . z                                           exact, dot_width bits
    c     = clamp((dot * m + 2**(S-1)) >> S, coef_width)       S = STEP_SHIFT, m = step mantissa
    v_j   = (z_j << F) - x_ij * c - G_j + r_j                  r_j: F random bits of lane j % L
    z_j  <- clamp(v_j >> F, bits)                              saturations counted

where ``m / 2**S ~ alpha * 2**(2 ex + F)`` (fixed for the run) and ``G = round(alpha g~ 2**(F - e_k))``
(``grad_width`` bits, per epoch). The host (:class:`HalpHost`) does the float64 work
once per epoch: full gradient, power-of-two scale, ``G``, recenter, and ``w~ += z * 2**e_k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .fixedpoint import FixedFormat, Rounding, covering_exponent
from .kernels import accelerator_steps, step_coefficient
from .memory import (SAMPLE_ORDERS, HostOrder, MemoryTiming, host_sample_order,
                     order_lookahead, run_cycles, step_cost)
from .prng import LaneRandom, SampleOrder
from .problems import LeastSquares, Problem
from .trace import Trace
from .validation import HalpInputError, check_int, check_positive

__all__ = [
    "STEP_SHIFT", "STEP_MANTISSA_BITS", "HardwareConfig", "quantize_data", "step_mantissa",
    "largest_step_size",
    "AcceleratorModel", "HardwareRun", "EpochInputs", "HalpHost", "run_halp_hardware",
]

#: Fraction bits of the step coefficient ``m / 2**STEP_SHIFT`` (a fixed shift: no barrel shifter).
STEP_SHIFT = 16
#: Width of the unsigned step mantissa ``m``.
STEP_MANTISSA_BITS = 18


def _clog2(value: int) -> int:
    return max(0, (value - 1).bit_length())


@dataclass(frozen=True)
class HardwareConfig:
    """The parameters of one accelerator build, and every width derived from them.

    Parameters
    ----------
    bits : int
        Width of the offset ``z`` (the paper's b), 2..16.
    data_bits : int
        Width of the data ``x``, 2..16.
    frac_bits : int
        Fraction bits kept below the LSB of ``z`` in the update, which is also the number of
        random bits each lane draws per beat for stochastic rounding, 1..24.
    lanes : int
        MACC lanes L, 1..64; a row of d features takes ``ceil(d / L)`` beats.
    d_max : int
        Largest number of features, 1..4096 (sizes the on-chip row buffer, z and G).
    n_max : int
        Largest number of samples, 1..2**24 (sizes the off-chip addresses only).
    sigmoid_in_bits : int
        Width of the sigmoid unit's signed input, 4..24.
    sigmoid_in_frac : int
        Fraction bits of that input, 0..sigmoid_in_bits - 2 (the default 11 covers [-16, 16)).
    sigmoid_out_bits : int
        Width of its unsigned output, all fraction bits, 4..24.
    sigmoid_table_bits : int
        log2 of the segments of its table, 1..sigmoid_in_bits - 2.
    center_bits : int
        Width of the on-chip center ``w~`` when the accelerator computes the full gradient,
        16..48 (``halp_hw.golden.full_gradient``).
    gradient_data_bits : int
        Width of the data copy the full-gradient pass reads, 2..24, or 0 for the inner loop's
        ``data_bits``.
    row_slots : int
        Rows the on-chip row buffer holds, 3..64: the pass reads two, the others are fetched
        ahead; a memory round trip of up to ``row_slots - 2`` steps is hidden
        (``halp_hw.golden.memory.step_cost``).

    Attributes
    ----------
    dot_width : int
        Width of ``x_i . z``: never overflows for any d <= d_max.
    coef_width : int
        Width of the step coefficient ``c`` (clamped; the clamp provably never changes ``z``).
    grad_width : int
        Width of the per-epoch gradient term ``G`` (saturated on load, counted by the host).
    update_width : int
        Width of ``v`` before rounding: exact.
    """

    bits: int = 8
    data_bits: int = 8
    frac_bits: int = 16
    lanes: int = 8
    d_max: int = 128
    n_max: int = 256
    sigmoid_in_bits: int = 16
    sigmoid_in_frac: int = 11
    sigmoid_out_bits: int = 16
    sigmoid_table_bits: int = 8
    center_bits: int = 32
    gradient_data_bits: int = 0
    row_slots: int = 8

    def __post_init__(self):
        check_int("bits", self.bits, 2, 16)
        check_int("data_bits", self.data_bits, 2, 16)
        check_int("frac_bits", self.frac_bits, 1, 24)
        check_int("lanes", self.lanes, 1, 64)
        check_int("d_max", self.d_max, 1, 4096)
        check_int("sigmoid_in_bits", self.sigmoid_in_bits, 4, 24)
        check_int("sigmoid_in_frac", self.sigmoid_in_frac, 0, self.sigmoid_in_bits - 2)
        check_int("sigmoid_out_bits", self.sigmoid_out_bits, 4, 24)
        check_int("sigmoid_table_bits", self.sigmoid_table_bits, 1, self.sigmoid_in_bits - 2)
        check_int("n_max", self.n_max, 1, 1 << 24)
        check_int("center_bits", self.center_bits, 16, 48)
        if self.gradient_data_bits != 0:
            check_int("gradient_data_bits", self.gradient_data_bits, 2, 24)
        check_int("row_slots", self.row_slots, 3, 64)

    # -- derived widths ------------------------------------------------------------------
    @property
    def dot_width(self) -> int:
        # -d * 2**(data_bits-1) * 2**(bits-1) <= x . z <= d * 2**(data_bits-1) * 2**(bits-1): the
        # top (all x and z at their minimum) needs bit_length(d_max), not clog2, above the sign.
        return self.data_bits + self.bits - 1 + self.d_max.bit_length()

    @property
    def coef_width(self) -> int:
        # Wide enough that any clamped |c| >= 2**(bits+F+2) - 1 drives v past the z range
        # whatever z, G and r are, exactly as the unclamped value would.
        return self.bits + self.frac_bits + 3

    @property
    def grad_width(self) -> int:
        return self.bits + self.frac_bits + 1

    @property
    def update_width(self) -> int:
        return self.data_bits + self.coef_width + 1

    @property
    def words_per_row(self) -> int:
        """Memory words of L values that one row of ``d_max`` features occupies."""
        return math.ceil(self.d_max / self.lanes)

    @property
    def tree_stages(self) -> int:
        """Register stages in the lane adder tree: one per two adder levels."""
        return math.ceil(_clog2(self.lanes) / 2)

    @property
    def pipeline_latency(self) -> int:
        """Cycles an inner step costs beyond its ``ceil(d/L)`` beats (see the datapath doc)."""
        return 6 + self.tree_stages

    def beats(self, d: int) -> int:
        """Beats (cycles of L lanes) that a row of ``d`` features takes."""
        return math.ceil(d / self.lanes)

    def step_cycles(self, d: int) -> int:
        """Cycles of one inner step on ``d`` features when no memory stall: the pass and the
        pipeline drain (``halp_hw.golden.memory.step_cost`` adds the memory's bounds)."""
        return self.beats(d) + self.pipeline_latency

    def check_problem_size(self, n: int, d: int) -> None:
        """Raise if a data set of ``n`` samples and ``d`` features does not fit this build."""
        check_int("n (samples)", n, 1, self.n_max)
        check_int("d (features)", d, 1, self.d_max)


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
                 memory: MemoryTiming | None = None, order=None):
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

    def load_gradient(self, grad_ints: np.ndarray) -> None:
        """Write the gradient memory (``grad_width``-bit ints, one per feature)."""
        grad_ints = np.ascontiguousarray(grad_ints, dtype=np.int64)
        if grad_ints.shape != (self.d,):
            raise HalpInputError(f"gradient must have shape ({self.d},), got {grad_ints.shape}")
        self.grad = grad_ints

    def recenter(self, exponent: int) -> None:
        """The bit-centering command: clear ``z`` and load the new scale exponent."""
        self.z = np.zeros(self.d, dtype=np.int64)
        self.exponent = int(exponent)

    def coefficient(self, dot: int) -> int:
        """The step coefficient ``c`` for a dot product, as the scalar unit computes it."""
        return int(step_coefficient(int(dot), self.mantissa, STEP_SHIFT, self.config.coef_width))

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

    def _steps_on(self, indices: np.ndarray) -> None:
        """One inner step per sample index, and the counters: the only place steps happen."""
        cfg = self.config
        z = self.z.copy()  # a new array, as after any command: earlier reads stay as they were
        self.saturations += int(accelerator_steps(
            self.x, indices, z, self.grad, self.lane_random.state, self.mantissa, STEP_SHIFT,
            cfg.frac_bits, cfg.bits, cfg.coef_width))
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
    """

    exponent: int
    grad_ints: np.ndarray
    grad_saturated: int


class HalpHost:
    """The host side of hardware-mode HALP: float64 work once per epoch.

    The accelerator behind it may be the golden :class:`AcceleratorModel` or an RTL simulation;
    both are driven with the same commands, in the same order, by the code that owns the loop:
    :func:`run_halp_hardware` here, a cocotb testbench for the RTL.

    Parameters
    ----------
    problem : LeastSquares
        The problem; the full gradient and the reported suboptimality use its float64 data.
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
    trace : Trace
        The convergence record so far (entry 0 is the start point).
    center : numpy.ndarray
        The current center ``w~`` in float64.
    """

    def __init__(self, problem: Problem, config: HardwareConfig, run: HardwareRun,
                 memory: MemoryTiming | None = None):
        if not isinstance(problem, LeastSquares):
            raise HalpInputError("the hardware mode implements least squares (problem linreg) only")
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
        self.mantissa = step_mantissa(self.step_size, self.data_exponent, config.frac_bits)
        self.center = np.zeros(problem.d)
        self.exponent = 0
        self.trace = Trace("halp_hw", {
            "step_size": self.step_size, "mu": self.mu, "epoch_length": run.epoch_length,
            "epochs": run.epochs, "seed": run.seed, "bits": config.bits,
            "data_bits": config.data_bits, "frac_bits": config.frac_bits, "lanes": config.lanes,
            "data_exponent": self.data_exponent, "step_mantissa": self.mantissa,
        })
        self._pending: EpochInputs | None = None

    def make_model(self) -> AcceleratorModel:
        """A golden accelerator loaded with this run's data, step and seed."""
        return AcceleratorModel(self.config, self.x_ints, self.mantissa, self.run.seed,
                                memory=self.memory, order=self.order)

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
        self._pending = EpochInputs(self.exponent, quantized.ints, quantized.saturated)
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
        model.recenter(inputs.exponent)
        model.run(run.epoch_length)
        host.end_epoch(model.z, model.saturations - saturations, model.cycles - cycles)
        if on_epoch is not None:
            on_epoch(epoch, host.trace)
    return host.trace
