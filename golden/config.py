"""The parameters of one accelerator build and every width derived from them.

``HardwareConfig`` is the one place where a width of the hardware numeric mode is defined; the
golden model (:mod:`halp_hw.golden.hardware`), the HDL, the testbenches and the reports read it
from here. ``docs/numeric-contract.md`` states them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .glm import LOSS_LATENCY, LOSSES, MARGIN_GUARD_BITS, sample_value_bits
from .validation import HalpInputError, check_int

__all__ = ["STEP_SHIFT", "STEP_MANTISSA_BITS", "HardwareConfig"]

#: Fraction bits of the step coefficient ``m / 2**STEP_SHIFT`` (a fixed shift: no barrel shifter).
STEP_SHIFT = 16
#: Width of the unsigned step mantissa ``m``.
STEP_MANTISSA_BITS = 18


def _clog2(value: int) -> int:
    return max(0, (value - 1).bit_length())


@dataclass(frozen=True)
class HardwareConfig:
    """The parameters of one accelerator build, and every width derived from them.

    Parameters
    ----------
    bits : int
        Width of the offset ``z`` (the paper's b), 2..16.
    data_bits : int
        Width of the data ``x``, 2..16.
    frac_bits : int
        Fraction bits kept below the LSB of ``z`` in the update, which is also the number of
        random bits each lane draws per beat for stochastic rounding, 1..24.
    lanes : int
        MACC lanes L, 1..64; a row of d features takes ``ceil(d / L)`` beats.
    d_max : int
        Largest number of features, 1..4096 (sizes the on-chip row buffer, z and G).
    n_max : int
        Largest number of samples, 1..2**24 (sizes the off-chip addresses only).
    sigmoid_in_bits : int
        Width of the sigmoid unit's signed input, 4..24.
    sigmoid_in_frac : int
        Fraction bits of that input, 0..sigmoid_in_bits - 2 (the default 11 covers [-16, 16)).
    sigmoid_out_bits : int
        Width of its unsigned output, all fraction bits, 4..24.
    sigmoid_table_bits : int
        log2 of the segments of its table, 1..sigmoid_in_bits - 2.
    center_bits : int
        Width of the on-chip center ``w~`` when the accelerator computes the full gradient,
        16..48 (``halp_hw.golden.full_gradient``).
    gradient_data_bits : int
        Width of the data copy the full-gradient pass reads, 2..24, or 0 for the inner loop's
        ``data_bits``.
    problem : str
        The loss the core is built for (``halp_hw.golden.glm.LOSSES``): ``linreg``, ``logreg``
        (the sigmoid unit in the coefficient path) or ``svm`` (a hinge stage).
    row_slots : int
        Rows the on-chip row buffer holds, 3..64: the pass reads two, the others are fetched
        ahead; a memory round trip of up to ``row_slots - 2`` steps is hidden
        (``halp_hw.golden.memory.step_cost``).

    Attributes
    ----------
    dot_width : int
        Width of ``x_i . z``: never overflows for any d <= d_max.
    beat_sum_width : int
        Width of one beat's sum of the L lanes' products (a part of ``x_i . z``).
    coef_width : int
        Width of the step coefficient ``c`` (clamped; the clamp provably never changes ``z``).
    grad_width : int
        Width of the per-epoch gradient term ``G`` (saturated on load, counted by the host).
    update_width : int
        Width of ``v`` before rounding: exact.
    margin_bits, margin_frac : int
        The streamed margin ``a_i`` of logistic regression: signed width and fraction bits
        (the sigmoid input widened by ``halp_hw.golden.glm.MARGIN_GUARD_BITS``).
    sample_value_bits : int
        Bits of the per-sample value streamed with each row (0 for least squares).
    """

    bits: int = 8
    data_bits: int = 8
    frac_bits: int = 16
    lanes: int = 8
    d_max: int = 128
    n_max: int = 256
    sigmoid_in_bits: int = 16
    sigmoid_in_frac: int = 11
    sigmoid_out_bits: int = 16
    sigmoid_table_bits: int = 8
    center_bits: int = 32
    gradient_data_bits: int = 0
    problem: str = "linreg"
    row_slots: int = 8

    def __post_init__(self):
        check_int("bits", self.bits, 2, 16)
        check_int("data_bits", self.data_bits, 2, 16)
        check_int("frac_bits", self.frac_bits, 1, 24)
        check_int("lanes", self.lanes, 1, 64)
        check_int("d_max", self.d_max, 1, 4096)
        check_int("sigmoid_in_bits", self.sigmoid_in_bits, 4, 24)
        check_int("sigmoid_in_frac", self.sigmoid_in_frac, 0, self.sigmoid_in_bits - 2)
        check_int("sigmoid_out_bits", self.sigmoid_out_bits, 4, 24)
        check_int("sigmoid_table_bits", self.sigmoid_table_bits, 1, self.sigmoid_in_bits - 2)
        check_int("n_max", self.n_max, 1, 1 << 24)
        check_int("center_bits", self.center_bits, 16, 48)
        if self.gradient_data_bits != 0:
            check_int("gradient_data_bits", self.gradient_data_bits, 2, 24)
        check_int("row_slots", self.row_slots, 3, 64)
        if self.problem not in LOSSES:
            raise HalpInputError(f"problem must be one of {', '.join(LOSSES)}, "
                                 f"not {self.problem!r}")

    # -- derived widths ------------------------------------------------------------------
    @property
    def dot_width(self) -> int:
        # -d * 2**(data_bits-1) * 2**(bits-1) <= x . z <= d * 2**(data_bits-1) * 2**(bits-1): the
        # top (all x and z at their minimum) needs bit_length(d_max), not clog2, above the sign.
        return self.data_bits + self.bits - 1 + self.d_max.bit_length()

    @property
    def beat_sum_width(self) -> int:
        """Width of one beat's sum of the L lanes' ``x_next * z_new`` (the adder tree's output)."""
        return self.data_bits + self.bits + _clog2(self.lanes)

    @property
    def coef_width(self) -> int:
        # Wide enough that any clamped |c| >= 2**(bits+F+2) - 1 drives v past the z range
        # whatever z, G and r are, exactly as the unclamped value would.
        return self.bits + self.frac_bits + 3

    @property
    def grad_width(self) -> int:
        return self.bits + self.frac_bits + 1

    @property
    def update_width(self) -> int:
        return self.data_bits + self.coef_width + 1

    @property
    def coef_product_width(self) -> int:
        """Width of ``difference * m`` in the logistic or SVM coefficient path."""
        difference = self.sigmoid_out_bits + 1 if self.problem == "logreg" else self.dot_width
        return difference + STEP_MANTISSA_BITS

    @property
    def margin_frac(self) -> int:
        return self.sigmoid_in_frac + MARGIN_GUARD_BITS

    @property
    def margin_bits(self) -> int:
        return self.sigmoid_in_bits + MARGIN_GUARD_BITS

    @property
    def sample_value_bits(self) -> int:
        return sample_value_bits(self)

    @property
    def sample_words(self) -> int:
        """Memory words after each row that hold its per-sample value (0 for least squares)."""
        return -(-self.sample_value_bits // (self.lanes * self.data_bits))

    def fetch_words(self, d: int) -> int:
        """Words one row fetch reads, the row's stride in memory: its beats and its value."""
        return self.beats(d) + self.sample_words

    @property
    def max_fetch_words(self) -> int:
        """:meth:`fetch_words` at ``d_max``."""
        return self.words_per_row + self.sample_words

    @property
    def words_per_row(self) -> int:
        """Memory words of L values that one row of ``d_max`` features occupies."""
        return math.ceil(self.d_max / self.lanes)

    @property
    def tree_stages(self) -> int:
        """Register stages in the lane adder tree: one per two adder levels."""
        return math.ceil(_clog2(self.lanes) / 2)

    @property
    def pipeline_latency(self) -> int:
        """Cycles an inner step costs beyond its ``ceil(d/L)`` beats (see the datapath doc)."""
        return 6 + self.tree_stages + LOSS_LATENCY[self.problem]

    def beats(self, d: int) -> int:
        """Beats (cycles of L lanes) that a row of ``d`` features takes."""
        return math.ceil(d / self.lanes)

    def step_cycles(self, d: int) -> int:
        """Cycles of one inner step on ``d`` features when no memory stall: the pass and the
        pipeline drain (``halp_hw.golden.memory.step_cost`` adds the memory's bounds)."""
        return self.beats(d) + self.pipeline_latency

    def check_problem_size(self, n: int, d: int) -> None:
        """Raise if a data set of ``n`` samples and ``d`` features does not fit this build."""
        check_int("n (samples)", n, 1, self.n_max)
        check_int("d (features)", d, 1, self.d_max)
