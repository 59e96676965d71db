"""The logistic full-gradient pass of the golden accelerator: its arithmetic by hand, the
gradient it computes, its cycles, and what the epoch on chip converges to."""

import dataclasses
import json
import math

import numpy as np
import pytest

from halp_hw.cli import main
from halp_hw.golden.data import synthetic_logreg
from halp_hw.golden.datasets import load_sklearn_dataset
from halp_hw.golden.defaults import default_epoch_length, default_mu, default_step_size
from halp_hw.golden.epoch import OnChipEpochHost
from halp_hw.golden.epoch_timing import epoch_cost, pass_cycles
from halp_hw.golden.floor import quantization_floor, quantized_problem
from halp_hw.golden.full_gradient import finish_gradient, rshift
from halp_hw.golden.hardware import HardwareConfig, HardwareRun
from halp_hw.golden.logistic_pass import (logistic_accumulators, logistic_residuals,
                                          logistic_targets, pass_margin_shift, pass_margins)
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.sigmoid import fixed_sigmoid
from halp_hw.golden.validation import HalpInputError
from halp_hw.runtime.backends import run_backend

#: I = 16, Fi = 11, O = 16; margins of 32 bits with 16 guard bits.
CONFIG = HardwareConfig(problem="logreg", lanes=4, d_max=10, n_max=64)


def spec_residual(dot: int, shift: int, target: int) -> int:
    """The contract in Python ints: margin, sigmoid input, the unit, minus the label."""
    margin = (dot + (1 << (shift - 1))) >> shift if shift > 0 else dot << -shift
    margin = min(max(margin, -(1 << 31)), (1 << 31) - 1)
    value = min(max((margin + (1 << 15)) >> 16, -(1 << 15)), (1 << 15) - 1)
    label = target & ((1 << 18) - 1)
    label -= (label >> 17) << 18
    return int(fixed_sigmoid([value], CONFIG)[0]) - label


@pytest.mark.parametrize("dot, shift, margin", [
    (5, 1, 3), (4, 1, 2), (-5, 1, -2), (-3, 1, -1), (3, -2, 12), (0, 5, 0),
    ((3 << 16) + (1 << 15), 0, (3 << 16) + (1 << 15)),  # input 3.5 LSB: rounds up to 4
    (1 << 40, 0, (1 << 31) - 1), (-(1 << 40), 0, -(1 << 31)), (1, -40, (1 << 31) - 1),
    ((1 << 42) - 1, 44, 0), (-(1 << 42), 44, 0), (-(1 << 42), 43, 0), (-(1 << 42), 42, -1),
    ((1 << 42) - 1, 42, 1)])
def test_margin_rounds_to_nearest_ties_up_and_saturates(dot, shift, margin):
    assert pass_margins(np.array([dot]), shift, CONFIG).tolist() == [margin]


def test_residuals_by_hand():
    """sigmoid(0) = 2**15 exactly; an input tie rounds up; the input saturates at 2**15 - 1;
    the label is the low 18 bits of the target word."""
    half, one = 1 << 15, 1 << 16
    margins = np.array([0, (3 << 16) + (1 << 15), -(3 << 16) - (1 << 15), (1 << 31) - 1,
                        -(1 << 31), 0])
    targets = np.array([0, one, 0, one, 0, (5 << 18) + one])
    expected = [half, int(fixed_sigmoid([4], CONFIG)[0]) - one,
                int(fixed_sigmoid([-3], CONFIG)[0]),
                int(fixed_sigmoid([half - 1], CONFIG)[0]) - one,
                int(fixed_sigmoid([-half], CONFIG)[0]), half - one]
    assert logistic_residuals(margins, targets, CONFIG).tolist() == expected
    assert expected[3] == -1 and expected[4] == 1  # the sigmoid's ends: 1 - 2**-16, 2**-16


def test_accumulators_are_exact():
    rng = np.random.default_rng(4)
    n, d, shift = 30, 7, 9
    x = rng.integers(-128, 128, size=(n, d))
    center = rng.integers(-(1 << 31), 1 << 31, size=d)
    targets = rng.integers(0, 2, size=n) << 16
    accumulators, margins = logistic_accumulators(x, targets, center, shift, CONFIG)
    dots = [sum(int(a) * int(b) for a, b in zip(row, center)) for row in x]
    assert margins.tolist() == pass_margins(np.array(dots), shift, CONFIG).tolist()
    residuals = [spec_residual(dot, shift, int(t)) for dot, t in zip(dots, targets)]
    assert accumulators == [sum(int(x[i, j]) * residuals[i] for i in range(n)) for j in range(d)]
    assert len(set(residuals)) > n // 2  # the margins spread over the sigmoid


def _host(problem, config, **run_fields):
    step = default_step_size(problem)
    run = HardwareRun(step_size=step, mu=default_mu(problem, config.bits),
                      epoch_length=default_epoch_length(problem, step), epochs=1,
                      full_gradient="accelerator", **run_fields)
    return OnChipEpochHost(problem, config, run)


