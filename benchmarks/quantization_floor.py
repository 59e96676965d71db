"""The accuracy floor of quantized data on the paper problem, as a table and a plot.

Usage::

    python benchmarks/quantization_floor.py [--n 1000] [--d 100] [--seed 0] [--bits 4 24]
                                            [--out docs/quantization-floor.png]

For every data width in the range it quantizes ``X`` of ``paper_linreg`` (nearest, covering
exponent), solves the quantized problem exactly and prints the true relative suboptimality of
that optimum (:func:`halp_hw.golden.floor.quantization_floor`), then plots it against the width.
"""

from __future__ import annotations

import argparse
import sys

from matplotlib.figure import Figure

from halp_hw.golden.data import paper_linreg
from halp_hw.golden.floor import quantization_floor


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bits", type=int, nargs=2, default=(4, 24), metavar=("LOW", "HIGH"))
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
    figure = Figure(figsize=(7.0, 4.0), dpi=120, layout="constrained")
    axes = figure.add_subplot()
    axes.semilogy(list(widths), [f.rel_subopt for f in floors], "o-", color="C0",
                  label="true rel_subopt of the quantized problem's optimum")
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
