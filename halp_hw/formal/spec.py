"""The numeric contract (``docs/numeric-contract.md``) as Amaranth expressions, for the harnesses.

These are written from the contract's text, apart from the HDL and from the golden model: a clamp
by comparison (the HDL uses a truncate-and-compare trick), the floor of a shift by its defining
inequality, xorshift32 as Marsaglia's three steps, and the stream keys from their formula.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal

__all__ = ["signed_bounds", "clamp", "fits", "xorshift32", "contract_stream_key",
           "contract_stream_start", "delayed", "cycles_since_start"]

#: The contract's stream-key multiplier: ``key(k) = 0x9E3779B9 * (k + 1) mod 2**32``.
CONTRACT_KEY_MULTIPLIER = 0x9E3779B9
STATE_MASK = (1 << 32) - 1


def signed_bounds(width: int) -> tuple[int, int]:
    """The least and greatest ``width``-bit two's-complement integers."""
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def clamp(value, width: int):
    """``value`` clamped to ``width`` signed bits, by comparison; and whether it was clamped."""
    low, high = signed_bounds(width)
    return Mux(value > high, high, Mux(value < low, low, value)), (value > high) | (value < low)


def fits(value, width: int):
    """True when ``value`` lies in the ``width``-bit signed range."""
    low, high = signed_bounds(width)
    return (value >= low) & (value <= high)


def xorshift32(state):
    """Marsaglia's xorshift32 (13, 17, 5), modulo ``2**32``."""
    state = (state ^ (state << 13))[:32]
    state = state ^ (state >> 17)
    return (state ^ (state << 5))[:32]


def contract_stream_key(stream: int) -> int:
    """The key of stream ``stream``, from the contract's formula."""
    return (CONTRACT_KEY_MULTIPLIER * (stream + 1)) & STATE_MASK


def contract_stream_start(seed, stream: int):
    """The state a seed load gives stream ``stream``: ``seed ^ key``, or ``key`` if that is 0."""
    key = contract_stream_key(stream)
    if isinstance(seed, int):
        return (seed ^ key) or key
    return Mux((seed ^ key) == 0, key, seed ^ key)


def delayed(m: Module, value, cycles: int, name: str) -> list:
    """``value`` delayed by 1..``cycles`` cycles (harness registers); element ``k`` is ``k + 1``
    cycles late."""
    copies, previous = [], value
    for index in range(cycles):
        copy = Signal(value.shape(), name=f"{name}_d{index + 1}")
        m.d.sync += copy.eq(previous)
        copies.append(copy)
        previous = copy
    return copies


def cycles_since_start(m: Module, limit: int) -> Signal:
    """A counter of cycles since the initial state, saturating at ``limit``: the harness checks
    a delayed property once its history registers hold real inputs."""
    count = Signal(range(limit + 1), name="cycles_since_start")
    with m.If(count != limit):
        m.d.sync += count.eq(count + 1)
    return count

