"""The exact cycles of a whole epoch on the accelerator: full-gradient pass, finish, inner loop,
center update.

This extends :mod:`halp_hw.golden.memory` (the same :class:`~halp_hw.golden.memory.MemoryTiming`,
the same ``read_cycles``) to the epoch of ``--full-gradient accelerator``
(``docs/numeric-contract.md``, "The epoch on the accelerator"; ``docs/datapath.md``). Each phase
is one command; a phase's cycles count from the cycle in which its command is accepted (cycle 0)
to the cycle in which the next command can be.

- FULL_GRADIENT, the pass: the request for the pass's whole region (``n`` rows of
  ``ceil(d/L)`` data words and their target words, contiguous) is valid from cycle 1; the words
  are consumed as they arrive, one beat of the L lanes per data word, so the pass is as fast as
  the memory delivers. After the last word: the dot product's adder tree
  (``tree_stages``), ``PASS_RESIDUAL_LATENCY`` (the dot register, ``r = dot - yq``), in a
  logistic build ``PASS_LOSS_LATENCY`` more (the margin, the sigmoid input and the sigmoid
  unit before the residual), the last row's ``ceil(d/L)`` accumulate beats and
  ``ACCUMULATE_LATENCY``.
- FINISH (same command), one feature every :func:`finish_period` cycles on two digit-serial
  multipliers (``wc_j LAMBDA.m``, then ``t_j**2`` or ``t_j A.m``, one digit of
  :data:`MULTIPLIER_DIGIT_BITS` bits per cycle; whatever L): ``d`` features of ``t_j`` and
  ``t_j**2``, the running sum, leading ones and the compare, then ``d`` features computing ``G``
  (and clearing ``z``); :func:`finish_cycles`.
- RUN: ``T`` inner steps, :func:`halp_hw.golden.memory.run_cycles`.
- UPDATE: ``ceil(d/L)`` beats of ``wc += rshift(z, ec - e)`` and ``UPDATE_LATENCY``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .full_gradient import CONSTANT_BITS, PassWidths
from .memory import MemoryTiming, run_cycles
from .validation import check_int

__all__ = ["PASS_RESIDUAL_LATENCY", "PASS_LOSS_LATENCY", "ACCUMULATE_LATENCY",
           "MULTIPLIER_DIGIT_BITS", "FINISH_LATENCY", "GRADIENT_LATENCY", "UPDATE_LATENCY",
           "EpochCost", "pass_cycles", "multiplier_digits", "finish_products", "finish_period",
           "finish_cycles", "update_cycles", "epoch_cost", "pass_bytes"]

#: Registers after the dot product's adder tree: the dot, then ``r = dot - yq``.
PASS_RESIDUAL_LATENCY = 2
#: Cycles a loss adds between the dot and the residual: logistic regression registers the
#: margin ``A_i`` and the sigmoid input, then the sigmoid unit's 5 stages
#: (:class:`halp_hw.hdl.sigmoid.SigmoidUnit`).
PASS_LOSS_LATENCY = {"linreg": 0, "logreg": 2 + 5}
#: The accumulator register after the last accumulate beat.
ACCUMULATE_LATENCY = 1
#: Bits of ``b`` a digit-serial multiplier of the finish takes per cycle (a signed digit of
#: ``MULTIPLIER_DIGIT_BITS + 1`` bits fills an 18-bit DSP input).
MULTIPLIER_DIGIT_BITS = 17
#: Besides the two products, after the last read of the first sweep: the read register, the
#: ``t`` register, the running sum of squares, the scale-exponent unit (leading ones, compare).
FINISH_LATENCY = 5
#: Besides the two products, after the last read of the second sweep: the read register, the
#: ``t`` register, the shift, the clamp into the word of ``G`` and its write.
GRADIENT_LATENCY = 4
#: Read of ``z`` and ``wc``, then the shifted add, clamp and write.
UPDATE_LATENCY = 2


def pass_cycles(config, memory: MemoryTiming, n: int, d: int) -> int:
    """Cycles of the full-gradient pass over ``n`` rows of ``d`` features."""
    check_int("n (samples)", n, 1)
    widths = PassWidths.of(config)
    beats = config.beats(d)
    read = memory.read_cycles(n * widths.row_words(beats), widths.word_bits)
    return (1 + read + 1 + config.tree_stages + PASS_RESIDUAL_LATENCY
            + PASS_LOSS_LATENCY[config.problem] + beats + ACCUMULATE_LATENCY)


def multiplier_digits(width: int) -> int:
    """Cycles of a digit-serial product whose ``b`` has ``width`` bits: its digits."""
    return -(-width // MULTIPLIER_DIGIT_BITS)


def finish_products(config) -> tuple[int, int]:
    """Cycles from start to result of the finish's two products, ``wc LAMBDA.m`` (``b`` the
    unsigned ``LAMBDA.m``) and ``t**2`` or ``t A.m`` (``b`` a ``t`` of ``acc_width + 1``
    bits): the digits and the product register."""
    return (multiplier_digits(CONSTANT_BITS + 1) + 1,
            multiplier_digits(PassWidths.of(config).acc_width + 1) + 1)


def finish_period(config) -> int:
    """Cycles between two features of a sweep: the digits of the ``t`` product (a new product
    starts with the last digit of the previous), at least 3 (``acc_j`` is held until ``t_j``)."""
    return max(3, *(latency - 1 for latency in finish_products(config)))


def finish_cycles(config, d: int) -> int:
    """Cycles from the pass's accumulators to ``G``, the new exponent and a cleared ``z``."""
    check_int("d (features)", d, 1)
    sweep = finish_period(config) * (d - 1) + sum(finish_products(config))
    return sweep + FINISH_LATENCY + sweep + GRADIENT_LATENCY


def update_cycles(config, d: int) -> int:
    """Cycles of the end-of-epoch center update."""
    return config.beats(d) + UPDATE_LATENCY


def pass_bytes(config, n: int, d: int) -> float:
    """Bytes the pass reads from off-chip memory per epoch."""
    widths = PassWidths.of(config)
    return n * widths.row_words(config.beats(d)) * widths.word_bits / 8


@dataclass(frozen=True)
class EpochCost:
    """The cycles of one epoch with the full gradient on chip, by phase."""

    full_gradient: int
    finish: int
    inner: int
    update: int

    @property
    def cycles(self) -> int:
        return self.full_gradient + self.finish + self.inner + self.update


def epoch_cost(config, memory: MemoryTiming, n: int, d: int, epoch_length: int,
               order: str = "xorshift") -> EpochCost:
    """The phases of one epoch of ``epoch_length`` inner steps."""
    check_int("epoch length", epoch_length, 1)
    return EpochCost(pass_cycles(config, memory, n, d), finish_cycles(config, d),
                     run_cycles(config, memory, d, order, epoch_length),
                     update_cycles(config, d))
