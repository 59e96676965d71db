"""Logistic regression and the L2-SVM in the hardware numeric mode: the contract's integer steps
written out here in Python integers, against the compiled golden model, step by step."""

import math

import numpy as np
import pytest

from halp_hw.golden.datasets import load_sklearn_dataset
from halp_hw.golden import glm as glm_module
from halp_hw.golden.config import STEP_MANTISSA_BITS
from halp_hw.golden.glm import MARGIN_GUARD_BITS, glm_step, sample_values
from halp_hw.golden.hardware import (AcceleratorModel, HalpHost, HardwareConfig, HardwareRun,
                                     run_halp_hardware)
from halp_hw.golden.prng import LaneRandom, SampleOrder
from halp_hw.golden.problems import LogisticRegression, SquaredHingeSVM
from halp_hw.golden.solvers import epochs_to_reach
from halp_hw.golden.validation import HalpInputError

SMALL = dict(lanes=4, d_max=8, n_max=32)


def clamp(value: int, width: int) -> int:
    return min(max(value, -(1 << (width - 1))), (1 << (width - 1)) - 1)


def spec_sigmoid(a: int, cfg: HardwareConfig) -> int:
    shift = cfg.sigmoid_in_bits - 1 - cfg.sigmoid_table_bits

    def knot(k):
        value = 1.0 / (1.0 + math.exp(-k * 2.0 ** (shift - cfg.sigmoid_in_frac)))
        return min(math.floor(value * 2**cfg.sigmoid_out_bits + 0.5), 2**cfg.sigmoid_out_bits - 1)

    magnitude = min(abs(a), 2 ** (cfg.sigmoid_in_bits - 1) - 1)
    k, t = magnitude >> shift, magnitude & ((1 << shift) - 1)
    p = knot(k) + (((knot(k + 1) - knot(k)) * t + (1 << (shift - 1))) >> shift)
    return p if a >= 0 else 2**cfg.sigmoid_out_bits - p


def spec_scaled(product: int, shift: int, width: int) -> int:
    """round(product 2**-shift) half up, exact (Python integers need no shift clamp)."""
    value = (product + (1 << (shift - 1))) >> shift if shift > 0 else product << -shift
    return clamp(value, width)


def spec_coefficient(cfg, step, dot, value, exponent) -> int:
    if cfg.problem == "logreg":
        sh = step.margin_shift + exponent
        moved = dot << sh if sh >= 0 else dot >> -sh
        guard = MARGIN_GUARD_BITS
        start = clamp((value + (1 << (guard - 1))) >> guard, cfg.sigmoid_in_bits)
        end = clamp((value + moved + (1 << (guard - 1))) >> guard, cfg.sigmoid_in_bits)
        difference = spec_sigmoid(end, cfg) - spec_sigmoid(start, cfg)
        return spec_scaled(difference * step.mantissa, step.coef_shift + exponent,
                           cfg.coef_width)
    slack, label = value >> 1, 1 if value & 1 else -1
    difference = -label * (max(slack - label * dot, 0) - max(slack, 0))
    return spec_scaled(difference * step.mantissa, step.coef_shift, cfg.coef_width)


def small_problem(name: str, seed: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(24, 6))
    margins = X @ rng.normal(size=6) + 0.5 * rng.normal(size=24)
    if name == "logreg":
        return LogisticRegression(X, (margins > 0).astype(float), l2=0.05)
    return SquaredHingeSVM(X, np.where(margins > 0, 1.0, -1.0), l2=0.05)


@pytest.mark.parametrize("name", ["logreg", "svm"])
def test_golden_steps_equal_the_contract_in_python_integers(name):
    cfg = HardwareConfig(problem=name, **SMALL)
    problem = small_problem(name)
    run = HardwareRun(step_size=0.02, mu=0.5, epoch_length=40, epochs=3, seed=5)
    host = HalpHost(problem, cfg, run)
    model = host.make_model()
    order, lanes = SampleOrder(problem.n, run.seed), LaneRandom(cfg.lanes, cfg.frac_bits,
                                                                 run.seed)
    x = host.x_ints.tolist()
    nonzero_coefficients = 0
    for _ in range(run.epochs):
        inputs = host.begin_epoch()
        model.load_gradient(inputs.grad_ints)
        model.load_sample_values(inputs.sample_values)
        model.recenter(inputs.exponent)
        z = [0] * problem.d
        for _ in range(run.epoch_length):
            i = order.next()
            dot = sum(a * b for a, b in zip(x[i], z))
            c = spec_coefficient(cfg, host.step, dot, int(inputs.sample_values[i]),
                                 inputs.exponent)
            nonzero_coefficients += c != 0
            for start in range(0, problem.d, cfg.lanes):
                bits = [int(r) for r in lanes.draw(1)[0]]
                for lane in range(cfg.lanes):
                    j = start + lane
                    if j < problem.d:
                        r = bits[lane]
                        v = ((z[j] << cfg.frac_bits) - z[j] * host.step.decay - x[i][j] * c
                             - int(inputs.grad_ints[j]) + r) >> cfg.frac_bits
                        z[j] = clamp(v, cfg.bits)
            assert model.step() == i
            assert model.z.tolist() == z
        host.end_epoch(model.z, 0, 0)
    assert nonzero_coefficients > run.epochs * run.epoch_length // 2
    assert host.step.decay == math.floor(0.02 * 0.05 * 2**cfg.frac_bits + 0.5) > 0


