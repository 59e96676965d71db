"""The compiled inner loops: the same code with and without numba, and the problem interface."""

import json
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

from scipy.special import expit

from halp_hw.golden import kernels
from halp_hw.golden.data import paper_linreg, synthetic_logreg
from halp_hw.golden.fixedpoint import FixedFormat, Rounding
from halp_hw.golden.hardware import AcceleratorModel, HardwareConfig
from halp_hw.golden.memory import MemoryTiming, run_cycles
from halp_hw.golden.prng import SampleOrder
from halp_hw.golden.problems import LOSS_DERIVATIVE_SIGNATURE, LeastSquares
from halp_hw.golden.solvers import SGD, SOLVER_KEYS, SVRG, bit_centering_scale, make_solvers

# Runs in this process (compiled) and in a subprocess with NUMBA_DISABLE_JIT=1 (plain Python);
# prints every number exactly (floats as hex) so the two can be compared bit for bit.
TINY_RUNS = r"""
import json, numba, numpy as np
from numba.core.dispatcher import Dispatcher
from halp_hw.golden import kernels
from halp_hw.golden.data import paper_linreg, synthetic_logreg
from halp_hw.golden.hardware import AcceleratorModel, HardwareConfig, HardwareRun, run_halp_hardware
from halp_hw.golden.solvers import make_solvers

def exact(values):
    return [float(v).hex() for v in np.ravel(values)]

def tiny_runs():
    out = {"jit_disabled": bool(numba.config.DISABLE_JIT),
           "plain_python": not isinstance(kernels.accelerator_steps, Dispatcher)}
    for name, problem in (("linreg", paper_linreg(n=12, d=5, seed=1)),
                          ("logreg", synthetic_logreg(n=12, d=4, seed=2, l2=0.1))):
        for key, solver in make_solvers(problem, bits=4).items():
            with np.errstate(all="ignore"):
                states = list(solver.iterates(problem, 2, seed=3))
            out[f"{name} {key}"] = [exact(s.w) + [s.saturations] for s in states]
    config = HardwareConfig(bits=4, data_bits=5, frac_bits=6, lanes=3, d_max=7, n_max=9)
    trace = run_halp_hardware(paper_linreg(n=9, d=7, seed=4), config,
                              HardwareRun(step_size=0.05, mu=2.0, epoch_length=6, epochs=2, seed=5))
    out["hardware trace"] = [exact(trace.subopt), trace.saturations, trace.cycles]
    model = AcceleratorModel(config, np.arange(63).reshape(9, 7) % 31 - 15, (1 << 18) - 1, 6)
    model.load_gradient(np.arange(7) * 9000 - 30000)
    model.recenter(-2)
    model.run(5)
    sample = model.step()
    out["accelerator"] = [model.z.tolist(), model.saturations, model.steps, model.cycles, sample,
                          model.order.state, model.lane_random.state.tolist()]
    return out
"""


def tiny_runs_compiled() -> dict:
    namespace: dict = {}
    exec(TINY_RUNS, namespace)
    return json.loads(json.dumps(namespace["tiny_runs"]()))


