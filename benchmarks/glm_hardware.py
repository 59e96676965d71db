"""Epochs to rel_subopt <= 1e-10: 8-bit hardware mode against float64 SVRG, on real data.

For each of diabetes (least squares), breast_cancer (logistic regression, ``l2 = 0.0022``) and
breast_cancer (L2-SVM, ``l2 = 0.0022``), with the defaults of ``halp-hw simulate`` (step size,
T, mu; seed 0): the epochs float64 SVRG needs with the same step size, T and seed, the epochs of
the bit-exact hardware mode (8-bit z and data, the build of ``--problem``), their ratio, the
hardware run's saturations, and its held-out test metric after the run against scikit-learn's
solution of the same objective. ``python benchmarks/glm_hardware.py`` (about 1 minute) prints
the table of docs/numeric-contract.md ("Logistic regression and the L2-SVM").
"""

from __future__ import annotations

import argparse

from halp_hw.commands._run_options import run_from_args
from halp_hw.golden.datasets import load_sklearn_dataset, sklearn_test_metric
from halp_hw.golden.hardware import run_halp_hardware
from halp_hw.golden.solvers import SVRG, epochs_to_reach

CASES = [("diabetes", "linreg", 0.0, 120), ("breast_cancer", "logreg", 0.0022, 260),
         ("breast_cancer", "svm", 0.0022, 900)]
TARGET = 1e-10


def options() -> argparse.Namespace:
    """The options ``halp-hw simulate`` parses by default."""
    return argparse.Namespace(bits=8, data_bits=8, frac_bits=16, lanes=8, step_size=None, mu=None,
                              epoch_length=None, epochs=0, seed=0, order="xorshift")


def main() -> None:
    print("| problem | alpha | T | mu | SVRG | HW | HW / SVRG | HW saturations | "
          "HW test metric | scikit-learn |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for dataset, name, l2, epochs in CASES:
        problem, _ = load_sklearn_dataset(dataset, name, l2=l2, seed=0)
        args = options()
        args.epochs = epochs
        config, run = run_from_args(args, problem)
        svrg = SVRG(step_size=run.step_size, epoch_length=run.epoch_length).run(problem, epochs,
                                                                              seed=run.seed)
        hardware = run_halp_hardware(problem, config, run)
        svrg_epochs, hw_epochs = epochs_to_reach(svrg, TARGET), epochs_to_reach(hardware, TARGET)
        metric = hardware.test_metric
        reference = sklearn_test_metric(problem)
        shown = (lambda v: f"RMSE {v:.3f}") if metric["name"] == "rmse" else (
            lambda v: f"accuracy {100 * v:.2f}%")
        ratio = "-" if None in (svrg_epochs, hw_epochs) else f"{hw_epochs / svrg_epochs:.2f}"
        print(f"| {dataset}, {name}{f', l2 {l2:g}' if l2 else ''} | {run.step_size:.3g} | "
              f"{run.epoch_length} | {run.mu:.3g} | {svrg_epochs} | {hw_epochs} | {ratio} | "
              f"{sum(hardware.saturations)} | {shown(metric['values'][-1])} | "
              f"{shown(reference)} |")


if __name__ == "__main__":
    main()
