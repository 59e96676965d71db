"""The CPU baseline: NumPy and compiled SVRG, float64 and float32, and time to a target."""

import pytest

from halp_hw.golden.data import paper_linreg
from halp_hw.golden.defaults import default_step_size
from halp_hw.golden.solvers import SVRG
from halp_hw.golden.validation import HalpInputError
from halp_hw.models.baseline import BaselineRun, svrg_baseline

EPOCHS = 12


@pytest.fixture(scope="module")
def problem():
    return paper_linreg(200, 20, 3)


def _run(problem, dtype, loop, epochs=EPOCHS):
    return svrg_baseline(problem, dtype=dtype, step_size=default_step_size(problem),
                         epoch_length=problem.n, epochs=epochs, seed=5, repeats=1, loop=loop)


def test_compiled_and_numpy_loops_run_the_same_svrg(problem):
    golden = SVRG(step_size=default_step_size(problem), epoch_length=problem.n).run(
        problem, EPOCHS, seed=5)
    for dtype in ("float64", "float32"):
        numpy_run, compiled = _run(problem, dtype, "numpy"), _run(problem, dtype, "compiled")
        assert (compiled.loop, compiled.dtype) == ("compiled", dtype)
        assert compiled.inner_steps == EPOCHS * problem.n
        # Same algorithm, same samples: the same path down to the precision's rounding.
        tolerance = 1e-6 if dtype == "float64" else 0.3
        for k in range(EPOCHS + 1):
            if golden.rel_subopt[k] > 1e-12:
                assert compiled.rel_subopt[k] == pytest.approx(golden.rel_subopt[k],
                                                               rel=tolerance)
                assert numpy_run.rel_subopt[k] == pytest.approx(golden.rel_subopt[k],
                                                                rel=tolerance)


def test_float32_is_float32_arithmetic(problem):
    """float64 converges far below what float32 iterates can hold; float32 stalls above it."""
    f64 = _run(problem, "float64", "compiled", epochs=32)
    f32 = _run(problem, "float32", "compiled", epochs=32)
    assert f64.rel_subopt[-1] < 1e-18
    assert 1e-14 < f32.rel_subopt[-1] < 1e-9


def test_time_to_target_is_the_first_epoch_that_reaches_it():
    run = BaselineRun("float64", "compiled", 3.0, 30, [1.0, 1e-3, 1e-7, 1e-12],
                      [0.0, 1.0, 2.0, 3.0])
    assert run.seconds_to_reach(1e-6) == 2.0
    assert run.seconds_to_reach(1e-3) == 1.0
    assert run.seconds_to_reach(1e-13) is None
    assert run.steps_per_second == 10.0
    assert run.to_dict()["seconds_to_rel_subopt"] == {"1e-06": 2.0, "1e-10": 3.0}


def test_timings_are_cumulative(problem):
    run = _run(problem, "float64", "compiled")
    assert run.epoch_seconds[0] == 0.0 and len(run.epoch_seconds) == EPOCHS + 1
    assert all(b > a for a, b in zip(run.epoch_seconds, run.epoch_seconds[1:]))
    assert run.epoch_seconds[-1] == run.seconds
    assert run.seconds_to_reach(run.rel_subopt[4]) <= run.epoch_seconds[4]


def test_unknown_loop_is_refused(problem):
    with pytest.raises(HalpInputError, match="baseline loop must be one of numpy, compiled"):
        svrg_baseline(problem, dtype="float64", step_size=0.01, epoch_length=10, epochs=1,
                      seed=0, loop="cython")
