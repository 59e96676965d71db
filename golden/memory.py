"""Off-chip memory timing and the exact cycle count of the inner steps, stalls included.

The accelerator keeps no training data on chip: every inner step fetches one row from an
off-chip memory (``docs/datapath.md``). The memory is pipelined: it accepts a request in any
cycle in which its request queue has room, and serves the requests in order on one data channel.
A request of ``k`` words is cut into bursts of at most ``burst_bytes``; a request's first burst
starts ``latency`` cycles after its acceptance, but not before the previous request's last word
has left; each further burst starts ``latency`` cycles after the last word of the burst before.
In a burst the words stream out at ``bytes_per_cycle`` (at most one word per cycle, the port's
width). This module is the single definition of that timing on the golden side; the RTL memory
model (``halp_hw.hdl.memory_model``) implements it, and the RTL ``cycles`` counter must equal
:func:`run_cycles` summed over the run commands, on every backend.

The core fetches ahead: its row buffer holds ``S = config.row_slots`` rows (a row is
``config.fetch_words(d)`` words: in a logistic or SVM build its per-sample value follows it). The seed command
fetches rows ``i_0 .. i_{S-2}``; step ``t`` starts in cycle 0 (the cycle in which the previous
step ends, or the RUN command is accepted), takes the row address of sample ``i_{t+S-1}`` and
requests that row (the request is accepted in cycle 1) into the slot of row ``i_{t-1}``; its
pass of ``ceil(d/L)`` beats reads rows ``i_t`` and ``i_{t+1}``, already on chip. The step ends
in the first cycle ``E`` in which (a) the pipeline has drained (``E >= ceil(d/L) +
pipeline_latency``), (b) row ``i_{t+2}`` has arrived (its last word was written at least one
cycle earlier) and (c) the row address of ``i_{t+S}`` is ready. With a host-given order, the
core also reads the order ``ORDER_AHEAD = S`` entries ahead of the addresses it has taken: each
step requests one entry (accepted in cycle 1). A run command ends with its last step (the
``busy`` cycles counted); the core accepts the next command once the fetches in flight have
arrived, so every run command starts from the same state and its cycle count is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .validation import HalpInputError, check_int

__all__ = ["ORDER_WORD_BITS", "SAMPLE_ORDERS", "DRAW_LATENCY", "ORDER_INDEX_REGISTERS",
           "STEP_WAITS", "TIMING_LIMITS", "MemoryTiming", "StepCost", "step_cost", "run_cycles",
           "run_waits", "order_lookahead",
           "HostOrder", "host_sample_order"]

#: Width of one entry of a host-given sample order in memory (the index in its low bits).
ORDER_WORD_BITS = 32
#: Where the sample indices come from: the on-chip xorshift32 stream, or a host-given order.
SAMPLE_ORDERS = ("xorshift", "host")
#: Cycles from taking a row address to the next one being ready with the xorshift32 stream:
#: the take, advance, the four partial products of ``state * n``, two half sums, their total,
#: the index, ``index * row_words``: a register each.
DRAW_LATENCY = 7
#: Registers from popping an order entry to its row address: the entry, the index, then
#: ``index * row_words``. The entry is popped in the cycle its address is taken, or in the
#: cycle after it arrived, whichever is later.
ORDER_INDEX_REGISTERS = 3

#: The largest value of each field of :class:`MemoryTiming` (the smallest is 1).
TIMING_LIMITS = {"latency": 4096, "bytes_per_cycle": 4096, "burst_bytes": 1 << 20}


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
        check_int("memory latency (cycles)", self.latency, 1, TIMING_LIMITS["latency"])
        check_int("memory bandwidth (bytes per cycle)", self.bytes_per_cycle, 1,
                  TIMING_LIMITS["bytes_per_cycle"])
        check_int("memory burst (bytes)", self.burst_bytes, 1, TIMING_LIMITS["burst_bytes"])

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
    """The steady-state bounds of an inner step (many steps after a run command's start).

    Attributes
    ----------
    compute : int
        ``ceil(d/L) + pipeline_latency``: the pass and the drain of the pipeline.
    fetch : int
        The row fetches: a row's time on the memory's data channel (the transfer of its
        ``config.fetch_words(d)`` words, its beats and, in a logistic or SVM build, its
        per-sample value, plus the ``latency - 1`` idle cycles before every burst after the
        first), or the round trip of a row (``latency`` plus that channel time) shared by the
        ``S - 2`` steps it is fetched ahead, rounded up.
    index : int
        The row addresses: ``DRAW_LATENCY`` with the xorshift32 stream; with a host-given order,
        ``ORDER_INDEX_REGISTERS``, an entry's time on the order memory's channel, or its round
        trip (``latency``, the channel time and the pop and registers) shared by the
        ``ORDER_AHEAD`` steps it is read ahead, rounded up.

    The exact count of a run command is :func:`run_cycles`; it equals ``steps * cycles`` when
    the step is compute-bound.
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


def _check_order(order: str) -> None:
    if order not in SAMPLE_ORDERS:
        raise HalpInputError(f"sample order must be one of {', '.join(SAMPLE_ORDERS)}, "
                             f"not {order!r}")


def _channel_cycles(memory: MemoryTiming, words: int, word_bits: int) -> int:
    """Cycles a request of ``words`` words holds the data channel, first word to last: its
    bursts' transfers and the ``latency - 1`` idle cycles before every burst after the first."""
    burst = memory.burst_words(word_bits)
    full, rest = divmod(words, burst)
    bursts = full + (1 if rest else 0)
    return (full * memory.transfer_cycles(burst, word_bits)
            + (memory.transfer_cycles(rest, word_bits) if rest else 0)
            + (bursts - 1) * (memory.latency - 1))


def step_cost(config, memory: MemoryTiming, d: int, order: str = "xorshift") -> StepCost:
    """The steady-state bounds of one inner step on ``d`` features (``config``: a
    ``HardwareConfig``)."""
    _check_order(order)
    ahead = config.row_slots - 2
    row = _channel_cycles(memory, config.fetch_words(d), config.lanes * config.data_bits)
    fetch = max(row, -(-(memory.latency + row) // ahead))
    if order == "xorshift":
        index = DRAW_LATENCY
    else:
        entry = _channel_cycles(memory, 1, ORDER_WORD_BITS)
        round_trip = memory.latency + entry + ORDER_INDEX_REGISTERS
        index = max(ORDER_INDEX_REGISTERS, entry, -(-round_trip // config.row_slots))
    return StepCost(compute=config.step_cycles(d), fetch=fetch, index=index)


class _Channel:
    """A memory's data channel: the cycle of the last word of each request, in order."""

    def __init__(self, memory: MemoryTiming, words: int, word_bits: int):
        burst = memory.burst_words(word_bits)
        self.latency = memory.latency
        self.bursts = [memory.transfer_cycles(burst, word_bits)] * (words // burst)
        if words % burst:
            self.bursts.append(memory.transfer_cycles(words % burst, word_bits))
        self.last = -(1 << 62)

    def serve(self, accepted: int) -> int:
        """The cycle of the last word of a request accepted in cycle ``accepted``."""
        start = max(accepted + self.latency, self.last + 1)
        for transfer in self.bursts:
            end = start + transfer - 1
            start = end + self.latency
        self.last = end
        return end


#: What a step of a run command waits for at its end (:func:`run_waits`): nothing beyond the
#: pipeline's drain, row ``i_{t+2}`` (fetched ahead), or the row address of ``i_{t+S}``.
STEP_WAITS = ("none", "row i_{t+2}", "row address")


def run_waits(config, memory: MemoryTiming, d: int, order: str, steps: int) -> list[str]:
    """What each step of a run command of ``steps`` steps waits for (:data:`STEP_WAITS`);
    the row address only when it comes strictly after the row. The cycles are
    :func:`run_cycles`."""
    return _schedule(config, memory, d, order, steps)[1]


def run_cycles(config, memory: MemoryTiming, d: int, order: str, steps: int) -> int:
    """Exact cycles of a run command of ``steps`` inner steps (the RTL's ``busy`` cycles),
    stalls included; every run command starts with the fetches of the one before arrived."""
    return _schedule(config, memory, d, order, steps)[0]


def _schedule(config, memory: MemoryTiming, d: int, order: str,
              steps: int) -> tuple[int, list[str]]:
    """The end of a run command's last step and what each step waited for."""
    _check_order(order)
    check_int("steps", steps, 0)
    slots = config.row_slots
    compute = config.step_cycles(d)
    rows = _Channel(memory, config.fetch_words(d), config.lanes * config.data_bits)
    entries = _Channel(memory, 1, ORDER_WORD_BITS)
    row_arrival, entry_arrival, waits = [], [], []
    start = 0
    for step in range(steps):
        row_arrival.append(rows.serve(start + 1))
        row_ready = address_ready = start
        if step + 3 - slots >= 0:  # row i_{t+2}, requested by step t + 3 - S
            row_ready = row_arrival[step + 3 - slots] + 1
        if order == "xorshift":
            address_ready = start + DRAW_LATENCY
        else:
            entry_arrival.append(entries.serve(start + 1))
            popped = start
            if step + 1 - slots >= 0:  # the entry of i_{t+S}, requested by step t + 1 - S
                popped = max(popped, entry_arrival[step + 1 - slots] + 1)
            address_ready = popped + ORDER_INDEX_REGISTERS
        end = max(start + compute, row_ready, address_ready)
        waits.append("none" if end == start + compute else
                     "row address" if address_ready > row_ready else "row i_{t+2}")
        start = end
    return start, waits


def order_lookahead(config) -> int:
    """Entries of a host-given order the core reads past the last step: the ``S - 1`` rows
    fetched ahead and the ``ORDER_AHEAD = S`` entries read ahead of those."""
    return 2 * config.row_slots - 1


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


def host_sample_order(n: int, epochs: int, epoch_length: int, seed: int,
                      lookahead: int) -> np.ndarray:
    """A fresh permutation of ``0..n-1`` per epoch (repeated with new permutations when
    ``epoch_length > n``, cut at ``epoch_length``), and ``lookahead`` entries after the last
    epoch (:func:`order_lookahead`); what the host writes into the order memory."""
    check_int("n", n, 1)
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(epochs):
        permutations = [rng.permutation(n) for _ in range(math.ceil(epoch_length / n))]
        parts.append(np.concatenate(permutations)[:epoch_length])
    parts.append(rng.integers(0, n, lookahead))
    return np.concatenate(parts).astype(np.int64)
