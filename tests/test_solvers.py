"""The five solvers: the paper figure's claims, shared sample order, and loops checked by hand."""

import math

import numpy as np
import pytest

from halp_hw.golden.data import paper_linreg, synthetic_logreg
from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.prng import SampleOrder
from halp_hw.golden.defaults import default_epoch_length, default_mu, default_step_size
from halp_hw.golden.solvers import (HALP, SGD, SOLVER_KEYS, SVRG, LowPrecisionSGD, LowPrecisionSVRG,
                                    bit_centering_scale, epochs_to_reach, make_solvers)
from halp_hw.golden.problems import LeastSquares
from halp_hw.golden.validation import HalpInputError

PAPER_EPOCHS = 40
TARGET = 1e-12


@pytest.fixture(scope="module")
def paper_problem():
    return paper_linreg(seed=0)


@pytest.fixture(scope="module")
def paper_traces(paper_problem):
    """All five solvers on the paper's problem with the documented defaults, 8 bits, 40 epochs."""
    solvers = make_solvers(paper_problem, bits=8)
    return {key: solver.run(paper_problem, PAPER_EPOCHS, seed=0) for key, solver in solvers.items()}


def small_linreg(seed=0):
    return paper_linreg(n=60, d=6, seed=seed)


# -- the paper figure (issue 2, done-when) --------------------------------------------------------
def test_svrg_reaches_1e_12_and_8_bit_halp_follows_within_1_5x_the_epochs(paper_traces):
    svrg = epochs_to_reach(paper_traces["svrg"], TARGET)
    halp = epochs_to_reach(paper_traces["halp"], TARGET)
    assert svrg is not None and svrg <= PAPER_EPOCHS
    assert halp is not None and halp <= math.ceil(1.5 * svrg)


@pytest.mark.parametrize("key", ["lp_sgd", "lp_svrg"])
def test_8_bit_lp_sgd_and_lp_svrg_stall_above_1e_6(paper_traces, key):
    assert min(paper_traces[key].rel_subopt) > 1e-6


def test_sgd_stalls_at_its_variance_floor(paper_traces):
    assert epochs_to_reach(paper_traces["sgd"], 1e-8) is None


def test_halp_grid_with_the_default_mu_never_saturates(paper_traces):
    assert sum(paper_traces["halp"].saturations) == 0


def test_all_solvers_share_the_step_size_and_epoch_length(paper_traces, paper_problem):
    assert list(paper_traces) == list(SOLVER_KEYS)
    for trace in paper_traces.values():
        assert trace.hyperparameters["step_size"] == default_step_size(paper_problem)
        assert trace.hyperparameters["epoch_length"] == paper_problem.n
        assert trace.hyperparameters["seed"] == 0


# -- trace contents --------------------------------------------------------------------------------
def test_traces_start_at_w_0_and_have_one_entry_per_epoch(paper_traces, paper_problem):
    f0 = paper_problem.suboptimality(np.zeros(paper_problem.d))
    for trace in paper_traces.values():
        for column in (trace.subopt, trace.rel_subopt, trace.dist, trace.scale, trace.saturations):
            assert len(column) == PAPER_EPOCHS + 1
        assert trace.subopt[0] == f0
        assert trace.rel_subopt[0] == 1.0
        assert trace.dist[0] == pytest.approx(np.linalg.norm(paper_problem.optimum))
        assert trace.saturations[0] == 0
        np.testing.assert_allclose(trace.rel_subopt, np.array(trace.subopt) / f0, rtol=1e-15)


def test_scales_full_precision_none_lp_fixed_halp_bit_centered(paper_traces, paper_problem):
    mu = default_mu(paper_problem)
    first_scale = np.linalg.norm(paper_problem.full_gradient(np.zeros(paper_problem.d))) / (
        mu * (2**7 - 1))
    assert paper_traces["sgd"].scale == [None] * (PAPER_EPOCHS + 1)
    assert paper_traces["svrg"].scale == [None] * (PAPER_EPOCHS + 1)
    for key in ("lp_sgd", "lp_svrg"):
        assert paper_traces[key].scale == [pytest.approx(first_scale)] * (PAPER_EPOCHS + 1)
    halp = paper_traces["halp"].scale
    assert halp[0] == pytest.approx(first_scale)
    # Bit centering: the grid shrinks with the gradient, by orders of magnitude.
    assert halp[-1] < 1e-10 * halp[0]


