"""The epoch on the accelerator: the full-gradient pass's arithmetic, its cycles, and what it
converges to on the paper problem."""

import dataclasses
import json
import math
from fractions import Fraction

import numpy as np
import pytest

from halp_hw.cli import main
from halp_hw.golden.data import paper_linreg
from halp_hw.golden.defaults import default_epoch_length, default_mu, default_step_size
from halp_hw.golden.epoch import OnChipEpochHost, make_host
from halp_hw.golden.epoch_timing import epoch_cost, finish_cycles, pass_cycles, update_cycles
from halp_hw.golden.floor import quantization_floor
from halp_hw.golden.full_gradient import (CONSTANT_BITS, SCALE_EXPONENT_BITS, Constant,
                                          PassConstants, PassWidths, finish_gradient,
                                          pass_accumulators, rshift, scale_exponent,
                                          update_center)
from halp_hw.golden.hardware import HardwareConfig, HardwareRun
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.problems import LeastSquares
from halp_hw.golden.validation import HalpInputError
from halp_hw.runtime.backends import run_backend


def test_exact_accumulators_at_the_widest_values():
    """24-bit data and a 32-bit center at their extremes: acc needs ~80 bits; Python ints say
    what it must be."""
    rng = np.random.default_rng(3)
    n, d = 40, 7
    x = rng.choice([-(1 << 23), (1 << 23) - 1, -1, 0, 12345], size=(n, d)).astype(np.int64)
    center = rng.choice([-(1 << 31), (1 << 31) - 1, 7], size=d).astype(np.int64)
    targets = rng.integers(-(1 << 60), 1 << 60, size=n)
    expected = [0] * d
    for i in range(n):
        residual = sum(int(x[i, j]) * int(center[j]) for j in range(d)) - int(targets[i])
        for j in range(d):
            expected[j] += int(x[i, j]) * residual
    assert max(abs(v) for v in expected).bit_length() > 64
    assert pass_accumulators(x, targets, center) == expected


@pytest.mark.parametrize("value, shift, expected", [
    (5, 0, 5), (5, -3, 40), (5, 1, 3), (4, 1, 2), (-5, 1, -2), (-6, 2, -1), (-7, 2, -2),
    (6, 2, 2), (1, 1, 1), (-1, 1, 0)])
def test_rshift_rounds_to_nearest_ties_up(value, shift, expected):
    assert rshift(value, shift) == expected


def test_constants_are_normalized_and_rounded_as_stated():
    for value in (1e-9, 0.3, 1.0, 2.0 ** 40 * 3.7, 123456.789):
        nearest, down = Constant.of(value), Constant.of(value, round_down=True)
        for constant in (nearest, down):
            assert 1 << (CONSTANT_BITS - 1) <= constant.mantissa < 1 << CONSTANT_BITS
        assert down.value <= value
        assert abs(nearest.value - value) <= math.ldexp(0.5, nearest.exponent)
        assert value - down.value < math.ldexp(1.0, down.exponent)
    assert Constant.of(0.0) == Constant(0, 0)
    with pytest.raises(HalpInputError, match="finite and >= 0"):
        Constant.of(-1.0)


def test_scale_exponent_is_the_smallest_that_covers():
    """Against a search over e with exact rationals: the smallest e with Q <= K 4**e."""
    rng = np.random.default_rng(5)
    for _ in range(400):
        squares = max(1, int(rng.integers(1, 1 << 62)) >> int(rng.integers(0, 60)))
        bound = Constant(int(rng.integers(1 << 31, 1 << 32)), int(rng.integers(-80, 40)))
        exact = Fraction(bound.mantissa) * Fraction(2) ** bound.exponent
        e = -200
        while Fraction(squares) > exact * Fraction(4) ** e:
            e += 1
        assert scale_exponent(squares, bound, previous=99) == max(e, -(1 << 7))
    assert scale_exponent(0, Constant(1 << 31, 0), previous=-17) == -17
    assert SCALE_EXPONENT_BITS == 8


def test_scale_exponent_matches_the_centering_register():
    from halp_hw.hdl.centering import EXPONENT_BITS

    assert SCALE_EXPONENT_BITS == EXPONENT_BITS


def test_finish_gradient_by_hand():
    """d = 2, F = 4, b = 4: t = acc + rshift(wc * L.m, -L.e), G = rshift(t A.m, -(A.e + 2 exg +
    ec + F - e))."""
    config = HardwareConfig(bits=4, frac_bits=4, lanes=1, d_max=2, n_max=4)
    # l2 constant 0.5 (m = 2**31, e = -32), step 1/8 (m = 2**31, e = -34), K = 64 (m = 2**31,
    # e = -25); exg = -1, ec = -2, so the G shift is -(-34 - 2 - 2 + 4 - e) = 38 - 4 + e.
    constants = PassConstants(-1, -2, Constant(1 << 31, -32), Constant(1 << 31, -34),
                              Constant(1 << 31, -25))
    result = finish_gradient([100, -37], np.array([3, -4]), constants, config, 0)
    # t = (100 + 1.5 -> 102 after rounding 1.5 up, -37 - 2 = -39): 3 * 2**31 >> 32 = 1.5 -> 2
    assert result.sum_of_squares == 102 ** 2 + 39 ** 2  # 11925
    # Q <= 64 * 4**e: 4**e >= 186.3 -> e = 4
    assert result.exponent == 4
    # G = t * 2**31 >> 38 = t / 128: 102 / 128 = 0.797 -> 1, -39 / 128 = -0.305 -> 0
    assert result.grad_ints.tolist() == [1, 0]
    assert result.grad_saturated == 0


