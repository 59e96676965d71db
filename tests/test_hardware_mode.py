"""The golden hardware mode end to end: convergence against real-valued HALP, and bad input.

Measured on the paper problem (seed 0, docs/paper-figure.md): real-valued 8-bit HALP reaches
``rel_subopt <= 1e-12`` at epoch 16, the hardware mode (power-of-two scales, 8-bit data, 16
fraction bits, xorshift32 rounding) at epoch 18. The test allows ``ceil(1.25 x)`` HALP's epochs.
"""

import math

import numpy as np
import pytest

from halp_hw.golden.data import paper_linreg, synthetic_logreg
from halp_hw.golden.fixedpoint import covering_exponent
from halp_hw.golden.hardware import (AcceleratorModel, HalpHost, HardwareConfig, HardwareRun,
                             quantize_data, run_halp_hardware, step_mantissa)
from halp_hw.golden.problems import LeastSquares
from halp_hw.golden.defaults import default_mu, default_step_size
from halp_hw.golden.solvers import HALP, epochs_to_reach
from halp_hw.golden.validation import HalpInputError

TARGET = 1e-12
#: Hardware-mode epochs to TARGET, as a multiple of real-valued HALP's (rounded up).
EPOCH_FACTOR = 1.25


@pytest.fixture(scope="module")
def paper():
    problem = paper_linreg(seed=0)
    return problem, default_step_size(problem), default_mu(problem)


@pytest.fixture(scope="module")
def real_halp(paper):
    problem, step_size, mu = paper
    return HALP(step_size=step_size, bits=8, mu=mu, epoch_length=problem.n).run(problem, 25, 0)


@pytest.fixture(scope="module")
def hardware_halp(paper, real_halp):
    problem, step_size, mu = paper
    epochs = math.ceil(EPOCH_FACTOR * epochs_to_reach(real_halp, TARGET))
    config = HardwareConfig(bits=8, n_max=problem.n, d_max=problem.d)
    return run_halp_hardware(problem, config, HardwareRun(
        step_size=step_size, mu=mu, epoch_length=problem.n, epochs=epochs, seed=0))


def test_hardware_mode_reaches_1e_12_within_1_25x_real_halp_epochs(real_halp, hardware_halp):
    halp_epochs = epochs_to_reach(real_halp, TARGET)
    assert halp_epochs is not None
    reached = epochs_to_reach(hardware_halp, TARGET)
    assert reached is not None and reached <= math.ceil(EPOCH_FACTOR * halp_epochs)


def test_hardware_mode_converges_linearly_without_saturating(hardware_halp):
    rel = np.array(hardware_halp.rel_subopt)
    assert np.all(rel[1:] < rel[:-1])
    assert sum(hardware_halp.saturations) == 0


def test_hardware_scale_is_the_power_of_two_above_the_real_scale(paper, real_halp, hardware_halp):
    problem, _, mu = paper
    # Both start at w = 0 with the same gradient: hardware rounds HALP's scale up to 2**e.
    radius = np.linalg.norm(problem.full_gradient(np.zeros(problem.d))) / mu
    assert hardware_halp.scale[0] == math.ldexp(1.0, covering_exponent(radius, 8))
    assert real_halp.scale[0] <= hardware_halp.scale[0] < 2 * real_halp.scale[0]
    for scale in hardware_halp.scale:
        assert math.frexp(scale)[0] == 0.5  # an exact power of two


