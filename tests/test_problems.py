"""The problems: gradients against finite differences, optima against first principles."""

import numpy as np
import pytest
import scipy.optimize

from halp_hw.golden.problems import (LeastSquares, LogisticRegression, SquaredHingeSVM,
                                     make_problem, squared_hinge_derivative)
from halp_hw.golden.validation import HalpInputError


def random_data(n=40, d=5, seed=0, logistic=False, svm=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    if logistic or svm:
        y = (rng.random(n) < 1 / (1 + np.exp(-X @ w / 2))).astype(float)
        if svm:
            y = 2 * y - 1
    else:
        y = X @ w + 0.3 * rng.standard_normal(n)
    return X, y


PROBLEM_CASES = [
    pytest.param("linreg", 0.0, id="linreg"),
    pytest.param("linreg", 0.1, id="linreg-l2"),
    pytest.param("logreg", 0.0, id="logreg"),
    pytest.param("logreg", 0.05, id="logreg-l2"),
    pytest.param("svm", 0.0, id="svm"),
    pytest.param("svm", 0.05, id="svm-l2"),
]


def build(name, l2, seed=0):
    X, y = random_data(seed=seed, logistic=name == "logreg", svm=name == "svm")
    return make_problem(name, X, y, l2)


def sample_loss(problem, w, i):
    """``f_i(w)`` written out from HALP.md, independent of the code under test."""
    a = problem.X[i] @ w
    if problem.name == "linreg":
        value = 0.5 * (a - problem.y[i]) ** 2
    elif problem.name == "svm":
        value = 0.5 * max(0.0, 1.0 - problem.y[i] * a) ** 2
    else:
        value = np.log1p(np.exp(a)) - problem.y[i] * a
    return value + 0.5 * problem.l2 * w @ w


def numerical_gradient(function, w, step=1e-6):
    return np.array([(function(w + step * e) - function(w - step * e)) / (2 * step)
                     for e in np.eye(w.size)])


@pytest.mark.parametrize("name, l2", PROBLEM_CASES)
def test_sample_gradient_matches_finite_differences(name, l2):
    problem = build(name, l2)
    w = np.random.default_rng(1).standard_normal(problem.d)
    for i in (0, 7, problem.n - 1):
        expected = numerical_gradient(lambda v: sample_loss(problem, v, i), w)
        np.testing.assert_allclose(problem.sample_gradient(w, i), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name, l2", PROBLEM_CASES)
def test_loss_and_full_gradient_are_the_means_of_the_samples(name, l2):
    problem = build(name, l2)
    w = np.random.default_rng(2).standard_normal(problem.d)
    assert problem.loss(w) == pytest.approx(
        np.mean([sample_loss(problem, w, i) for i in range(problem.n)]), rel=1e-12)
    np.testing.assert_allclose(
        problem.full_gradient(w),
        np.mean([problem.sample_gradient(w, i) for i in range(problem.n)], axis=0),
        rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, l2", PROBLEM_CASES)
def test_optimum_is_stationary_and_matches_a_generic_minimizer(name, l2):
    problem = build(name, l2)
    w_star = problem.optimum
    assert np.linalg.norm(problem.full_gradient(w_star)) < 1e-12
    reference = scipy.optimize.minimize(problem.loss, np.zeros(problem.d),
                                        jac=problem.full_gradient, method="BFGS",
                                        options={"gtol": 1e-11}).x
    np.testing.assert_allclose(w_star, reference, rtol=1e-5, atol=1e-6)
    assert problem.optimal_loss <= problem.loss(reference) + 1e-15


def test_least_squares_optimum_solves_the_normal_equations():
    X, y = random_data()
    for l2 in (0.0, 0.2):
        w = LeastSquares(X, y, l2).optimum
        A = X.T @ X / len(y) + l2 * np.eye(X.shape[1])
        np.testing.assert_allclose(A @ w, X.T @ y / len(y), rtol=1e-12, atol=1e-13)


def test_rank_deficient_least_squares_picks_the_minimum_norm_optimum():
    X, y = random_data(n=3, d=6)
    w = LeastSquares(X, y).optimum
    np.testing.assert_allclose(w, np.linalg.pinv(X) @ y, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, l2", PROBLEM_CASES)
def test_suboptimality_is_the_loss_gap_and_never_negative(name, l2):
    problem = build(name, l2)
    w = problem.optimum + 0.1 * np.random.default_rng(3).standard_normal(problem.d)
    assert problem.suboptimality(w) == pytest.approx(problem.loss(w) - problem.optimal_loss,
                                                     rel=1e-9)
    assert problem.suboptimality(problem.optimum) == pytest.approx(0.0, abs=1e-15)
    assert problem.suboptimality(problem.optimum) >= 0.0


def test_least_squares_suboptimality_is_exact_far_below_the_loss_rounding():
    """``1/2 e'He`` keeps relative accuracy where ``f(w) - f*`` would be all rounding error."""
    problem = build("linreg", 0.0)
    e = 1e-12 * np.ones(problem.d)
    expected = 0.5 * np.mean((problem.X @ e) ** 2)
    assert problem.suboptimality(problem.optimum + e) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_logistic_suboptimality_is_exact_far_below_the_loss_rounding(l2):
    """Near w*, f(w) - f* is the quadratic form 1/2 e'He up to third-order terms."""
    problem = build("logreg", l2)
    e = 1e-9 * np.random.default_rng(4).standard_normal(problem.d)
    expected = 0.5 * e @ problem.hessian(problem.optimum) @ e
    assert problem.suboptimality(problem.optimum + e) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name, l2", PROBLEM_CASES)
def test_hessian_extremes_are_the_eigenvalues_of_the_finite_difference_hessian(name, l2):
    problem = build(name, l2)
    hessian = numerical_gradient(problem.full_gradient, problem.optimum, step=1e-5)
    eig = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    low, high = problem.hessian_extremes
    assert low == pytest.approx(eig[0], rel=1e-5)
    assert high == pytest.approx(eig[-1], rel=1e-5)
    assert low > 0


def test_logistic_regression_rejects_non_binary_labels():
    X, y = random_data()
    with pytest.raises(HalpInputError,
                       match="y must hold logistic labels 0 or 1 for problem logreg"):
        LogisticRegression(X, y)


@pytest.mark.parametrize("X, y, message", [
    (np.ones((4, 2)), np.ones(3), r"y must have one entry per row of X: X has 4 rows, y has 3"),
    (np.ones(4), np.ones(4), r"X must be a 2-D array, got shape \(4,\)"),
    (np.ones((4, 2)), np.ones((4, 1)), r"y must be a 1-D array, got shape \(4, 1\)"),
    (np.ones((0, 2)), np.ones(0), r"X is empty \(shape \(0, 2\)\)"),
    (np.ones((4, 0)), np.ones(4), r"X is empty \(shape \(4, 0\)\)"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones(2),
     r"X contains 1 NaN/inf value\(s\), first at index \(0, 1\); all values must be finite"),
    (np.ones((2, 2)), np.array([1.0, np.inf]),
     r"y contains 1 NaN/inf value\(s\), first at index \(1,\)"),
])
@pytest.mark.parametrize("name", ["linreg", "logreg"])
def test_bad_data_is_rejected_with_a_message_naming_it(name, X, y, message):
    with pytest.raises(HalpInputError, match=message):
        make_problem(name, X, y)


@pytest.mark.parametrize("l2", [-0.1, float("nan"), float("inf")])
def test_bad_l2_is_rejected(l2):
    X, y = random_data()
    with pytest.raises(HalpInputError, match="l2 must be a finite number >= 0"):
        make_problem("linreg", X, y, l2)


def test_unknown_problem_is_rejected():
    X, y = random_data()
    with pytest.raises(HalpInputError,
                       match="problem must be one of linreg, logreg, svm, not 'huber'"):
        make_problem("huber", X, y)


def test_svm_rejects_labels_other_than_plus_minus_one():
    X, y = random_data(logistic=True)
    with pytest.raises(HalpInputError, match="y must hold SVM labels -1 or \\+1 for problem svm"):
        SquaredHingeSVM(X, y)


@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_svm_optimum_matches_scikit_learns_squared_hinge_svc(l2):
    """LinearSVC minimizes 1/2 ||w||^2 + C sum max(0, 1 - y x.w)^2: C = 1 / (2 N l2)."""
    from sklearn.svm import LinearSVC

    X, y = random_data(n=200, d=6, svm=True)
    problem = SquaredHingeSVM(X, y, l2 or 1e-3)
    reference = LinearSVC(C=1 / (2 * problem.n * problem.l2), loss="squared_hinge",
                          fit_intercept=False, dual=False, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(problem.optimum, reference.coef_[0], rtol=1e-6, atol=1e-8)


def test_svm_suboptimality_is_exact_far_below_the_loss_rounding():
    """Near w* (no sample on the margin), f(w) - f* is exactly 1/2 e'He: the loss is quadratic."""
    problem = build("svm", 0.05)
    e = 1e-10 * np.random.default_rng(4).standard_normal(problem.d)
    expected = 0.5 * e @ problem.hessian(problem.optimum) @ e
    assert problem.suboptimality(problem.optimum + e) == pytest.approx(expected, rel=1e-8)


def test_svm_suboptimality_across_the_margin_is_the_loss_gap():
    problem = build("svm", 0.05)
    for scale in (0.5, 2.0, 10.0):
        w = problem.optimum + scale * np.random.default_rng(5).standard_normal(problem.d)
        assert problem.suboptimality(w) == pytest.approx(problem.loss(w) - problem.optimal_loss,
                                                         rel=1e-10)


def test_squared_hinge_derivative_is_the_compiled_kernel_of_the_residual():
    problem = build("svm", 0.0)
    margins = np.random.default_rng(6).standard_normal(problem.n) * 2
    assert SquaredHingeSVM.loss_derivative is squared_hinge_derivative
    for a, y, residual in zip(margins, problem.y, problem.residual(margins, slice(None))):
        assert squared_hinge_derivative(a, y) == residual == (-y * (1 - y * a) if y * a < 1 else 0)
    assert squared_hinge_derivative(0.5, 1.0) == -0.5
    assert squared_hinge_derivative(0.5, -1.0) == 1.5
    assert squared_hinge_derivative(2.0, 1.0) == 0.0