def test_update_center_shifts_rounds_and_counts_clamps():
    center = np.array([10, -10, (1 << 15) - 2, 0])
    z = np.array([3, -3, 5, -1])
    left, clamps = update_center(center, z, exponent=2, center_exponent=0, center_bits=16)
    assert left.tolist() == [22, -22, (1 << 15) - 1, -4] and clamps == 1
    right, clamps = update_center(center, z, exponent=-1, center_exponent=0, center_bits=16)
    assert right.tolist() == [12, -11, (1 << 15) - 1, 0] and clamps == 1


def test_pass_widths_and_their_limit():
    widths = PassWidths.of(HardwareConfig(lanes=8, d_max=100, n_max=1000))
    assert (widths.data_bits, widths.dot_width, widths.acc_width) == (8, 46, 64)
    assert (widths.word_bits, widths.target_words) == (64, 1)
    assert PassWidths.of(HardwareConfig(gradient_data_bits=20, lanes=2)).target_words == 2
    with pytest.raises(HalpInputError, match="residual"):
        PassWidths.of(HardwareConfig(center_bits=48, gradient_data_bits=24, d_max=4096))


@pytest.mark.parametrize("field, value", [("gradient_data_bits", 25), ("gradient_data_bits", 1),
                                          ("center_bits", 15), ("center_bits", 49)])
def test_config_rejects_pass_widths_out_of_range(field, value):
    with pytest.raises(HalpInputError, match=field):
        HardwareConfig(**{field: value})


def test_epoch_cycles_by_hand():
    """4 lanes of 8 bits, d = 10, n = 5, memory latency 3, 4 B/cycle: 3 beats, a 32-bit word;
    the 43-bit target takes 2 words, so the region is 25 words: read = 2 + 25 = 27 cycles."""
    config = HardwareConfig(lanes=4, d_max=10, n_max=5)
    memory = MemoryTiming(latency=3, bytes_per_cycle=4)
    assert config.tree_stages == 1
    assert pass_cycles(config, memory, 5, 10) == 1 + 27 + 1 + 1 + 2 + 3 + 1
    # t has 8 + 43 + 3 + 1 = 55 bits: 4 digits of 17 bits, so a feature every 4 cycles;
    # wc LAMBDA.m takes the 2 digits of the 33-bit LAMBDA.m; each product 1 cycle more
    sweep = 4 * 9 + (2 + 1) + (4 + 1)
    assert finish_cycles(config, 10) == sweep + 5 + sweep + 4
    assert finish_cycles(config, 10) == 97
    assert update_cycles(config, 10) == 3 + 2
    cost = epoch_cost(config, memory, 5, 10, epoch_length=7)
    assert cost.cycles == 36 + 97 + 5 + cost.inner


def _small_run(full_gradient="accelerator", epochs=3):
    problem = paper_linreg(60, 10, 2)
    config = HardwareConfig(lanes=4, d_max=10, n_max=60)
    run = HardwareRun(step_size=default_step_size(problem), mu=default_mu(problem, 8),
                      epoch_length=60, epochs=epochs, seed=1, full_gradient=full_gradient)
    return problem, config, run


def test_model_counts_every_phase():
    problem, config, run = _small_run()
    host = OnChipEpochHost(problem, config, run)
    model = host.make_model()
    memory = MemoryTiming()
    model.full_gradient()
    model.run(run.epoch_length)
    model.update_center()
    assert model.cycles == epoch_cost(config, memory, 60, 10, run.epoch_length).cycles
    assert model.steps == run.epoch_length


def test_center_at_the_quantized_optimum_is_a_fixed_point():
    """Data and a center on their grids with y = X w exactly: every residual is 0, so G = 0 and
    the exponent is kept; z stays 0 and so does the center."""
    x = np.array([[3, -1], [2, 5], [-4, 1]], dtype=np.int64)
    w = np.array([12, -7], dtype=np.int64)
    problem = LeastSquares(x * 0.25, (x @ w) * 0.25 * 2.0 ** -6)
    config = HardwareConfig(lanes=2, d_max=2, n_max=3, data_bits=4)
    run = HardwareRun(step_size=0.0005, mu=1.0, epoch_length=10, epochs=1, center_exponent=-6)
    host = OnChipEpochHost(problem, config, run)
    assert host.targets.tolist() == (x @ w).tolist()
    model = host.make_model()
    model.center = w.copy()
    model.exponent = -9
    model.full_gradient()
    assert model.sum_of_squares == 0 and model.exponent == -9
    assert model.grad.tolist() == [0, 0]
    model.run(10)
    model.update_center()
    assert model.z.tolist() == [0, 0] and model.center.tolist() == w.tolist()


