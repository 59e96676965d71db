"""The compiled inner loops: the same code with and without numba, and the problem interface."""

import json
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

from halp_hw.golden import kernels
from halp_hw.golden.data import paper_linreg
from halp_hw.golden.hardware import AcceleratorModel, HardwareConfig
from halp_hw.golden.problems import LOSS_DERIVATIVE_SIGNATURE, LeastSquares
from halp_hw.golden.solvers import SGD, SVRG

# Runs in this process (compiled) and in a subprocess with NUMBA_DISABLE_JIT=1 (plain Python);
# prints every number exactly (floats as hex) so the two can be compared bit for bit.
TINY_RUNS = r"""
import json, numba, numpy as np
from halp_hw.golden import kernels
from halp_hw.golden.data import paper_linreg, synthetic_logreg
from halp_hw.golden.hardware import AcceleratorModel, HardwareConfig, HardwareRun, run_halp_hardware
from halp_hw.golden.solvers import make_solvers

def exact(values):
    return [float(v).hex() for v in np.ravel(values)]

def tiny_runs():
    out = {"jit_disabled": bool(numba.config.DISABLE_JIT),
           "plain_python": not isinstance(kernels.accelerator_steps, numba.core.dispatcher.Dispatcher)}
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
    streamed.run(11)
    assert given.z.tolist() == streamed.z.tolist() and any(streamed.z)
    assert (given.steps, given.cycles, given.saturations) == (
        streamed.steps, streamed.cycles, streamed.saturations)
    assert given.cycles == 11 * config.step_cycles(9)


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
