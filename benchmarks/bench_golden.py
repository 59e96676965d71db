"""Speed of the compiled golden model against plain per-step NumPy, in one run.

Usage::

    python benchmarks/bench_golden.py [--n 1000] [--d 100] [--lanes 8] [--repeats 7]

On the paper problem (``paper_linreg``: N = 1000, d = 100, seed 0) it times, as inner steps per
CPU second of this process, medians of ``--repeats`` repetitions, all in this process:

- the hardware numeric mode (``AcceleratorModel.run``, 8-bit z and data, 16 fraction bits, L
  lanes) against a plain per-step NumPy version of the same step (written below; the golden
  model before it was compiled) and against an anchor: a minimal numba HALP inner loop with its
  random numbers, the speed a compiled loop of this size reaches on this machine now;
- the real-valued HALP (8 bits), SVRG and SGD (``Solver.iterates``, the documented defaults)
  against plain per-step NumPy versions of their loops (below: the golden model's loops before
  they were compiled, with HALP's storage through ``FixedFormat.quantize``).

Each baseline is checked to give the compiled model's results bit for bit. Targets (issue 13):
hardware mode >= 50x its NumPy version and >= 0.5x the anchor; HALP, SVRG, SGD >= 20x.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba
import numpy as np

from halp_hw.golden.data import paper_linreg
from halp_hw.golden.fixedpoint import FixedFormat, Rounding, int_range, saturate, shift_round
from halp_hw.golden.hardware import (STEP_SHIFT, AcceleratorModel, HalpHost, HardwareConfig,
                                     HardwareRun)
from halp_hw.golden.prng import MASK, SAMPLE_STREAM, SampleOrder, lane_stream, stream_seed
from halp_hw.golden.defaults import default_mu, default_step_size
from halp_hw.golden.solvers import HALP, SGD, SVRG, bit_centering_scale


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def median_rates(fast, fast_steps: int, slow, slow_steps: int, repeats: int):
    """Medians of steps per CPU second of ``fast()`` and ``slow()`` (that many inner steps per
    call), timed in alternation.

    CPU time of this process (``time.process_time``), not wall time: on a shared machine the
    wall time of a run depends on what else is running and on how much CPU the scheduler has
    granted this process lately, which favours whichever run comes first.
    """
    rates = {fast: [], slow: []}
    for _ in range(repeats):
        for work, steps in ((fast, fast_steps), (slow, slow_steps)):
            start = time.process_time()
            work()
            rates[work].append(steps / (time.process_time() - start))
    return statistics.median(rates[fast]), statistics.median(rates[slow])


# -- baselines: plain per-step NumPy ------------------------------------------------------------
class NumpyAccelerator:
    """The hardware numeric mode's inner step, one NumPy step at a time (the uncompiled model)."""

    def __init__(self, config: HardwareConfig, x: np.ndarray, mantissa: int, seed: int):
        self.config, self.x, self.mantissa = config, x, mantissa
        self.n, self.d = x.shape
        self.sample_state = stream_seed(seed, SAMPLE_STREAM)
        self.lane_states = np.array([stream_seed(seed, lane_stream(lane))
                                     for lane in range(config.lanes)], dtype=np.uint32)
        self.z = np.zeros(self.d, dtype=np.int64)
        self.grad = np.zeros(self.d, dtype=np.int64)
        self.saturations = 0

    def next_sample(self) -> int:
        state = self.sample_state
        state ^= (state << 13) & MASK
        state ^= state >> 17
        state ^= (state << 5) & MASK
        self.sample_state = state
        return (state * self.n) >> 32

    def lane_bits(self, beats: int) -> np.ndarray:
        out = np.empty((beats, self.lane_states.size), dtype=np.int64)
        for beat in range(beats):
            state = self.lane_states
            state ^= state << np.uint32(13)
            state ^= state >> np.uint32(17)
            state ^= state << np.uint32(5)
            out[beat] = state >> np.uint32(32 - self.config.frac_bits)
        return out

    def step(self) -> None:
        cfg = self.config
        row = self.x[self.next_sample()]
        c = (int(row @ self.z) * self.mantissa + (1 << (STEP_SHIFT - 1))) >> STEP_SHIFT
        c = int(saturate(np.array([c]), cfg.coef_width)[0][0])
        random = self.lane_bits(cfg.beats(self.d)).reshape(-1)[: self.d]
        v = (self.z << cfg.frac_bits) - row * c - self.grad
        self.z, clamped = saturate(shift_round(v, cfg.frac_bits, random), cfg.bits)
        self.saturations += clamped

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()


def numpy_solver(key, problem, step_size, epoch_length, epochs, seed, bits=8, mu=None):
    """SGD, SVRG or HALP on least squares from w = 0, one NumPy step at a time, with the calls
    the golden model made per step before it was compiled (per-sample gradient or
    variance-reduced direction, then the storage: HALP's through ``FixedFormat.quantize``);
    returns the final w."""
    X, y, l2 = problem.X, problem.y, problem.l2
    order, rng = SampleOrder(problem.n, seed), np.random.default_rng(seed)

    def residual(margins, rows):
        return margins - y[rows]

    def sample_gradient(w, i):
        return X[i] * residual(np.dot(X[i], w), i) + l2 * w

    def direction(anchor, offset, i):
        margins, residuals, gradient = anchor
        x = X[i]
        return x * (residual(margins[i] + x @ offset, i) - residuals[i]) + l2 * offset + gradient

    def store(grid, values):
        if grid is None:
            return values
        quantized = grid.quantize(values, Rounding.STOCHASTIC, rng)
        store.saturations += quantized.saturated
        return quantized.values

    store.saturations = 0
    w = np.zeros(problem.d)
    for _ in range(epochs):
        indices = order.take(epoch_length)
        if key == "sgd":
            for i in indices:
                w = store(None, w - step_size * sample_gradient(w, i))
            continue
        margins = X @ w
        residuals = residual(margins, slice(None))
        gradient = X.T @ residuals / problem.n + l2 * w
        anchor = (margins, residuals, gradient)
        grid = (FixedFormat(bits, bit_centering_scale(float(np.linalg.norm(gradient)), mu, bits))
                if key == "halp" else None)
        z = np.zeros(problem.d)
        for i in indices:
            z = store(grid, z - step_size * direction(anchor, z, i))
        w = w + z
    return w


