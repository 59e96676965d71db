"""The accuracy floor of quantized data on the paper problem, as a table and a plot.

Usage::

    python benchmarks/quantization_floor.py [--n 1000] [--d 100] [--seed 0] [--bits 4 24]
                                            [--reached 8 12 16 20 22] [--epochs 30]
                                            [--out docs/quantization-floor.png]

For every data width in the range it quantizes ``X`` of ``paper_linreg`` (nearest, covering
exponent), solves the quantized problem exactly and prints the true relative suboptimality of
that optimum (:func:`halp_hw.golden.floor.quantization_floor`), then plots it against the width.
For each width of ``--reached`` it also runs 8-bit HALP with the whole epoch on the golden
accelerator (``--full-gradient accelerator``, the full-gradient pass reading data of that width,
default hyperparameters) and plots the ``rel_subopt`` it ends at.
"""

from __future__ import annotations

import argparse
import sys

from matplotlib.figure import Figure

from halp_hw.golden.data import paper_linreg
from halp_hw.golden.defaults import default_epoch_length, default_mu, default_step_size
from halp_hw.golden.floor import quantization_floor
from halp_hw.golden.hardware import HardwareConfig, HardwareRun
from halp_hw.runtime.backends import run_backend


def reached(problem, gradient_data_bits: int, epochs: int) -> float:
    """The final rel_subopt of 8-bit HALP with the full-gradient pass on ``gradient_data_bits``."""
    step = default_step_size(problem)
    config = HardwareConfig(lanes=8, d_max=problem.d, n_max=problem.n,
                            gradient_data_bits=gradient_data_bits)
    run = HardwareRun(step_size=step, mu=default_mu(problem, config.bits),
                      epoch_length=default_epoch_length(problem, step), epochs=epochs,
                      full_gradient="accelerator")
    return run_backend("model", problem, config, run).trace.rel_subopt[-1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bits", type=int, nargs=2, default=(4, 24), metavar=("LOW", "HIGH"))
    parser.add_argument("--reached", type=int, nargs="*", default=(8, 12, 16, 20, 22),
                        metavar="BITS")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="docs/quantization-floor.png")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = paper_linreg(args.n, args.d, args.seed)
    widths = range(args.bits[0], args.bits[1] + 1)
    floors = [quantization_floor(problem, bits) for bits in widths]
    print(f"Quantization floor: paper_linreg N={problem.n} d={problem.d} seed {args.seed}, X "
          f"rounded to nearest with the covering exponent, y as is")
    print(f"  {'data_bits':>9}{'exponent':>10}{'rel_subopt':>12}{'||w_q* - w*||':>15}")
    for floor in floors:
        print(f"  {floor.data_bits:>9}{floor.data_exponent:>10}{floor.rel_subopt:>12.2g}"
              f"{floor.dist:>15.2g}")
    measured = {bits: reached(problem, bits, args.epochs) for bits in args.reached}
    for bits, final in measured.items():
        floor = quantization_floor(problem, bits).rel_subopt
        print(f"  HALP, full gradient on the accelerator from {bits}-bit data, {args.epochs} "
              f"epochs: rel_subopt {final:.3g} ({final / floor:.3g}x the floor)")
    figure = Figure(figsize=(7.0, 4.0), dpi=120, layout="constrained")
    axes = figure.add_subplot()
    axes.semilogy(list(widths), [f.rel_subopt for f in floors], "o-", color="C0",
                  label="true rel_subopt of the quantized problem's optimum")
    if measured:
        axes.semilogy(list(measured), list(measured.values()), "x", color="C3", markersize=9,
                      label=f"8-bit HALP, full gradient on chip from that data, "
                            f"{args.epochs} epochs")
    axes.axhline(1e-10, color="k", linestyle="--", label="rel_subopt 1e-10")
    axes.set_xticks(list(widths)[::2])
    axes.set_xlabel("data_bits")
    axes.set_ylabel("(f(w_q*) - f*) / (f(0) - f*)")
    axes.set_title(f"Accuracy floor of quantized data: paper problem N={problem.n}, "
                   f"d={problem.d}, seed {args.seed}", fontsize=10)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper right")
    figure.savefig(args.out)
    print(f"  wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
