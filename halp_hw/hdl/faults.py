"""The registry of deliberately broken hardware variants, for the verification suite.

A verification test is only worth something if it fails on a broken design. Each entry here names
one realistic bug; the block that owns it builds the broken variant when constructed with
``fault=<name>`` and behaves exactly as specified otherwise. Blocks pass ``fault`` down to their
children, and each block acts only on the faults it owns.
"""

from __future__ import annotations

from halp_hw.golden.validation import HalpInputError

__all__ = ["FAULTS", "check_fault"]

#: Fault name -> what is broken (and which block owns it).
FAULTS: dict[str, str] = {
    "rounder-drops-random":
        "StochasticRounder ignores its random bits: it truncates instead of rounding",
    "saturation-off-by-one":
        "StochasticRounder clamps at 2**(b-1) - 2, not 2**(b-1) - 1 (upper bound one too low)",
    "prng-wrong-shift":
        "Xorshift32 shifts right by 15 instead of 17: a different, still invertible, stream",
    "lane-drops-carry":
        "MaccLane's update adder loses the carry out of the F fraction bits of zg - p into "
        "the kept bits: z comes out one LSB low whenever those fractions carry",
    "index-off-by-one":
        "SampleRowSource uses sample index i + 1 (mod n) instead of i (either sample order)",
    "sigmoid-table":
        "SigmoidUnit's ROM holds every segment's rise one LSB low (a table built from knots "
        "rounded the wrong way; logistic builds)",
}


def check_fault(fault: str | None) -> str | None:
    """Return ``fault`` if it is None or a registered fault name; raise otherwise."""
    if fault is None or (isinstance(fault, str) and fault in FAULTS):
        return fault
    raise HalpInputError(f"fault must be None or one of {', '.join(FAULTS)}; not {fault!r}")