def test_hardware_trace_records_cycles_per_epoch(paper, hardware_halp):
    problem = paper[0]
    config = HardwareConfig(bits=8, n_max=problem.n, d_max=problem.d)
    assert hardware_halp.cycles[0] == 0
    # the default memory: a row of ceil(d/8) = 13 words holds the channel 13 cycles, fewer than
    # the 13 + 8 of a step, and its round trip, 20 + 13 cycles, is shared by the 6 steps it is
    # fetched ahead: every step is compute-bound
    assert config.step_cycles(problem.d) == 21
    assert set(hardware_halp.cycles[1:]) == {problem.n * 21}


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value, allowed", [
    ("bits", 1, "2..16"), ("bits", 17, "2..16"),
    ("data_bits", 1, "2..16"), ("data_bits", 17, "2..16"),
    ("frac_bits", 0, "1..24"), ("frac_bits", 25, "1..24"),
    ("lanes", 0, "1..64"), ("lanes", 65, "1..64"),
    ("d_max", 0, "1..4096"), ("d_max", 4097, "1..4096"),
    ("n_max", 0, "1..16777216"), ("n_max", 2**24 + 1, "1..16777216"),
])
def test_hardware_config_rejects_out_of_range_widths(field, value, allowed):
    with pytest.raises(HalpInputError,
                       match=rf"^{field} must be an integer in {allowed}, not {value}$"):
        HardwareConfig(**{field: value})


def small_problem():
    return paper_linreg(n=20, d=5, seed=1)


GOOD_RUN = {"step_size": 1e-3, "mu": 2.0, "epoch_length": 20, "epochs": 1, "seed": 0}


@pytest.mark.parametrize("change, message", [
    ({"step_size": 0.0}, r"^step size must be a finite number > 0, not 0\.0$"),
    ({"step_size": -1e-3}, r"^step size must be a finite number > 0, not -0\.001$"),
    ({"mu": 0.0}, r"^mu must be a finite number > 0, not 0\.0$"),
    ({"epoch_length": 0}, r"^epoch length must be an integer >= 1, not 0$"),
    ({"epochs": 0}, r"^epochs must be an integer >= 1, not 0$"),
    ({"seed": -1}, r"^seed must be an integer in 0\.\.4294967295, not -1$"),
    ({"step_size": 10.0}, r"^step size 10 is outside what the hardware step coefficient holds "
                          r"for this data scale and frac_bits=16: allowed .* \.\. .*$"),
])
def test_halp_host_rejects_bad_run_parameters(change, message):
    with pytest.raises(HalpInputError, match=message):
        HalpHost(small_problem(), HardwareConfig(), HardwareRun(**{**GOOD_RUN, **change}))


def test_halp_host_rejects_a_problem_that_does_not_fit_the_build():
    with pytest.raises(HalpInputError, match=r"^n \(samples\) must be an integer in 1\.\.16, "
                                             r"not 20$"):
        HalpHost(small_problem(), HardwareConfig(n_max=16), HardwareRun(**GOOD_RUN))
    with pytest.raises(HalpInputError, match=r"^d \(features\) must be an integer in 1\.\.4, "
                                             r"not 5$"):
        HalpHost(small_problem(), HardwareConfig(d_max=4), HardwareRun(**GOOD_RUN))


def test_halp_host_rejects_a_problem_of_another_loss_than_the_build():
    with pytest.raises(HalpInputError, match=r"^the accelerator is built for problem linreg, "
                                             r"the problem is logreg$"):
        HalpHost(synthetic_logreg(n=20, d=5), HardwareConfig(), HardwareRun(**GOOD_RUN))


def test_all_zero_data_is_rejected():
    problem = LeastSquares(np.zeros((4, 3)), np.ones(4))
    with pytest.raises(HalpInputError, match="X is all zeros"):
        HalpHost(problem, HardwareConfig(), HardwareRun(**GOOD_RUN))


def test_accelerator_model_rejects_data_wider_than_data_bits():
    config = HardwareConfig(data_bits=4)
    with pytest.raises(HalpInputError, match="x must hold 4-bit integers"):
        AcceleratorModel(config, np.array([[8, 0], [0, 1]]), mantissa=1, seed=0)


def test_accelerator_model_rejects_a_gradient_of_the_wrong_shape():
    problem = small_problem()
    config = HardwareConfig()
    x_ints, exponent = quantize_data(problem.X, config.data_bits)
    model = AcceleratorModel(config, x_ints, step_mantissa(1e-3, exponent, config.frac_bits), 0)
    with pytest.raises(HalpInputError, match=r"gradient must have shape \(5,\), got \(4,\)"):
        model.load_gradient(np.zeros(4, dtype=np.int64))