@pytest.mark.parametrize("name", ["logreg", "svm"])
@pytest.mark.parametrize("order", ["xorshift", "host"])
def test_the_seed_command_keeps_the_loss_parameters_and_sample_values(name, order):
    """After SEED the model steps as a fresh model of that seed with the same step, loss
    parameters, gradient and per-sample values would; only the counters carry on."""
    cfg = HardwareConfig(problem=name, **SMALL)
    problem = small_problem(name)
    run = HardwareRun(step_size=0.02, mu=0.5, epoch_length=6, epochs=1, seed=5, order=order)
    host = HalpHost(problem, cfg, run)
    inputs = host.begin_epoch()
    step = host.step
    fresh = AcceleratorModel(cfg, host.x_ints, host.mantissa, 7, order=host.order,
                             coef_shift=step.coef_shift, margin_shift=step.margin_shift,
                             decay=step.decay)
    model = host.make_model()
    for each in (model, fresh):
        each.load_gradient(inputs.grad_ints)
        each.load_sample_values(inputs.sample_values)
        each.recenter(inputs.exponent)
    model.run(5)
    model.seed(7)
    assert model.exponent == 0 and not model.z.any()
    model.recenter(inputs.exponent)
    model.run(run.epoch_length)
    fresh.run(run.epoch_length)
    assert fresh.z.any() and model.z.tolist() == fresh.z.tolist()
    assert model.steps == 5 + run.epoch_length and model.saturations >= fresh.saturations
    assert (model.coef_shift, model.margin_shift, model.decay) == (
        step.coef_shift, step.margin_shift, step.decay)


def test_the_mantissa_is_normalized_and_the_shifts_follow_the_data_scale():
    assert glm_module._MANTISSA_BITS == STEP_MANTISSA_BITS
    cfg = HardwareConfig(problem="logreg")
    step = glm_step(cfg, 0.016126743300950836, 0.0022, -3, None)
    # 0.01613 = 1.032 * 2**-6: m = round(alpha * 2**(17 + 6)) and 2**17 <= m < 2**18
    assert step.mantissa == round(0.016126743300950836 * 2**23)
    assert 2**17 <= step.mantissa < 2**18
    assert step.coef_shift == 23 + 16 + 3 - 16
    assert step.margin_shift == -3 + 11 + MARGIN_GUARD_BITS
    svm = glm_step(HardwareConfig(problem="svm"), 0.004, 0.0, -3, None)
    assert svm.coef_shift == 25 + 6 - 16 and svm.decay == 0


def test_svm_sample_values_hold_the_slack_in_dot_lsbs_and_the_label():
    cfg = HardwareConfig(problem="svm", **SMALL)
    problem = small_problem("svm")
    center = np.linspace(-0.3, 0.3, problem.d)
    values = sample_values(cfg, problem, center, -5, -2)
    slack = 1.0 - problem.y * (problem.X @ center)
    assert np.array_equal(values >> 1, np.floor(slack * 2**7 + 0.5).astype(np.int64))
    assert np.array_equal(values & 1, (problem.y > 0).astype(np.int64))


def test_a_build_for_one_loss_refuses_another_and_a_huge_l2_step():
    with pytest.raises(HalpInputError, match="^problem must be one of linreg, logreg, svm"):
        HardwareConfig(problem="ridge")
    with pytest.raises(HalpInputError, match="step size x l2 = 2 must be below 1"):
        glm_step(HardwareConfig(problem="svm"), 0.5, 4.0, 0, None)


@pytest.mark.parametrize("name, l2, epochs, bound", [("logreg", 0.0022, 120, 1e-7),
                                                     ("svm", 0.0022, 120, 2e-3)])
def test_hardware_mode_converges_linearly_on_breast_cancer(name, l2, epochs, bound):
    from halp_hw.golden.defaults import default_epoch_length, default_mu, default_step_size

    problem, _ = load_sklearn_dataset("breast_cancer", name, l2=l2, seed=0)
    step = default_step_size(problem)
    run = HardwareRun(step, default_mu(problem), default_epoch_length(problem, step), epochs)
    trace = run_halp_hardware(problem, HardwareConfig(problem=name, n_max=512, d_max=32), run)
    assert trace.rel_subopt[-1] < bound
    assert sum(trace.saturations) == 0
    assert epochs_to_reach(trace, 1e-2) is not None


def test_the_full_gradient_on_the_accelerator_refuses_an_svm_build():
    from halp_hw.golden.epoch import make_host

    run = HardwareRun(step_size=0.02, mu=0.5, epoch_length=10, epochs=1,
                      full_gradient="accelerator")
    with pytest.raises(HalpInputError, match="least squares and logistic regression .* not svm"):
        make_host(small_problem("svm"), HardwareConfig(problem="svm", **SMALL), run)