def test_epochs_to_reach_finds_the_first_epoch_at_or_below(paper_traces):
    trace = paper_traces["svrg"]
    k = epochs_to_reach(trace, TARGET)
    assert trace.rel_subopt[k] <= TARGET < min(trace.rel_subopt[:k])
    assert epochs_to_reach(trace, 0.0) is None


# -- every loop against a hand-written reference from HALP.md ------------------------------------
def stochastic_round(x, scale, bits, rng):
    low, high = int_range(bits)
    return scale * np.clip(np.floor(x / scale + rng.random(x.shape)), low, high)


def reference_epoch(problem, key, alpha, seed, bits=8, scale=None, mu=None):
    """One epoch of ``key`` from w = 0, written out from HALP.md."""
    X, y = problem.X, problem.y
    order = SampleOrder(problem.n, seed)
    rng = np.random.default_rng(seed)
    w = np.zeros(problem.d)
    full = X.T @ (X @ w - y) / problem.n
    if key == "halp":
        scale = np.linalg.norm(full) / (mu * (2 ** (bits - 1) - 1))
    for _ in range(problem.n):
        i = order.next()
        grad_i = X[i] * (X[i] @ w - y[i])
        anchor_i = X[i] * (X[i] @ np.zeros(problem.d) - y[i])
        if key in ("sgd", "lp_sgd"):
            w = w - alpha * grad_i
        else:
            w = w - alpha * (grad_i - anchor_i + full)
        if key in ("lp_sgd", "lp_svrg", "halp"):  # HALP's center is w~ = 0 in epoch 1: z = w
            w = stochastic_round(w, scale, bits, rng)
    return w


@pytest.mark.parametrize("key", SOLVER_KEYS)
def test_first_epoch_matches_the_reference_loop(key):
    problem = small_linreg()
    alpha, mu, seed = 0.01, 3.0, 7
    solver = make_solvers(problem, step_size=alpha, epoch_length=problem.n, bits=6, mu=mu)[key]
    scale = solver.hyperparameters().get("scale")
    states = list(solver.iterates(problem, 1, seed))
    expected = reference_epoch(problem, key, alpha, seed, bits=6, scale=scale, mu=mu)
    np.testing.assert_allclose(states[1].w, expected, rtol=1e-12, atol=1e-14)


