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
- FINISH (same command), one feature per cycle (one multiplier of each kind, whatever L):
  ``d`` cycles of ``t_j`` and ``t_j**2``, ``FINISH_LATENCY`` (the ``wc_j LAMBDA.m`` and ``t_j``
  registers, square register, running sum, leading ones, the compare), then ``d`` cycles
  computing ``G`` (and clearing ``z``), and ``GRADIENT_LATENCY``.
- RUN: ``T`` inner steps, :func:`halp_hw.golden.memory.run_cycles`.
- UPDATE: ``ceil(d/L)`` beats of ``wc += rshift(z, ec - e)`` and ``UPDATE_LATENCY``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .full_gradient import PassWidths
from .memory import MemoryTiming, run_cycles
from .validation import check_int

__all__ = ["PASS_RESIDUAL_LATENCY", "PASS_LOSS_LATENCY", "ACCUMULATE_LATENCY", "FINISH_LATENCY",
           "GRADIENT_LATENCY", "UPDATE_LATENCY", "EpochCost", "pass_cycles", "finish_cycles",
           "update_cycles", "epoch_cost", "pass_bytes"]

#: Registers after the dot product's adder tree: the dot, then ``r = dot - yq``.
PASS_RESIDUAL_LATENCY = 2
#: Cycles a loss adds between the dot and the residual: logistic regression registers the
#: margin ``A_i`` and the sigmoid input, then the sigmoid unit's 5 stages
#: (:class:`halp_hw.hdl.sigmoid.SigmoidUnit`).
PASS_LOSS_LATENCY = {"linreg": 0, "logreg": 2 + 5}
#: The accumulator register after the last accumulate beat.
ACCUMULATE_LATENCY = 1
#: The ``wc LAMBDA.m`` and ``t`` registers, square register, running sum of squares,
#: leading-one positions, the compare.
FINISH_LATENCY = 6
#: The ``wc LAMBDA.m`` and ``t`` registers, product ``t * A``, the shift, the clamp into the
#: word of ``G`` and its write.
GRADIENT_LATENCY = 5
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


def finish_cycles(config, d: int) -> int:
    """Cycles from the pass's accumulators to ``G``, the new exponent and a cleared ``z``."""
    check_int("d (features)", d, 1)
    return d + FINISH_LATENCY + d + GRADIENT_LATENCY


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
