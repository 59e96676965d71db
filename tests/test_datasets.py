"""scikit-learn's bundled sets as problems: split, standardization, labels, and the test metric
of converged solvers against scikit-learn's own solution of the same objective."""

import numpy as np
import pytest
from sklearn import datasets as sk_datasets

from halp_hw.golden.datasets import (DATASETS, TEST_FRACTION, Holdout, load_sklearn_dataset,
                                     read_problem, save_problem, sklearn_test_metric)
from halp_hw.golden.separability import is_separable, require_finite_optimum
from halp_hw.golden.solvers import make_solvers
from halp_hw.golden.validation import HalpInputError


@pytest.mark.parametrize("name, rows, features", [
    ("diabetes", 442, 10), ("breast_cancer", 569, 30), ("digits", 1797, 64)])
def test_split_sizes_and_intercept_column(name, rows, features):
    problem, description = load_sklearn_dataset(name, "linreg", seed=0)
    test_rows = int(np.ceil(TEST_FRACTION * rows))
    assert problem.n == rows - test_rows and problem.holdout.X.shape[0] == test_rows
    assert np.all(problem.X[:, -1] == 1.0) and np.all(problem.holdout.X[:, -1] == 1.0)
    assert problem.d <= features + 1
    assert f"{problem.n} training rows, {test_rows} held out (20%, seed 0)" in description


def test_features_are_standardized_on_the_training_part_and_constant_ones_dropped():
    problem, description = load_sklearn_dataset("digits", "logreg", l2=1e-3, seed=0)
    features = problem.X[:, :-1]
    np.testing.assert_allclose(features.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(features.std(axis=0), 1.0, rtol=1e-12)
    raw = sk_datasets.load_digits().data
    constant = int((raw.std(axis=0) == 0).sum())  # pixels blank in every image
    assert problem.d - 1 <= 64 - constant
    assert "standardized features" in description and "constant features dropped" in description


def test_raw_features_keep_the_loaders_values():
    problem, description = load_sklearn_dataset("diabetes", "linreg", seed=0, standardize=False)
    raw = sk_datasets.load_diabetes(scaled=False)
    assert {tuple(row) for row in problem.X[:, :-1]} <= {tuple(row) for row in raw.data}
    assert "raw features (--no-standardize)" in description


@pytest.mark.parametrize("problem_name, labels", [
    ("logreg", {0.0, 1.0}), ("svm", {-1.0, 1.0}), ("linreg", {-1.0, 1.0})])
def test_classification_labels_follow_the_problems_convention(problem_name, labels):
    problem, _ = load_sklearn_dataset("breast_cancer", problem_name, l2=0.01, seed=0)
    assert set(np.unique(problem.y)) == labels
    assert set(np.unique(problem.holdout.y)) == labels
    assert problem.holdout.metric == "accuracy"


def test_digits_is_odd_against_even_and_the_split_is_stratified_and_seeded():
    problem, _ = load_sklearn_dataset("digits", "svm", l2=0.01, seed=3)
    target = sk_datasets.load_digits().target
    odd = np.mean(target % 2 == 1)
    assert np.mean(problem.y == 1) == pytest.approx(odd, abs=0.005)
    assert np.mean(problem.holdout.y == 1) == pytest.approx(odd, abs=0.01)
    again, _ = load_sklearn_dataset("digits", "svm", l2=0.01, seed=3)
    other, _ = load_sklearn_dataset("digits", "svm", l2=0.01, seed=4)
    assert np.array_equal(again.X, problem.X) and not np.array_equal(other.X, problem.X)
    assert "odd" in DATASETS["digits"].positive


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "iris"}, "dataset must be one of diabetes, breast_cancer, digits, not 'iris'"),
    ({"name": "diabetes", "problem": "logreg"},
     "dataset diabetes is a regression set: use --problem linreg, not logreg"),
    ({"name": "diabetes", "problem": "huber"}, "problem must be one of linreg, logreg, svm"),
    ({"name": "diabetes", "seed": -1}, "seed must be an integer in 0..4294967295, not -1"),
])
def test_bad_arguments_are_one_line_errors(kwargs, message):
    with pytest.raises(HalpInputError, match=message):
        load_sklearn_dataset(**kwargs)