def test_halp_recenters_each_epoch_on_the_new_snapshot():
    """Epoch 2 of HALP is epoch 1's loop around w~_1 with the scale of grad f(w~_1)."""
    problem = small_linreg()
    alpha, mu, bits, seed = 0.01, 3.0, 6, 3
    states = list(HALP(step_size=alpha, bits=bits, mu=mu).iterates(problem, 2, seed))
    center = states[1].w
    X = problem.X
    order = SampleOrder(problem.n, seed)
    order.take(problem.n)
    rng = np.random.default_rng(seed)
    rng.random((problem.n, problem.d))  # epoch 1's rounding draws
    full = problem.full_gradient(center)
    scale = np.linalg.norm(full) / (mu * (2 ** (bits - 1) - 1))
    z = np.zeros(problem.d)
    for _ in range(problem.n):
        i = order.next()
        u = X[i] * (X[i] @ z) + full
        z = stochastic_round(z - alpha * u, scale, bits, rng)
    assert states[2].scale == pytest.approx(scale)
    np.testing.assert_allclose(states[2].w, center + z, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("lp_key, full_key", [("lp_sgd", "sgd"), ("lp_svrg", "svrg"),
                                              ("halp", "svrg")])
def test_32_bit_solvers_follow_their_full_precision_twin(lp_key, full_key):
    """With the same sample order, a fine 32-bit grid only adds tiny rounding noise."""
    problem = small_linreg()
    solvers = make_solvers(problem, step_size=0.01, bits=32, mu=1.0,
                           lp_scale=2.0 ** -26)
    low = solvers[lp_key].run(problem, 4, seed=5).dist
    full = solvers[full_key].run(problem, 4, seed=5).dist
    np.testing.assert_allclose(low, full, rtol=1e-5)
    other_order = solvers[full_key].run(problem, 4, seed=6).dist
    assert not np.allclose(other_order[1:], full[1:], rtol=1e-5)


@pytest.mark.parametrize("solver_class", [LowPrecisionSGD, LowPrecisionSVRG])
def test_lp_iterates_live_on_the_fixed_grid(solver_class):
    problem = small_linreg()
    scale, bits = 0.01, 8
    solver = solver_class(step_size=0.01, bits=bits, scale=scale)
    for state in solver.iterates(problem, 3, seed=1):
        ints = state.w / scale
        np.testing.assert_allclose(ints, np.round(ints), atol=1e-9)
        low, high = int_range(bits)
        assert np.all((np.round(ints) >= low) & (np.round(ints) <= high))


def test_halp_counts_saturations_when_mu_makes_the_grid_too_small():
    problem = small_linreg()
    fine = HALP(step_size=0.01, bits=4, mu=1e4).run(problem, 2, seed=0)
    wide = HALP(step_size=0.01, bits=4, mu=0.1).run(problem, 2, seed=0)
    assert fine.saturations[1] > 0
    assert wide.saturations[1] == 0


def test_runs_are_reproducible_and_seed_dependent():
    problem = small_linreg()
    solver = HALP(step_size=0.01, bits=8, mu=2.0)
    assert solver.run(problem, 3, seed=11).to_dict() == solver.run(problem, 3, seed=11).to_dict()
    assert solver.run(problem, 3, seed=11).subopt != solver.run(problem, 3, seed=12).subopt


def test_a_diverging_solver_reports_instead_of_raising():
    problem = small_linreg()
    trace = SGD(step_size=10.0).run(problem, 3, seed=0)
    assert len(trace.subopt) == 4
    assert not np.isfinite(trace.subopt[-1])


def test_epoch_length_defaults_to_n_and_can_be_set():
    problem = small_linreg()
    assert SVRG(step_size=0.01).run(problem, 1).hyperparameters["epoch_length"] == problem.n
    assert SVRG(step_size=0.01, epoch_length=7).run(problem, 1).hyperparameters[
        "epoch_length"] == 7


def test_halp_matches_svrg_on_logistic_regression():
    problem = synthetic_logreg(n=300, d=20, seed=0)
    solvers = make_solvers(problem, bits=8)
    svrg = solvers["svrg"].run(problem, 30, seed=0)
    halp = solvers["halp"].run(problem, 30, seed=0)
    svrg_epochs = epochs_to_reach(svrg, 1e-10)
    assert svrg_epochs is not None
    assert epochs_to_reach(halp, 1e-10) <= math.ceil(1.5 * svrg_epochs)


# -- defaults --------------------------------------------------------------------------------------
def test_default_step_size_is_a_quarter_over_the_largest_sample_smoothness():
    paper = paper_linreg(seed=0)  # homogeneous rows: L_max < 2 L_mean
    norms = np.sum(paper.X**2, axis=1)
    assert norms.max() < 2 * norms.mean()
    assert default_step_size(paper) == pytest.approx(0.25 / norms.max(), rel=1e-12)
    logreg = synthetic_logreg(n=200, d=40, seed=0, l2=0.5)
    # The logistic curvature is at most 1/4.
    assert default_step_size(logreg) == pytest.approx(
        0.25 / (0.25 * max(np.sum(logreg.X**2, axis=1)) + 0.5), rel=1e-12)


def test_default_step_size_caps_outlying_rows_at_twice_the_mean_smoothness():
    problem = paper_linreg(n=100, d=10, seed=0)
    X = problem.X.copy()
    X[3] *= 10.0  # one row 100x the squared norm of the others
    outlier = LeastSquares(X, problem.y)
    norms = np.sum(X**2, axis=1)
    assert default_step_size(outlier) == pytest.approx(0.25 / (2 * norms.mean()), rel=1e-12)


def test_default_mu_is_twice_the_mean_hessian_eigenvalue():
    problem = small_linreg()
    eigenvalues = np.linalg.eigvalsh(problem.X.T @ problem.X / problem.n)
    assert eigenvalues.mean() < 8 * eigenvalues[0]
    assert default_mu(problem) == pytest.approx(2 * eigenvalues.mean(), rel=1e-12)


def test_default_mu_is_at_least_4x_the_largest_eigenvalue_over_the_grid_levels():
    problem = small_linreg()
    # one strong direction (the trace below 2.8 L) and 16 mu_min far below the noise bound
    X = problem.X * np.array([1, 0.3, 0.3, 0.3, 0.3, 1e-3])
    flat = LeastSquares(X, problem.y)
    eigenvalues = np.linalg.eigvalsh(X.T @ X / problem.n)
    assert eigenvalues.sum() < 2.8 * eigenvalues[-1]
    assert default_mu(flat, bits=8) == pytest.approx(4 * eigenvalues[-1] / 127, rel=1e-9)
    assert default_mu(flat, bits=6) == pytest.approx(4 * eigenvalues[-1] / 31, rel=1e-9)


def test_default_mu_grows_with_the_trace_of_the_hessian():
    """Many features: the stochastic rounding noise of an epoch grows with tr H / (mu Q); mu
    is at least tr H / (0.7 Q), above twice the mean eigenvalue when d > 1.4 Q."""
    problem = paper_linreg(n=1200, d=400, seed=0)
    eigenvalues = np.linalg.eigvalsh(problem.X.T @ problem.X / problem.n)
    assert 2 * eigenvalues.mean() < eigenvalues.sum() / (0.7 * 127)
    assert default_mu(problem, bits=8) == pytest.approx(eigenvalues.sum() / (0.7 * 127),
                                                        rel=1e-9)
    assert default_mu(problem, bits=16) == pytest.approx(2 * eigenvalues.mean(), rel=1e-9)


def test_default_mu_is_at_most_16x_the_smallest_eigenvalue():
    problem = small_linreg()
    X = problem.X * np.array([1, 1, 1, 1, 1, 0.2])  # one flat direction
    flat = LeastSquares(X, problem.y)
    eigenvalues = np.linalg.eigvalsh(X.T @ X / problem.n)
    assert default_mu(flat) == pytest.approx(16 * eigenvalues[0], rel=1e-9)


def test_default_epoch_length_is_whole_passes_covering_half_the_inverse_of_alpha_mu_min():
    paper = paper_linreg(seed=0)  # well conditioned: one pass
    assert default_epoch_length(paper, default_step_size(paper)) == paper.n
    problem = small_linreg()
    low = np.linalg.eigvalsh(problem.X.T @ problem.X / problem.n)[0]
    alpha = 3.0 / (problem.n * low)  # 1 / (2 alpha mu_min) is 1/6 of a pass: N
    assert default_epoch_length(problem, alpha) == problem.n
    alpha = 1.0 / (2 * 2.5 * problem.n * low)  # 2.5 passes: 3
    assert default_epoch_length(problem, alpha) == 3 * problem.n
    assert default_epoch_length(problem, alpha / 100) == 4 * problem.n
    wide = paper_linreg(n=5, d=10, seed=0)  # flat directions: one pass
    assert default_epoch_length(wide, 0.01) == wide.n


def test_bit_centering_scale_reaches_the_radius():
    assert bit_centering_scale(254.0, 2.0, 8) == pytest.approx(1.0)
    assert bit_centering_scale(3.0, 1.0, 2) == pytest.approx(3.0)


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda: HALP(step_size=0.1, bits=1, mu=1.0), r"bits must be an integer in 2\.\.32, not 1"),
    (lambda: HALP(step_size=0.1, bits=33, mu=1.0), r"bits must be an integer in 2\.\.32, not 33"),
    (lambda: LowPrecisionSGD(step_size=0.1, bits=0, scale=1.0),
     r"bits must be an integer in 2\.\.32, not 0"),
    (lambda: SGD(step_size=0.0), r"step size must be a finite number > 0, not 0\.0"),
    (lambda: SVRG(step_size=-1), r"step size must be a finite number > 0, not -1"),
    (lambda: SVRG(step_size=float("nan")), r"step size must be a finite number > 0, not nan"),
    (lambda: HALP(step_size=0.1, bits=8, mu=0.0), r"mu must be a finite number > 0, not 0\.0"),
    (lambda: HALP(step_size=0.1, bits=8, mu=-2), r"mu must be a finite number > 0, not -2"),
    (lambda: SVRG(step_size=0.1, epoch_length=0),
     r"epoch length must be an integer >= 1, not 0"),
    (lambda: LowPrecisionSVRG(step_size=0.1, bits=8, scale=0.0),
     r"scale must be a finite number > 0, not 0\.0"),
])
def test_bad_hyperparameters_are_rejected_by_name(make, message):
    with pytest.raises(HalpInputError, match=message):
        make()


@pytest.mark.parametrize("epochs, seed, message", [
    (0, 0, r"epochs must be an integer >= 1, not 0"),
    (-3, 0, r"epochs must be an integer >= 1, not -3"),
    (2, -1, r"seed must be an integer in 0\.\.4294967295, not -1"),
])
def test_bad_run_arguments_are_rejected_by_name(epochs, seed, message):
    with pytest.raises(HalpInputError, match=message):
        SGD(step_size=0.1).run(small_linreg(), epochs, seed)


def test_default_mu_ignores_directions_without_curvature():
    wide = paper_linreg(n=5, d=10, seed=0)  # rank 5 of 10: five zero eigenvalues
    eigenvalues = np.linalg.eigvalsh(wide.X.T @ wide.X / wide.n)
    assert default_mu(wide) == pytest.approx(2 * eigenvalues.mean(), rel=1e-9)