# -- the anchor: a minimal compiled HALP inner loop ---------------------------------------------
@numba.njit(cache=True)
def anchor_halp_steps(X, gradient, z, steps, step_size, scale, qmax, seed):
    """HALP's inner loop on least squares around w~ (``r_i(w~ + z) - r_i(w~) = x_i . z``):
    sample, dot product, update and stochastic rounding, numba's own random numbers."""
    np.random.seed(seed)
    n, d = X.shape
    for _ in range(steps):
        x = X[np.random.randint(0, n)]
        dot = np.dot(x, z)
        for j in range(d):
            v = (z[j] - step_size * (x[j] * dot + gradient[j])) / scale + np.random.random()
            z[j] = min(max(np.floor(v), -qmax - 1.0), qmax) * scale
    return z


# -- the measurements ---------------------------------------------------------------------------
def hardware_mode(args, problem) -> list[tuple]:
    config = HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=args.lanes,
                            d_max=problem.d, n_max=problem.n)
    run = HardwareRun(default_step_size(problem), default_mu(problem), problem.n, 1, args.seed)
    host = HalpHost(problem, config, run)
    epoch = host.begin_epoch()

    def loaded(model_class):
        model = model_class(config, host.x_ints, host.mantissa, args.seed)
        model.grad = np.asarray(epoch.grad_ints, dtype=np.int64)
        return model

    check_steps = 500
    compiled, reference = loaded(AcceleratorModel), loaded(NumpyAccelerator)
    compiled.run(check_steps)
    reference.run(check_steps)
    agree = compiled.z.tolist() == reference.z.tolist() and \
        compiled.saturations == reference.saturations

    fast_steps, slow_steps = 20 * problem.n, problem.n
    fast, slow = median_rates(lambda: loaded(AcceleratorModel).run(fast_steps), fast_steps,
                              lambda: loaded(NumpyAccelerator).run(slow_steps), slow_steps,
                              args.repeats)

    qmax = float(int_range(config.bits)[1])
    center_gradient = problem.full_gradient(np.zeros(problem.d))
    scale = bit_centering_scale(float(np.linalg.norm(center_gradient)), run.mu, config.bits)
    X = np.ascontiguousarray(problem.X)

    def anchor():
        anchor_halp_steps(X, center_gradient, np.zeros(problem.d), fast_steps, run.step_size,
                          scale, qmax, args.seed)

    anchor()  # compile (or load from the cache) before timing
    fast_again, anchored = median_rates(lambda: loaded(AcceleratorModel).run(fast_steps),
                                        fast_steps, anchor, fast_steps, args.repeats)
    name = f"hardware mode, L={args.lanes}"
    return [(name, fast, "per-step NumPy", slow, 50.0, agree),
            (name, fast_again, "compiled anchor loop", anchored, 0.5, None)]


def real_valued(args, problem) -> list[tuple]:
    step_size, mu, epoch_length = default_step_size(problem), default_mu(problem), problem.n
    solvers = {"halp": HALP(step_size=step_size, bits=8, mu=mu), "svrg": SVRG(step_size=step_size),
               "sgd": SGD(step_size=step_size)}
    rows = []
    for key, solver in solvers.items():
        def compiled(epochs):
            *_, last = solver.iterates(problem, epochs, args.seed)
            return last.w

        def reference(epochs):
            return numpy_solver(key, problem, step_size, epoch_length, epochs, args.seed, mu=mu)

        agree = compiled(2).tobytes() == reference(2).tobytes()
        fast_epochs, slow_epochs = 20, 2
        fast, slow = median_rates(lambda: compiled(fast_epochs), fast_epochs * epoch_length,
                                  lambda: reference(slow_epochs), slow_epochs * epoch_length,
                                  args.repeats)
        rows.append((f"{key.upper()} (real-valued)", fast, "per-step NumPy", slow, 20.0, agree))
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = paper_linreg(n=args.n, d=args.d, seed=args.seed)
    print(f"Golden model speed: linreg N={problem.n} d={problem.d}, inner steps per CPU second, "
          f"medians of {args.repeats} repetitions, ratios measured in this run")
    print(f"  {'loop':<24}{'steps/s':>11}  {'baseline':<22}{'steps/s':>11}{'ratio':>9}"
          f"{'target':>9}  met  same bits")
    met_all = True
    for name, fast, baseline, slow, target, agree in (hardware_mode(args, problem)
                                                     + real_valued(args, problem)):
        ratio = fast / slow
        met_all &= ratio >= target and agree is not False
        same = "-" if agree is None else "yes" if agree else "NO"
        print(f"  {name:<24}{fast:>11.3g}  {baseline:<22}{slow:>11.3g}{ratio:>8.2f}x"
              f"{target:>8g}x  {'yes' if ratio >= target else 'NO ':<3}  {same}")
    return 0 if met_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