def test_holdout_metrics():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    accuracy = Holdout(X, np.array([1.0, -1.0, 1.0, -1.0]), "accuracy")
    assert accuracy.evaluate(np.array([1.0, -2.0])) == 0.75  # x . w: 1, -2, -1, -1
    rmse = Holdout(X, np.array([1.0, 2.0, 3.0, 0.0]), "rmse")
    assert rmse.evaluate(np.array([1.0, 1.0])) == pytest.approx(np.sqrt((0 + 1 + 1 + 1) / 4))
    assert np.isnan(rmse.evaluate(np.array([np.inf, 0.0])))


def test_saved_problem_reads_back_with_its_holdout(tmp_path):
    problem, _ = load_sklearn_dataset("breast_cancer", "svm", l2=0.01, seed=0)
    save_problem(problem, tmp_path / "p.npz")
    back = read_problem(tmp_path / "p.npz")
    assert (back.name, back.l2) == ("svm", 0.01)
    assert np.array_equal(back.X, problem.X) and np.array_equal(back.y, problem.y)
    assert back.holdout.metric == "accuracy"
    assert np.array_equal(back.holdout.X, problem.holdout.X)


# -- refusals ------------------------------------------------------------------------
def test_separability_is_decided_by_the_lp():
    X = np.array([[1.0, 0.0], [2.0, 1.0], [-1.0, 0.5], [-2.0, -1.0]])
    assert is_separable(X, np.array([1.0, 1.0, -1.0, -1.0]))
    assert not is_separable(X, np.array([1.0, -1.0, 1.0, -1.0]))  # XOR-like: no line


@pytest.mark.parametrize("problem_name", ["logreg", "svm"])
def test_classifiers_without_l2_on_separable_data_are_refused(problem_name):
    problem, _ = load_sklearn_dataset("breast_cancer", problem_name, seed=0)
    with pytest.raises(HalpInputError,
                       match=f"{problem_name} without L2 on breast_cancer: the training data are "
                             "linearly separable.*; add --l2 \\(e.g. --l2 0.0022"):
        require_finite_optimum(problem, "breast_cancer")
    regularized, _ = load_sklearn_dataset("breast_cancer", problem_name, l2=1e-3, seed=0)
    require_finite_optimum(regularized, "breast_cancer")


# -- against scikit-learn -------------------------------------------------------------------------
#: The docs' runs (diabetes; --l2 0.0022 for the classifiers) take 100-600 epochs of 4 passes;
#: a larger L2 is better conditioned and converges in a few, for a test that can run every time.
@pytest.mark.parametrize("name, problem_name, l2, epochs", [
    ("diabetes", "linreg", 0.0, 80), ("diabetes", "linreg", 0.05, 40),
    ("breast_cancer", "logreg", 0.02, 40), ("breast_cancer", "svm", 0.05, 40)])
def test_halp_with_defaults_matches_scikit_learns_test_metric(name, problem_name, l2, epochs):
    problem, _ = load_sklearn_dataset(name, problem_name, l2=l2, seed=0)
    start = problem.suboptimality(np.zeros(problem.d))
    halp = make_solvers(problem, bits=8)["halp"]
    for epoch, state in enumerate(halp.iterates(problem, epochs)):
        if problem.suboptimality(state.w) <= 1e-8 * start:  # the metric has settled long before
            break
    assert epoch < epochs
    reference = sklearn_test_metric(problem)
    ours = problem.holdout.evaluate(state.w)
    if problem.holdout.metric == "rmse":
        assert abs(ours - reference) <= 0.01 * reference
    else:
        assert abs(ours - reference) <= 0.005
    assert problem.holdout.evaluate(problem.optimum) == pytest.approx(reference, rel=1e-3)
