"""Off-chip memory timing and the exact cycle cost of an inner step, stalls included.

The accelerator keeps no training data on chip: every inner step fetches one row from an
off-chip memory (``docs/datapath.md``). The memory serves one request at a time: a request of
``k`` words is cut into bursts of at most ``burst_bytes``; each burst waits ``latency`` cycles,
then its words stream out at ``bytes_per_cycle`` (at most one word per cycle, the port's width).
This module is the single definition of that timing on the golden side; the RTL memory model
(``halp_hw.hdl.memory_model``) implements it, and the RTL ``cycles`` counter must equal
:func:`inner_step_cycles` times the steps run, on every backend.

Step ``t`` starts in cycle 0 (the cycle in which the previous step ends, or the RUN command is
accepted). In it the core takes the row address of sample ``i_{t+2}`` and requests that row
(the request is valid from cycle 1); the pass of ``ceil(d/L)`` beats issues from cycle 1 on rows
``i_t`` and ``i_{t+1}``, already in the on-chip row buffer. The step ends in the first cycle
``E`` in which (a) the pipeline has drained (``E >= ceil(d/L) + pipeline_latency``), (b) the
fetch has completed (the last word was written at least one cycle earlier), and (c) the row
address of the sample after next is ready. ``E`` is the step's cost in cycles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .validation import HalpInputError, check_int

__all__ = ["ORDER_WORD_BITS", "SAMPLE_ORDERS", "DRAW_LATENCY", "ORDER_LOOKAHEAD", "MemoryTiming",
           "StepCost", "step_cost", "inner_step_cycles", "HostOrder", "host_sample_order"]

#: Width of one entry of a host-given sample order in memory (the index in its low bits).
ORDER_WORD_BITS = 32
#: Where the sample indices come from: the on-chip xorshift32 stream, or a host-given order.
SAMPLE_ORDERS = ("xorshift", "host")
#: Cycles from taking a row address to the next one being ready with the xorshift32 stream:
#: advance, the four partial products of ``state * n``, two half sums, their total, the index,
#: ``index * row_words``: a register each.
DRAW_LATENCY = 6
#: Registers after the order word arrives: the entry, the index, then ``index * row_words``.
ORDER_INDEX_REGISTERS = 3
#: Entries the core reads past the last step of a host-given order: the last step fetches row
#: ``i_{t+2}`` and reads the index ``i_{t+3}`` ahead.
ORDER_LOOKAHEAD = 3


@dataclass(frozen=True)
class MemoryTiming:
    """A deterministic off-chip memory, in cycles of the core's clock.

    The defaults are DDR3-like at a 100 MHz core clock: a DDR3-1600 x64 DIMM has a CAS latency
    of 11 memory cycles (13.75 ns) plus row activation (tRCD 13.75 ns) and a memory controller
    (a vendor soft controller adds roughly 100 ns), about 200 ns or 20 core cycles before the
    first word; its peak 12.8 GB/s is far above what a 100 MHz core takes, so the limit is the
    core-side 64-bit port, 8 bytes per cycle. A burst may be up to 4096 bytes, the AXI4 limit on
    one burst (it must not cross a 4 KB boundary).

    Parameters
    ----------
    latency : int
        Cycles from a request (or the end of the previous burst) to the first word, 1..4096.
    bytes_per_cycle : int
        Sustained bandwidth, 1..4096 bytes per cycle; a word never takes less than a cycle.
    burst_bytes : int
        Largest burst; a longer request pays the latency once per burst, 1..2**20.
    """

    latency: int = 20
    bytes_per_cycle: int = 8
    burst_bytes: int = 4096

    def __post_init__(self):
        check_int("memory latency (cycles)", self.latency, 1, 4096)
        check_int("memory bandwidth (bytes per cycle)", self.bytes_per_cycle, 1, 4096)
        check_int("memory burst (bytes)", self.burst_bytes, 1, 1 << 20)

    def burst_words(self, word_bits: int) -> int:
        """Words of ``word_bits`` in one burst (at least one)."""
        return max(1, self.burst_bytes * 8 // word_bits)

    def transfer_cycles(self, words: int, word_bits: int) -> int:
        """Cycles from the first to past the last word of one burst of ``words`` words.

        The memory earns ``8 * bytes_per_cycle`` bits of credit per cycle from the burst's first
        cycle and sends word ``j`` (from 0) once ``(j + 1) * word_bits`` bits are earned, at most
        one word per cycle: word ``j`` leaves in cycle
        ``max(j, ceil((j + 1) * word_bits / (8 * bytes_per_cycle)) - 1)``.
        """
        return max(words, -(-words * word_bits // (8 * self.bytes_per_cycle)))

    def read_cycles(self, words: int, word_bits: int) -> int:
        """The last word of a request of ``words`` words leaves this many cycles after the cycle
        in which the request was accepted.

        Each burst waits ``latency - 1`` cycles after the request (or after the previous
        burst's last word) and then transfers.
        """
        burst = self.burst_words(word_bits)
        full, rest = divmod(words, burst)
        cost = full * (self.latency - 1 + self.transfer_cycles(burst, word_bits))
        if rest:
            cost += self.latency - 1 + self.transfer_cycles(rest, word_bits)
        return cost


@dataclass(frozen=True)
class StepCost:
    """The three bounds of an inner step; the step costs the largest.

    Attributes
    ----------
    compute : int
        ``ceil(d/L) + pipeline_latency``: the pass and the drain of the pipeline.
    fetch : int
        The row fetch: request in cycle 1, ``read_cycles`` of the row, plus the cycle in which
        the core sees it complete.
    index : int
        The row address of the sample after next: ``DRAW_LATENCY`` with the xorshift32 stream;
        with a host-given order, the order word's request in cycle 1, its read, and
        ``ORDER_INDEX_REGISTERS``.
    """

    compute: int
    fetch: int
    index: int

    @property
    def cycles(self) -> int:
        return max(self.compute, self.fetch, self.index)

    @property
    def bound(self) -> str:
        """``compute`` when the pipeline sets the cost, else ``memory``."""
        return "compute" if self.compute >= max(self.fetch, self.index) else "memory"


def step_cost(config, memory: MemoryTiming, d: int, order: str = "xorshift") -> StepCost:
    """The bounds of one inner step on ``d`` features (``config``: a ``HardwareConfig``)."""
    if order not in SAMPLE_ORDERS:
        raise HalpInputError(f"sample order must be one of {', '.join(SAMPLE_ORDERS)}, "
                             f"not {order!r}")
    word_bits = config.lanes * config.data_bits
    beats = config.beats(d)
    fetch = 1 + memory.read_cycles(beats, word_bits) + 1
    if order == "xorshift":
        index = DRAW_LATENCY
    else:
        index = 1 + memory.read_cycles(1, ORDER_WORD_BITS) + ORDER_INDEX_REGISTERS
    return StepCost(compute=config.step_cycles(d), fetch=fetch, index=index)


def inner_step_cycles(config, memory: MemoryTiming, d: int, order: str = "xorshift") -> int:
    """Exact cycles of one inner step, stalls included: ``step_cost(...).cycles``."""
    return step_cost(config, memory, d, order).cycles


class HostOrder:
    """A host-given sample order: the indices in the order the core reads them from memory.

    Parameters
    ----------
    indices : array of int
        Every index in ``0..n-1``.
    n : int
        Number of samples.
    """

    def __init__(self, indices, n: int):
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= n):
            raise HalpInputError(f"a host-given sample order must hold indices 0..{n - 1}")
        self.position = 0

    def next(self) -> int:
        """The next index."""
        return int(self.take(1)[0])

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` indices as an int64 array."""
        if self.position + count > self.indices.size:
            raise HalpInputError(f"the host-given sample order has only {self.indices.size} "
                                 "entries; the run needs more")
        taken = self.indices[self.position:self.position + count].copy()
        self.position += count
        return taken


def host_sample_order(n: int, epochs: int, epoch_length: int, seed: int) -> np.ndarray:
    """A fresh permutation of ``0..n-1`` per epoch (repeated with new permutations when
    ``epoch_length > n``, cut at ``epoch_length``), and ``ORDER_LOOKAHEAD`` entries after the
    last epoch; what the host writes into the order memory."""
    check_int("n", n, 1)
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(epochs):
        permutations = [rng.permutation(n) for _ in range(math.ceil(epoch_length / n))]
        parts.append(np.concatenate(permutations)[:epoch_length])
    parts.append(rng.integers(0, n, ORDER_LOOKAHEAD))
    return np.concatenate(parts).astype(np.int64)