def test_chip_gradient_is_the_quantized_problems_within_the_sigmoids_error():
    """t 2**u / N against the float64 gradient of (X_q, y, lambda) at the same center: each
    residual is off by at most the table's 5.8e-5 plus a quarter of the input LSB 2**-11 (the
    margin's rounding), so g_j by at most that times mean |x_ij|; G is alpha g 2**(F - e)."""
    problem = synthetic_logreg(200, 12, 5, l2=0.01)
    config = HardwareConfig(problem="logreg", lanes=4, d_max=12, n_max=200)
    host = _host(problem, config)
    constants = host.constants
    assert constants.gradient_unit == host.data_exponent - 16
    rng = np.random.default_rng(0)
    center = np.round(problem.optimum * 0.7 / 2.0 ** constants.center_exponent
                      + rng.normal(size=12) * 1e5).astype(np.int64)
    accumulators, _ = logistic_accumulators(host.pass_x, host.targets, center,
                                            host.pass_margin_shift, config)
    terms = [acc + rshift(int(w) * constants.l2.mantissa, -constants.l2.exponent)
             for acc, w in zip(accumulators, center)]
    chip = np.array([math.ldexp(t, constants.gradient_unit) for t in terms]) / problem.n
    quantized, _ = quantized_problem(problem, config.data_bits)
    w = center * 2.0 ** constants.center_exponent
    exact = quantized.full_gradient(w)
    bound = (5.8e-5 + 2.0 ** -13) * np.mean(np.abs(quantized.X), axis=0) + 1e-9
    assert np.all(np.abs(chip - exact) <= bound)
    assert np.linalg.norm(exact) > 100 * np.linalg.norm(bound)  # a gradient far from 0
    result = finish_gradient(accumulators, center, constants, config, 0)
    expected = host.step_size * chip * 2.0 ** (config.frac_bits - result.exponent)
    assert np.all(np.abs(result.grad_ints - expected) <= 0.5 + 1e-6 * np.abs(expected))
    # the scale: (2**(b-1) - 1) 2**e covers ||g|| / mu, and 2**(e-1) does not
    radius = np.linalg.norm(chip) / host.mu
    assert 127 * 2.0 ** (result.exponent - 1) < radius <= 127 * 2.0 ** result.exponent


def test_the_pass_writes_the_inner_loops_margins():
    problem = synthetic_logreg(40, 6, 1)
    config = HardwareConfig(problem="logreg", lanes=4, d_max=6, n_max=40)
    model = _host(problem, config).make_model()
    model.center = np.arange(-3, 3, dtype=np.int64) << 24
    model.full_gradient()
    dots = model.pass_x @ model.center
    assert model.values.tolist() == pass_margins(dots, model.pass_margin_shift, config).tolist()
    assert len(set(model.values.tolist())) > 30


def test_logistic_pass_cycles_add_the_sigmoid():
    """As least squares' by-hand count (4 lanes, d = 10, n = 5: read 27 cycles, 3 beats) with
    the margin, sigmoid-input and the sigmoid unit's 5 registers before the residual."""
    memory = MemoryTiming(latency=3, bytes_per_cycle=4)
    config = HardwareConfig(lanes=4, d_max=10, n_max=5, problem="logreg")
    assert pass_cycles(config, memory, 5, 10) == 1 + 27 + 1 + 1 + 2 + 7 + 3 + 1


@pytest.fixture(scope="module")
def breast_cancer_run():
    problem, _ = load_sklearn_dataset("breast_cancer", "logreg", l2=0.0022, seed=0)
    config = HardwareConfig(problem="logreg", d_max=problem.d, n_max=problem.n)
    step = default_step_size(problem)
    run = HardwareRun(step_size=step, mu=default_mu(problem, 8),
                      epoch_length=default_epoch_length(problem, step), epochs=150,
                      full_gradient="accelerator")
    hosts = []
    trace = run_backend("model", problem, config, run, on_host=hosts.append).trace
    return problem, trace, hosts[0].center


def test_breast_cancer_reaches_the_floor_of_8_bit_data(breast_cancer_run):
    """The true suboptimality ends at the floor of the quantized data; on the quantized problem
    itself the center is within the fixed-point sigmoid's reach of its optimum."""
    problem, trace, center = breast_cancer_run
    floor = quantization_floor(problem, 8).rel_subopt
    assert 0.9 * floor <= trace.rel_subopt[-1] <= 1.1 * floor
    assert sum(trace.saturations) == 0
    quantized, _ = quantized_problem(problem, 8)
    start = quantized.suboptimality(np.zeros(problem.d))
    assert quantized.suboptimality(center) / start < 1e-6


def test_bad_logistic_passes_are_refused():
    problem = synthetic_logreg(40, 6, 1)
    config = HardwareConfig(problem="logreg", lanes=4, d_max=6, n_max=40)
    with pytest.raises(HalpInputError, match="margin shift 1.* does not fit 8 signed bits"):
        _host(problem, config, center_exponent=-150)
    assert pass_margin_shift(config, -3, -20) == 23 - 27
    with pytest.raises(HalpInputError, match="labels y of 0 or 1"):
        logistic_targets(np.array([0.0, 2.0]), config)
    narrow = dataclasses.replace(config, lanes=1, gradient_data_bits=24, center_bits=16)
    with pytest.raises(HalpInputError, match="4 margin words per row"):
        _host(problem, narrow)


def test_simulate_runs_the_logistic_epoch_on_chip(tmp_path):
    args = ["--problem", "logreg", "--l2", "0.05", "--n", "60", "--d", "10", "--lanes", "4",
            "--epochs", "3", "--epoch-length", "60", "--seed", "1", "--full-gradient",
            "accelerator", "--clock-mhz", "50"]
    assert main(["simulate", *args, "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    config = HardwareConfig(lanes=4, d_max=10, n_max=60, problem="logreg")
    cost = epoch_cost(config, MemoryTiming(), 60, 10, 60)
    assert results["performance"]["epoch_phases"] == dataclasses.asdict(cost)
    assert [e["cycles"] for e in results["epochs"]] == [cost.cycles] * 3
    assert results["totals"]["cycles_match_model"]
    assert results["configuration"]["full_gradient"] == "accelerator"
    floor = results["accuracy"]["floor"]["rel_subopt"]
    assert floor > 0 and results["epochs"][-1]["rel_subopt"] < results["epochs"][0]["rel_subopt"]
