"""Data sets: the synthetic generators and the user-file loader with its error messages."""

import numpy as np
import pytest

from halp_hw.golden.data import load_dataset, paper_linreg, synthetic_logreg
from halp_hw.golden.problems import LeastSquares, LogisticRegression
from halp_hw.golden.validation import HalpInputError


def test_paper_linreg_is_a_noisy_linear_model_of_the_paper_size():
    problem = paper_linreg(seed=4)
    assert isinstance(problem, LeastSquares)
    assert (problem.n, problem.d) == (1000, 100)
    # y = X w_true + 0.1 noise: the least-squares residual has the noise's size, the mean of
    # 1/2 r^2 is about 1/2 * 0.01 * (1 - d/n).
    assert 0.5 * 0.01 * 0.9 * 0.8 < problem.optimal_loss < 0.5 * 0.01 * 0.9 * 1.2
    assert problem.hessian_extremes[0] > 0


def test_generators_are_reproducible_and_seed_dependent():
    a, b, c = paper_linreg(50, 4, seed=1), paper_linreg(50, 4, seed=1), paper_linreg(50, 4, seed=2)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    np.testing.assert_array_equal(synthetic_logreg(50, 4, seed=1).y,
                                  synthetic_logreg(50, 4, seed=1).y)


def test_synthetic_logreg_has_noisy_binary_labels_and_a_finite_optimum():
    problem = synthetic_logreg(seed=0)
    assert isinstance(problem, LogisticRegression)
    assert set(np.unique(problem.y)) == {0.0, 1.0}
    assert 0.3 < problem.y.mean() < 0.7
    # Not separable: the optimum is finite and stationary.
    assert np.linalg.norm(problem.optimum) < 10
    assert np.linalg.norm(problem.full_gradient(problem.optimum)) < 1e-12


@pytest.mark.parametrize("make, message", [
    (lambda: paper_linreg(n=0), r"n must be an integer >= 1, not 0"),
    (lambda: paper_linreg(d=-1), r"d must be an integer >= 1, not -1"),
    (lambda: paper_linreg(noise=0.0), r"noise must be a finite number > 0, not 0\.0"),
    (lambda: synthetic_logreg(seed=-5), r"seed must be an integer >= 0, not -5"),
    (lambda: synthetic_logreg(l2=-1.0), r"l2 must be a finite number >= 0, not -1\.0"),
])
def test_generator_arguments_are_checked(make, message):
    with pytest.raises(HalpInputError, match=message):
        make()


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    return X, (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(float)


def write_csv(path, X, y, header=None):
    lines = [header] if header else []
    lines += [",".join(repr(float(v)) for v in row) for row in np.column_stack([X, y])]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("problem", ["linreg", "logreg"])
def test_npz_round_trip(tmp_path, data, problem):
    X, y = data
    np.savez(tmp_path / "d.npz", X=X, y=y)
    loaded = load_dataset(tmp_path / "d.npz", problem, l2=0.1)
    np.testing.assert_array_equal(loaded.X, X)
    np.testing.assert_array_equal(loaded.y, y)
    assert (loaded.name, loaded.l2) == (problem, 0.1)


@pytest.mark.parametrize("header", [None, "a,b,c,label"])
def test_csv_round_trip_with_and_without_header(tmp_path, data, header):
    X, y = data
    loaded = load_dataset(write_csv(tmp_path / "d.csv", X, y, header), "logreg")
    np.testing.assert_array_equal(loaded.X, X)
    np.testing.assert_array_equal(loaded.y, y)


def expect_error(path, problem, message):
    with pytest.raises(HalpInputError) as error:
        load_dataset(path, problem)
    text = str(error.value)
    assert "\n" not in text
    assert text.startswith(f"data file {path} (problem {problem}): ")
    assert message in text, text


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.csv", "linreg", "does not exist or is not a file")


def test_unknown_suffix(tmp_path):
    (tmp_path / "d.txt").write_text("1,2\n")
    expect_error(tmp_path / "d.txt", "linreg", "must be one of .npz, .csv, not .txt")


def test_npz_without_y(tmp_path, data):
    np.savez(tmp_path / "d.npz", X=data[0], labels=data[1])
    expect_error(tmp_path / "d.npz", "linreg", "needs arrays X and y; missing y (found: X, labels)")


def test_corrupt_npz(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"not a zip file")
    with pytest.raises(HalpInputError, match=r"data file .*d\.npz \(problem linreg\): "):
        load_dataset(tmp_path / "d.npz")


def test_npz_with_mismatched_shapes(tmp_path, data):
    np.savez(tmp_path / "d.npz", X=data[0], y=data[1][:-1])
    expect_error(tmp_path / "d.npz", "linreg",
                 "y must have one entry per row of X: X has 20 rows, y has 19 entries")


def test_npz_with_nan(tmp_path, data):
    X = data[0].copy()
    X[3, 1] = np.nan
    np.savez(tmp_path / "d.npz", X=X, y=data[1])
    expect_error(tmp_path / "d.npz", "logreg",
                 "X contains 1 NaN/inf value(s), first at index (3, 1); all values must be finite")


def test_npz_with_empty_arrays(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((0, 3)), y=np.zeros(0))
    expect_error(tmp_path / "d.npz", "linreg", "X is empty (shape (0, 3))")


def test_empty_csv(tmp_path):
    (tmp_path / "d.csv").write_text("")
    expect_error(tmp_path / "d.csv", "linreg", "has no data rows; at least one sample is needed")


def test_csv_with_only_a_header(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,y\n")
    expect_error(tmp_path / "d.csv", "linreg", "has no data rows")


def test_csv_with_one_column(tmp_path):
    (tmp_path / "d.csv").write_text("1\n2\n")
    expect_error(tmp_path / "d.csv", "linreg",
                 "needs at least 2 columns (features, then y), found 1")


def test_ragged_csv(tmp_path):
    (tmp_path / "d.csv").write_text("1,2,3\n4,5\n")
    expect_error(tmp_path / "d.csv", "linreg", "is not a numeric CSV table")


def test_csv_with_inf(tmp_path, data):
    X, y = data
    y = y.copy()
    y[5] = np.inf
    expect_error(write_csv(tmp_path / "d.csv", X, y), "linreg",
                 "y contains 1 NaN/inf value(s), first at index (5,)")


def test_csv_with_non_binary_labels_for_logreg(tmp_path, data):
    X, _ = data
    expect_error(write_csv(tmp_path / "d.csv", X, np.arange(20.0)), "logreg",
                 "y must hold logistic labels 0 or 1 for problem logreg")