def test_disabling_the_jit_runs_the_same_code_to_the_same_bits():
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    done = subprocess.run([sys.executable, "-c", TINY_RUNS + "print(json.dumps(tiny_runs()))"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    plain = json.loads(done.stdout)
    compiled = tiny_runs_compiled()
    assert plain.pop("jit_disabled") and plain.pop("plain_python")
    assert not compiled.pop("jit_disabled") and not compiled.pop("plain_python")
    assert plain == compiled
    assert compiled["hardware trace"][2][1] > 0 and any(compiled["accelerator"][0])


def numpy_epochs(key, problem, step_size, epochs, seed, bits, mu, lp_scale):
    """The five solvers written with whole-vector NumPy steps (HALP.md's formulas, storage by
    ``FixedFormat.quantize``, the logistic residual by scipy's ``expit``): the iterates."""
    X, y, l2, n = problem.X, problem.y, problem.l2, problem.n
    residual = (lambda a, t: a - t) if problem.name == "linreg" else (lambda a, t: expit(a) - t)
    order, rng = SampleOrder(n, seed), np.random.default_rng(seed)
    w, out = np.zeros(problem.d), [np.zeros(problem.d)]
    for _ in range(epochs):
        margins = X @ w
        residuals = residual(margins, y)
        full = X.T @ residuals / n + l2 * w
        scale = (bit_centering_scale(np.linalg.norm(full), mu, bits) if key == "halp"
                 else lp_scale)

        def store(values):
            if key in ("sgd", "svrg"):
                return values
            return FixedFormat(bits, scale).quantize(values, Rounding.STOCHASTIC, rng).values

        def direction(offset, i):
            x = X[i]
            return x * (residual(margins[i] + x @ offset, y[i]) - residuals[i]) + l2 * offset + full

        iterate = np.zeros(problem.d) if key in ("svrg", "halp") else w
        for i in order.take(n):
            if key in ("sgd", "lp_sgd"):
                gradient = X[i] * residual(np.dot(X[i], iterate), y[i]) + l2 * iterate
            else:
                gradient = direction(iterate - (w if key == "lp_svrg" else 0.0), i)
            iterate = store(iterate - step_size * gradient)
        w = w + iterate if key in ("svrg", "halp") else iterate
        out.append(w)
    return out


@pytest.mark.parametrize("problem", [paper_linreg(n=40, d=6, seed=3),
                                     synthetic_logreg(n=40, d=5, seed=4, l2=0.1)],
                         ids=["linreg", "logreg"])
@pytest.mark.parametrize("key", SOLVER_KEYS)
def test_solvers_give_the_bits_of_whole_vector_numpy_steps(problem, key):
    solver = make_solvers(problem, bits=4, mu=5.0)[key]
    hyper = solver.hyperparameters()
    got = [state.w for state in solver.iterates(problem, 3, seed=2)]
    want = numpy_epochs(key, problem, hyper["step_size"], 3, 2, 4, 5.0, hyper.get("scale"))
    assert [w.tobytes() for w in got] == [w.tobytes() for w in want]
    assert not np.array_equal(got[-1], got[1])


@numba.cfunc(LOSS_DERIVATIVE_SIGNATURE)
def _doubled_error_derivative(a, y):
    return 2.0 * (a - y)


class _DoubledSquares(LeastSquares):
    """``f_i(w) = (x_i . w - y_i)^2``: a new problem made of one kernel."""

    loss_derivative = _doubled_error_derivative


def test_a_new_problem_is_one_kernel_and_the_solvers_follow_it():
    base = paper_linreg(n=30, d=4, seed=2)
    problem = _DoubledSquares(base.X, base.y, l2=0.05)
    w = np.linspace(-1, 1, 4)
    np.testing.assert_allclose(problem.sample_gradient(w, 3),
                               2 * base.X[3] * (base.X[3] @ w - base.y[3]) + 0.05 * w)
    np.testing.assert_allclose(problem.full_gradient(w),
                               2 * base.X.T @ (base.X @ w - base.y) / 30 + 0.05 * w)
    # SGD with step alpha on the doubled loss is SGD with step 2 alpha on least squares (l2 0).
    doubled = _DoubledSquares(base.X, base.y)
    got = [s.w for s in SGD(step_size=0.01, epoch_length=7).iterates(doubled, 2, seed=1)]
    want = [s.w for s in SGD(step_size=0.02, epoch_length=7).iterates(base, 2, seed=1)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    svrg = list(SVRG(step_size=0.01).iterates(doubled, 2, seed=1))
    assert np.linalg.norm(doubled.full_gradient(svrg[-1].w)) < np.linalg.norm(
        doubled.full_gradient(svrg[0].w))


def test_accelerator_steps_take_any_sample_indices():
    """The loop runs on whatever indices it is given: the stream's, or a host's order."""
    config = HardwareConfig(bits=6, data_bits=5, frac_bits=8, lanes=4, d_max=9, n_max=5)
    x = (np.arange(45).reshape(5, 9) * 7) % 31 - 15
    streamed = AcceleratorModel(config, x, 40000, seed=2)
    given = AcceleratorModel(config, x, 40000, seed=2)
    for model in (streamed, given):
        model.load_gradient(np.arange(9) * 50 - 200)
    indices = given.order.take(11)
    given.order = None  # the loop must not need the stream
    given._steps_on(indices)
    given.count_run(11)
    streamed.run(11)
    assert given.z.tolist() == streamed.z.tolist() and any(streamed.z)
    assert (given.steps, given.cycles, given.saturations) == (
        streamed.steps, streamed.cycles, streamed.saturations)
    assert given.cycles == run_cycles(config, MemoryTiming(), 9, "xorshift", 11)


@pytest.mark.parametrize("shift, width, dot, mantissa, want", [
    (16, 8, 3 << 16, 1, 3),                  # exact
    (16, 8, 1 << 15, 1, 1),                  # half rounds up
    (16, 8, -(1 << 15), 1, 0),               # towards +inf
    (16, 8, 1000 << 16, 1, 127),             # clamped high
    (16, 8, -(1000 << 16), 1, -128),         # clamped low
    (4, 30, 123456789, (1 << 18) - 1, (1 << 29) - 1),
    (4, 50, -123456789, (1 << 18) - 1, (-123456789 * ((1 << 18) - 1) + 8) // 16),
])
def test_step_coefficient_by_hand(shift, width, dot, mantissa, want):
    assert kernels.step_coefficient(dot, mantissa, shift, width) == want