@pytest.fixture(scope="module")
def paper_runs():
    problem = paper_linreg(1000, 100, 0)
    step = default_step_size(problem)
    runs = {}
    for gradient_bits in (0, 20):
        config = HardwareConfig(lanes=8, d_max=100, n_max=1000, gradient_data_bits=gradient_bits)
        run = HardwareRun(step_size=step, mu=default_mu(problem, 8),
                          epoch_length=default_epoch_length(problem, step), epochs=20,
                          full_gradient="accelerator")
        runs[gradient_bits] = run_backend("model", problem, config, run).trace
    return problem, runs


def test_8_bit_halp_reaches_the_floor_of_8_bit_data(paper_runs):
    problem, runs = paper_runs
    floor = quantization_floor(problem, 8).rel_subopt
    # near w_q*, not at it: the last center may sit a little below or above the floor
    assert floor / 2 <= runs[0].rel_subopt[-1] <= 2 * floor
    assert sum(runs[0].saturations) == 0


def test_a_20_bit_copy_for_the_pass_reaches_1e_10(paper_runs):
    problem, runs = paper_runs
    assert min(runs[20].rel_subopt) <= 1e-10
    floor = quantization_floor(problem, 20).rel_subopt
    assert floor / 2 <= runs[20].rel_subopt[-1] <= 2 * floor


def test_bad_full_gradient_source_is_refused():
    problem, config, run = _small_run(full_gradient="gpu")
    with pytest.raises(HalpInputError, match="full gradient must be one of host, accelerator"):
        make_host(problem, config, run)


def test_targets_that_do_not_fit_are_refused():
    problem, config, run = _small_run()
    with pytest.raises(HalpInputError, match="raise center_exponent"):
        OnChipEpochHost(problem, config, dataclasses.replace(run, center_exponent=-60))
    assert isinstance(make_host(problem, config, run), OnChipEpochHost)


SMALL_CLI = ["--n", "60", "--d", "10", "--lanes", "4", "--epochs", "3", "--epoch-length", "60",
             "--seed", "1", "--full-gradient", "accelerator"]


def test_simulate_reports_the_epoch_on_chip(tmp_path, capsys):
    assert main(["simulate", *SMALL_CLI, "--clock-mhz", "50", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    model, config = results["performance"], HardwareConfig(lanes=4, d_max=10, n_max=60)
    cost = epoch_cost(config, MemoryTiming(), 60, 10, 60)
    assert model["epoch_phases"] == dataclasses.asdict(cost)
    assert [e["cycles"] for e in results["epochs"]] == [cost.cycles] * 3
    assert results["totals"]["cycles_match_model"]
    # end to end is the accelerator's cycles alone: no host time per epoch
    assert model["modeled_run_seconds"] == pytest.approx(3 * cost.cycles / 50e6)
    floor = quantization_floor(paper_linreg(60, 10, 1), 8)
    assert results["accuracy"]["floor"]["rel_subopt"] == floor.rel_subopt
    assert results["configuration"]["full_gradient"] == "accelerator"
    assert "whole epoch on chip" in capsys.readouterr().out


@pytest.mark.parametrize("command, args, message", [
    ("simulate", ["--problem", "svm"], "implements least squares and logistic regression"),
    ("simulate", ["--gradient-data-bits", "30"], "gradient_data_bits must be an integer in 2..24"),
    ("simulate", ["--center-bits", "8"], "center_bits must be an integer in 16..48"),
    ("simulate", ["--center-exponent", "-80"], "raise center_exponent or center_bits"),
    ("verify", ["--center-bits", "60"], "center_bits must be an integer in 16..48"),
])
def test_bad_epoch_options_exit_2_with_one_line(tmp_path, capsys, command, args, message):
    assert main([command, *SMALL_CLI, "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"halp-hw {command}: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "results.json").exists()


def test_constants_out_of_the_exponent_range_are_refused():
    with pytest.raises(HalpInputError, match="scale bound K .* outside the 10-bit range"):
        Constant.of(2.0 ** 600, name="scale bound K")
    assert Constant.of(2.0 ** 500).exponent == 500 - 31


def test_an_l2_term_beyond_the_accumulator_is_refused():
    """acc_width 57 (4 lanes, d_max 10, n_max 60): wc * LAMBDA < 2**(31 + 32 + e) must stay
    below 2**55, so e = -8 is the largest exponent allowed."""
    widths = PassWidths.of(HardwareConfig(lanes=4, d_max=10, n_max=60))
    assert widths.acc_width == 57

    def constants(exponent):
        return PassConstants(-5, -20, Constant(1 << 31, exponent), Constant(1 << 31, -40),
                             Constant(1 << 31, 0))

    constants(-8).check_l2_term(widths, 32)
    with pytest.raises(HalpInputError, match="L2 weight is too large"):
        constants(-7).check_l2_term(widths, 32)
