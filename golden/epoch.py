"""The whole epoch on the accelerator: the golden model of ``--full-gradient accelerator``.

The accelerator keeps the center ``w~`` on chip and runs, each epoch, a FULL_GRADIENT command
(the pass over all rows, the scale exponent, ``G``, the recenter), the RUN of T inner steps and an
UPDATE command (``w~ <- w~ + z 2**e``); the arithmetic is :mod:`halp_hw.golden.full_gradient`,
the cycles :mod:`halp_hw.golden.epoch_timing`. The host loads the data, programs the constants
once and reads the center back for the report: it does no per-epoch work.
"""

from __future__ import annotations

import math

import numpy as np

from .epoch_timing import finish_cycles, pass_cycles, update_cycles
from .full_gradient import (PassConstants, PassWidths, default_center_exponent,
                            finish_gradient, pass_accumulators, quantize_targets, update_center)
from .hardware import AcceleratorModel, HalpHost, HardwareConfig, HardwareRun, quantize_data
from .logistic_pass import (check_logistic_pass, logistic_accumulators, logistic_targets,
                            pass_margin_shift, pass_unit)
from .memory import MemoryTiming
from .problems import Problem
from .validation import HalpInputError, check_int

__all__ = ["FULL_GRADIENT_SOURCES", "EpochAcceleratorModel", "OnChipEpochHost", "make_host"]

#: Who computes each epoch's full gradient: the float64 host or the accelerator.
FULL_GRADIENT_SOURCES = ("host", "accelerator")


class EpochAcceleratorModel(AcceleratorModel):
    """:class:`~halp_hw.golden.hardware.AcceleratorModel` with the center and the epoch on chip.

    Parameters
    ----------
    config, x, mantissa, seed, memory, order, coef_shift, margin_shift, decay
        As for :class:`~halp_hw.golden.hardware.AcceleratorModel`.
    pass_x : numpy.ndarray of int64, shape (n, d)
        The data the pass reads (``gradient_data_bits``-bit).
    targets : numpy.ndarray of int64, shape (n,)
        ``yq`` (:func:`~halp_hw.golden.full_gradient.quantize_targets`).
    constants : PassConstants
        The host-programmed constants.
    pass_margin_shift : int
        Logistic builds: the pass's margin shift ``s``
        (:func:`~halp_hw.golden.logistic_pass.pass_margin_shift`).

    Attributes
    ----------
    center : numpy.ndarray of int64
        ``wc``: ``w~ = wc * 2**constants.center_exponent``.
    sum_of_squares : int
        ``Q`` of the last pass.
    """

    def __init__(self, config: HardwareConfig, x, mantissa: int, seed: int, *,
                 pass_x: np.ndarray, targets: np.ndarray, constants: PassConstants,
                 pass_margin_shift: int = 0, memory: MemoryTiming | None = None, order=None,
                 **glm):
        super().__init__(config, x, mantissa, seed, memory=memory, order=order, **glm)
        self.widths = PassWidths.of(config)
        self.pass_x = np.ascontiguousarray(pass_x, dtype=np.int64)
        low = -(1 << (self.widths.data_bits - 1))
        if self.pass_x.shape != self.x.shape or self.pass_x.min() < low or \
                self.pass_x.max() > -low - 1:
            raise HalpInputError(f"the pass's data must be {self.x.shape} of "
                                 f"{self.widths.data_bits}-bit integers")
        self.targets = np.ascontiguousarray(targets, dtype=np.int64)
        self.constants = constants
        self.pass_margin_shift = pass_margin_shift
        self.center = np.zeros(self.d, dtype=np.int64)
        self.sum_of_squares = 0

    def full_gradient(self) -> None:
        """The FULL_GRADIENT command: pass, scale exponent, ``G``, recenter; a logistic pass
        also writes each row's margin as its per-sample value."""
        if self.config.problem == "logreg":
            accumulators, margins = logistic_accumulators(
                self.pass_x, self.targets, self.center, self.pass_margin_shift, self.config)
            self.load_sample_values(margins)
        else:
            accumulators = pass_accumulators(self.pass_x, self.targets, self.center)
        result = finish_gradient(accumulators, self.center, self.constants, self.config,
                                 self.exponent)
        self.load_gradient(result.grad_ints)
        self.recenter(result.exponent)
        self.sum_of_squares = result.sum_of_squares
        self.saturations += result.grad_saturated
        self.cycles += pass_cycles(self.config, self.memory, self.n, self.d)
        self.cycles += finish_cycles(self.config, self.d)

    def update_center(self) -> None:
        """The UPDATE command: ``wc <- clamp(wc + rshift(z, ec - e))``."""
        self.center, saturated = update_center(self.center, self.z, self.exponent,
                                               self.constants.center_exponent,
                                               self.config.center_bits)
        self.saturations += saturated
        self.cycles += update_cycles(self.config, self.d)


