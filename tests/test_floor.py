"""The accuracy floor of quantized data: a case checked by hand and the paper problem's floors."""

import numpy as np
import pytest

from halp_hw.golden.data import paper_linreg, synthetic_logreg
from halp_hw.golden.floor import quantization_floor
from halp_hw.golden.problems import LeastSquares
from halp_hw.golden.validation import HalpInputError


def test_one_feature_by_hand():
    """X = (1, 0.3), y = (1, 0): w* = 1 / 1.09 and f(w) - f* = (1.09 / 4) (w - w*)**2, so the
    floor of an optimum w_q is ((w_q - w*) / w*)**2 = (1.09 w_q - 1)**2."""
    problem = LeastSquares(np.array([[1.0], [0.3]]), np.array([1.0, 0.0]))
    # 2 bits: grid 1 (qmax 1 covers 1.0), X_q = (1, 0), w_q = 1.
    two = quantization_floor(problem, 2)
    assert two.data_exponent == 0
    assert two.rel_subopt == pytest.approx(0.09 ** 2, rel=1e-12)
    assert two.dist == pytest.approx(1 - 1 / 1.09, rel=1e-12)
    # 3 bits: grid 1/2 (qmax 3 x 1/2 covers 1.0), X_q = (1, 0.5), w_q = 1 / 1.25 = 0.8.
    three = quantization_floor(problem, 3)
    assert three.data_exponent == -1
    assert three.rel_subopt == pytest.approx((1.09 * 0.8 - 1) ** 2, rel=1e-12)
    assert three.subopt == pytest.approx(1.09 / 4 * (0.8 - 1 / 1.09) ** 2, rel=1e-12)


def test_exact_data_have_no_floor():
    problem = LeastSquares(np.array([[1.0, 0.5], [-0.25, 2.0], [0.75, -1.0]]),
                           np.array([1.0, 2.0, 3.0]))
    floor = quantization_floor(problem, 8)  # every entry is a multiple of the grid 2**-5
    assert floor.data_exponent == -5
    assert floor.rel_subopt == 0.0 and floor.dist == 0.0


@pytest.fixture(scope="module")
def paper():
    return paper_linreg(1000, 100, 0)


@pytest.mark.parametrize("data_bits, printed", [(8, "3.3e-05"), (12, "1.1e-07"),
                                                (16, "5.1e-10"), (20, "1.8e-12")])
def test_paper_problem_floors(paper, data_bits, printed):
    """The floors the design targets state for the paper problem, to their printed precision."""
    assert f"{quantization_floor(paper, data_bits).rel_subopt:.2g}" == printed


def test_floor_falls_with_width(paper):
    floors = [quantization_floor(paper, bits).rel_subopt for bits in range(4, 25, 2)]
    assert all(later < earlier for earlier, later in zip(floors, floors[1:]))


def test_logistic_regression_has_a_floor_too():
    problem = synthetic_logreg(300, 10, 1)
    coarse, fine = quantization_floor(problem, 6), quantization_floor(problem, 14)
    assert 0 < fine.rel_subopt < coarse.rel_subopt < 1


@pytest.mark.parametrize("data_bits", [1, 54, 8.0])
def test_width_out_of_range_is_refused(paper, data_bits):
    with pytest.raises(HalpInputError, match="data_bits must be an integer in 2..53"):
        quantization_floor(paper, data_bits)
