"""The registry of deliberately broken hardware variants, for the verification suite.

A verification test is only worth something if it fails on a broken design. Each entry names one
realistic bug as a *variant of one small, named part* of a block: ``part`` is the dotted name of
a function, constant or method in :mod:`halp_hw.hdl` (``halp_hw.hdl.rounder.saturate``), and
``variant(original)`` returns what stands in for it. The production blocks hold no fault logic:
:func:`injected` swaps the part in (``unittest.mock.patch``) only while the test machinery
constructs and converts a design, so the Verilog of that build is the broken design and every
other build is the specified one. The swap reaches every instance that uses the part (every
lane, for a lane's part).

Adding a fault is one entry of :data:`FAULTS`. A part is any name a block looks up when it is
constructed or elaborated: a wrong table entry, for instance, is a variant of the function that
computes the table, returning the table with that entry changed.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from unittest import mock

import numpy as np
from amaranth import Cat, Const, Mux

from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.glm import MARGIN_GUARD_BITS
from halp_hw.golden.validation import HalpInputError

__all__ = ["Fault", "FAULTS", "check_fault", "injected"]


@dataclass(frozen=True)
class Fault:
    """One broken variant.

    Attributes
    ----------
    description : str
        What is broken, in words.
    part : str
        The dotted name of the replaced part (a module attribute, or a class attribute such as
        a method).
    variant : callable
        ``variant(original)``: the broken part, given the correct one.
    """

    description: str
    part: str
    variant: Callable


def _no_rounding_bits(original):
    return lambda draw, frac_bits: Const(0, frac_bits)


def _top_one_low(original):
    def saturate(value, width):
        result, saturated = original(value, width)
        at_top = result == int_range(width)[1]
        return Mux(at_top, result - 1, result), saturated | at_top
    return saturate


def _shifts_13_15_5(original):
    return (original[0], 15, original[2])


def _carry_dropped(original):
    def update_sum(self, zg, product):
        frac, negated = self.config.frac_bits, -product
        low = zg[:frac] + negated[:frac]
        # low[frac], the carry into the kept bits, is lost here.
        return Cat(low[:frac], zg.shift_right(frac) + negated.shift_right(frac))
    return update_sum


def _next_index_mod_n(original):
    def sample_index(self, entry, drawn):
        following = original(self, entry, drawn) + 1
        return Mux(following == self.n, 0, following)
    return sample_index


def _rises_one_low(original):
    def table(config):
        correct = original(config)
        return replace(correct, delta=np.maximum(correct.delta - 1, 0))
    return table


def _floor_shift(original):
    def round_shift(m, value, shift, *, left_limit, name):
        correct = original(m, value, shift, left_limit=left_limit, name=name)
        return Mux(shift > 0, value >> shift.as_unsigned()[:8], correct)
    return round_shift


def _input_truncated(original):
    def margin_to_input(margin, config):
        # original adds 2**(G-1) before the shift: taking it away first leaves the floor
        return original(margin - (1 << (MARGIN_GUARD_BITS - 1)), config)
    return margin_to_input


#: Fault name -> the broken variant.
FAULTS: dict[str, Fault] = {
    "rounder-drops-random": Fault(
        "the lanes' stochastic rounding drops its random bits (r = 0): truncation, not rounding",
        "halp_hw.hdl.lane.rounding_bits", _no_rounding_bits),
    "saturation-off-by-one": Fault(
        "StochasticRounder clamps at 2**(b-1) - 2, not 2**(b-1) - 1 (upper bound one too low)",
        "halp_hw.hdl.rounder.saturate", _top_one_low),
    "prng-wrong-shift": Fault(
        "Xorshift32 shifts right by 15 instead of 17: a different, still invertible, stream",
        "halp_hw.hdl.prng.XORSHIFTS", _shifts_13_15_5),
    "lane-drops-carry": Fault(
        "MaccLane's update adder loses the carry out of the F fraction bits of zg - p into "
        "the kept bits: z comes out one LSB low whenever those fractions carry",
        "halp_hw.hdl.lane.MaccLane.update_sum", _carry_dropped),
    "index-off-by-one": Fault(
        "SampleRowSource uses sample index i + 1 (mod n) instead of i (either sample order)",
        "halp_hw.hdl.rows.SampleRowSource.sample_index", _next_index_mod_n),
    "sigmoid-table": Fault(
        "SigmoidUnit's ROM holds every segment's rise one LSB low (a table built from knots "
        "rounded the wrong way; logistic builds)",
        "halp_hw.hdl.sigmoid.sigmoid_table", _rises_one_low),
    "gradient-truncates": Fault(
        "GradientFinish's shifts (the L2 term and G of the epoch on chip) truncate instead of "
        "rounding to nearest (builds with the full gradient on the accelerator)",
        "halp_hw.hdl.gradient_finish.round_shift", _floor_shift),
    "pass-sigmoid-input-truncates": Fault(
        "the logistic full-gradient pass truncates each row's margin onto the sigmoid input "
        "instead of rounding it to nearest (logistic builds with the full gradient on the "
        "accelerator; the inner loop's rounding is unchanged)",
        "halp_hw.hdl.pass_logistic.margin_to_input", _input_truncated),
}


def check_fault(fault: str | None) -> str | None:
    """Return ``fault`` if it is None or a registered fault name; raise otherwise."""
    if fault is None or (isinstance(fault, str) and fault in FAULTS):
        return fault
    raise HalpInputError(f"fault must be None or one of {', '.join(FAULTS)}; not {fault!r}")


@contextmanager
def injected(fault: str | None):
    """While inside, the designs constructed and converted are the broken variant ``fault``
    (None: the specified design)."""
    if check_fault(fault) is None:
        yield
        return
    entry = FAULTS[fault]
    with mock.patch(entry.part, entry.variant(pkgutil.resolve_name(entry.part))):
        yield
