"""The halp-hw golden model: NumPy in and out, inner loops compiled with numba, no HDL imports.

The public API, re-exported here: fixed-point formats (:mod:`halp_hw.golden.fixedpoint`), the problems
(:mod:`halp_hw.golden.problems`), the data sets (:mod:`halp_hw.golden.data`), the five solvers
(:mod:`halp_hw.golden.solvers`), the convergence trace (:mod:`halp_hw.golden.trace`), the shared random streams
(:mod:`halp_hw.golden.prng`) and the bit-exact hardware mode (:mod:`halp_hw.golden.hardware`).
The compiled loops are in :mod:`halp_hw.golden.kernels`; ``NUMBA_DISABLE_JIT=1`` runs them as
plain Python.
Also: scikit-learn's bundled data sets (:mod:`halp_hw.golden.datasets`), the fixed-point sigmoid
(:mod:`halp_hw.golden.sigmoid`), the refusal of classifiers without a finite optimum
(:mod:`halp_hw.golden.separability`), the accuracy floor of quantized data
(:mod:`halp_hw.golden.floor`), and the whole epoch on the accelerator
(:mod:`halp_hw.golden.epoch`: the full-gradient pass of :mod:`halp_hw.golden.full_gradient`, the
cycles of :mod:`halp_hw.golden.epoch_timing`).
"""

from .data import load_dataset, paper_linreg, synthetic_logreg, synthetic_problem
from .datasets import DATASETS, Holdout, load_sklearn_dataset
from .fixedpoint import FixedFormat, Quantized, Rounding
from .hardware import HardwareConfig, HardwareRun, HalpHost, run_halp_hardware
from .prng import LaneRandom, SampleOrder
from .problems import (PROBLEMS, LeastSquares, LogisticRegression, Problem, SquaredHingeSVM,
                       make_problem)
from .defaults import default_epoch_length, default_mu, default_step_size
from .solvers import (HALP, SGD, SOLVER_KEYS, SVRG, LowPrecisionSGD, LowPrecisionSVRG, Solver,
                      bit_centering_scale, make_solvers)
from .trace import Trace
from .validation import HalpInputError

__all__ = [
    "load_dataset", "paper_linreg", "synthetic_logreg", "synthetic_problem",
    "DATASETS", "Holdout", "load_sklearn_dataset",
    "FixedFormat", "Quantized", "Rounding",
    "HardwareConfig", "HardwareRun", "HalpHost", "run_halp_hardware",
    "LaneRandom", "SampleOrder",
    "PROBLEMS", "LeastSquares", "LogisticRegression", "Problem", "SquaredHingeSVM", "make_problem",
    "HALP", "SGD", "SOLVER_KEYS", "SVRG", "LowPrecisionSGD", "LowPrecisionSVRG", "Solver",
    "bit_centering_scale", "default_mu", "default_step_size", "default_epoch_length",
    "make_solvers",
    "Trace", "HalpInputError",
]
