"""The halp-hw golden model: pure NumPy, no HDL imports.

The public API, re-exported here: fixed-point formats (:mod:`golden.fixedpoint`), the problems
(:mod:`golden.problems`), the data sets (:mod:`golden.data`), the five solvers
(:mod:`golden.solvers`), the convergence trace (:mod:`golden.trace`), the shared random streams
(:mod:`golden.prng`) and the bit-exact hardware mode (:mod:`golden.hardware`).
"""

from .data import load_dataset, paper_linreg, synthetic_logreg
from .fixedpoint import FixedFormat, Quantized, Rounding
from .hardware import HardwareConfig, HardwareRun, HalpHost, run_halp_hardware
from .prng import LaneRandom, SampleOrder
from .problems import PROBLEMS, LeastSquares, LogisticRegression, Problem, make_problem
from .solvers import (HALP, SGD, SOLVER_KEYS, SVRG, LowPrecisionSGD, LowPrecisionSVRG, Solver,
                      bit_centering_scale, default_mu, default_step_size, make_solvers)
from .trace import Trace
from .validation import HalpInputError

__all__ = [
    "load_dataset", "paper_linreg", "synthetic_logreg",
    "FixedFormat", "Quantized", "Rounding",
    "HardwareConfig", "HardwareRun", "HalpHost", "run_halp_hardware",
    "LaneRandom", "SampleOrder",
    "PROBLEMS", "LeastSquares", "LogisticRegression", "Problem", "make_problem",
    "HALP", "SGD", "SOLVER_KEYS", "SVRG", "LowPrecisionSGD", "LowPrecisionSVRG", "Solver",
    "bit_centering_scale", "default_mu", "default_step_size", "make_solvers",
    "Trace", "HalpInputError",
]
