"""The accuracy floor of quantized data: how close the optimum of the quantized problem is.

An SVRG whose full gradient is computed from the quantized data ``X_q`` (rather than the float64
``X``) converges to the optimum ``w_q*`` of the quantized problem, not to the true ``w*``: no
number of epochs gets it closer to ``w*`` than ``w_q*`` is. This module computes that floor
exactly: the true relative suboptimality ``(f(w_q*) - f*) / (f(0) - f*)`` of ``w_q*``, with ``f``
the float64 problem, for data rounded to nearest with the covering exponent
(:func:`halp_hw.golden.hardware.quantize_data`) at any width. The targets ``y`` are kept as they
are: this is the floor of the data ``X`` alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .hardware import quantize_data
from .problems import Problem
from .validation import check_int

__all__ = ["MAX_FLOOR_DATA_BITS", "QuantizationFloor", "quantized_problem", "quantization_floor"]

#: The widest data this computes a floor for: float64's significand (wider data round to X).
MAX_FLOOR_DATA_BITS = 53


@dataclass(frozen=True)
class QuantizationFloor:
    """The optimum of a problem's quantized data, measured on the float64 problem.

    Attributes
    ----------
    data_bits : int
        Width of the quantized data.
    data_exponent : int
        The covering exponent ``ex``: ``X_q = ints * 2**ex``.
    rel_subopt : float
        ``(f(w_q*) - f*) / (f(0) - f*)``: the floor, as the traces measure ``rel_subopt``.
    subopt : float
        ``f(w_q*) - f*``.
    dist : float
        ``||w_q* - w*||``.
    """

    data_bits: int
    data_exponent: int
    rel_subopt: float
    subopt: float
    dist: float

    def to_dict(self) -> dict:
        return {"data_bits": self.data_bits, "data_exponent": self.data_exponent,
                "rel_subopt": self.rel_subopt, "subopt": self.subopt, "dist": self.dist}


def quantized_problem(problem: Problem, data_bits: int) -> tuple[Problem, int]:
    """The same problem on ``X`` quantized to ``data_bits`` bits (2..53), and the exponent."""
    check_int("data_bits", data_bits, 2, MAX_FLOOR_DATA_BITS)
    ints, exponent = quantize_data(problem.X, data_bits)
    return type(problem)(ints * math.ldexp(1.0, exponent), problem.y, problem.l2), exponent


def quantization_floor(problem: Problem, data_bits: int) -> QuantizationFloor:
    """The floor of ``problem``'s data quantized to ``data_bits`` bits (2..53).

    ``w_q*`` is the exact optimum of the same kind of problem (same loss, targets and L2 weight)
    on the quantized data; its suboptimality is the problem's exact one
    (:meth:`halp_hw.golden.problems.Problem.suboptimality`).
    """
    quantized, exponent = quantized_problem(problem, data_bits)
    w_quantized = quantized.optimum
    subopt = problem.suboptimality(w_quantized)
    base = problem.suboptimality(np.zeros(problem.d))
    return QuantizationFloor(data_bits, exponent, subopt / base if base > 0 else 0.0, subopt,
                             float(np.linalg.norm(w_quantized - problem.optimum)))