class OnChipEpochHost(HalpHost):
    """The host of ``--full-gradient accelerator``: loads, programs once, reads the center.

    Parameters are those of :class:`~halp_hw.golden.hardware.HalpHost`.

    Attributes
    ----------
    pass_x, targets : numpy.ndarray of int64
        The pass's data region: rows (``gradient_data_bits``) and targets.
    constants : PassConstants
        The constants programmed into the accelerator.
    """

    def __init__(self, problem: Problem, config: HardwareConfig, run: HardwareRun,
                 memory: MemoryTiming | None = None):
        if config.problem not in ("linreg", "logreg"):
            raise HalpInputError("the full gradient on the accelerator implements least squares "
                                 "and logistic regression (problem linreg or logreg), not "
                                 f"{config.problem}: use --full-gradient host")
        super().__init__(problem, config, run, memory)
        logistic = config.problem == "logreg"
        if logistic:
            check_logistic_pass(config)
        widths = PassWidths.of(config)
        if widths.data_bits == config.data_bits:
            self.pass_x, pass_exponent = self.x_ints, self.data_exponent
        else:
            self.pass_x, pass_exponent = quantize_data(problem.X, widths.data_bits)
        if run.center_exponent is None:
            center_exponent = default_center_exponent(problem, config, pass_exponent)
        else:
            center_exponent = check_int("center exponent", run.center_exponent, -1024, 1024)
        if logistic:
            self.targets = logistic_targets(problem.y, config)
            self.pass_margin_shift = pass_margin_shift(config, pass_exponent, center_exponent)
        else:
            self.targets = quantize_targets(problem.y, pass_exponent + center_exponent,
                                            widths.dot_width)
            self.pass_margin_shift = 0
        self.constants = PassConstants.program(
            n=problem.n, l2=problem.l2, step_size=self.step_size, mu=self.mu, bits=config.bits,
            data_exponent=pass_exponent, center_exponent=center_exponent,
            unit=pass_unit(config, pass_exponent) if logistic else None)
        self.constants.check_l2_term(widths, config.center_bits)
        self.trace.hyperparameters.update({
            "full_gradient": "accelerator", "gradient_data_bits": widths.data_bits,
            "gradient_data_exponent": pass_exponent, "center_bits": config.center_bits,
            "center_exponent": center_exponent})
        if logistic:
            self.trace.hyperparameters["pass_margin_shift"] = self.pass_margin_shift

    def make_model(self) -> EpochAcceleratorModel:
        return EpochAcceleratorModel(
            self.config, self.x_ints, self.mantissa, self.run.seed, pass_x=self.pass_x,
            targets=self.targets, constants=self.constants,
            pass_margin_shift=self.pass_margin_shift, memory=self.memory, order=self.order,
            coef_shift=self.step.coef_shift, margin_shift=self.step.margin_shift,
            decay=self.step.decay)

    def begin_epoch(self) -> None:
        """Nothing to compute: the accelerator does the epoch. Records the start point once."""
        if not self.trace.subopt:
            self.trace.record(self.problem, self.center, 1.0, cycles=0)
        return None

    def end_epoch_on_chip(self, center_ints, exponent: int, saturations: int,
                          cycles: int) -> None:
        """Record the epoch from the center the accelerator holds (read back for the report)."""
        unit = math.ldexp(1.0, self.constants.center_exponent)
        self.center = np.asarray(center_ints, dtype=np.float64) * unit
        self.exponent = int(exponent)
        self.trace.record(self.problem, self.center, math.ldexp(1.0, self.exponent),
                          saturations=saturations, cycles=cycles)


def make_host(problem: Problem, config: HardwareConfig, run: HardwareRun,
              memory: MemoryTiming | None = None) -> HalpHost:
    """The host of ``run.full_gradient``: :class:`HalpHost` or :class:`OnChipEpochHost`."""
    if run.full_gradient not in FULL_GRADIENT_SOURCES:
        raise HalpInputError(f"full gradient must be one of {', '.join(FULL_GRADIENT_SOURCES)}, "
                             f"not {run.full_gradient!r}")
    kind = OnChipEpochHost if run.full_gradient == "accelerator" else HalpHost
    return kind(problem, config, run, memory)

