"""The seeded pseudo-random sources that golden model and RTL share, bit for bit.

All streams are Marsaglia's xorshift32 (shifts 13, 17, 5; period 2**32 - 1, state never zero):

    x ^= x << 13;  x ^= x >> 17;  x ^= x << 5      (all mod 2**32)

One user seed feeds several independent streams. Stream ``k`` starts from

    state_k = seed ^ key(k),   key(k) = (0x9E3779B9 * (k + 1)) mod 2**32,

replaced by ``key(k)`` itself when that XOR is zero. Stream 0 draws the sample indices; stream
``1 + l`` is the stochastic-rounding source of lane ``l``. Every draw first advances the state
and then uses the new state.

- A sample index in ``0..n-1`` is ``(state * n) >> 32`` (multiply-high, no division).
- The ``r`` random bits of a lane are the top ``r`` bits of its state, ``state >> (32 - r)``.
"""

from __future__ import annotations

import numpy as np

from .validation import check_int

__all__ = [
    "STATE_BITS", "GOLDEN_RATIO_KEY", "SAMPLE_STREAM", "stream_key", "stream_seed",
    "lane_stream", "xorshift32", "SampleOrder", "LaneRandom",
]

STATE_BITS = 32
MASK = (1 << STATE_BITS) - 1
GOLDEN_RATIO_KEY = 0x9E3779B9
SAMPLE_STREAM = 0


def lane_stream(lane: int) -> int:
    """The stream number of lane ``lane``'s stochastic-rounding source."""
    return 1 + lane


def stream_key(stream: int) -> int:
    """The constant XORed into the seed for stream ``stream``; never zero."""
    return (GOLDEN_RATIO_KEY * (stream + 1)) & MASK


def stream_seed(seed: int, stream: int) -> int:
    """The initial (non-zero) xorshift32 state of ``stream`` for user seed ``seed``."""
    seed = check_int("seed", seed, 0, MASK)
    state = seed ^ stream_key(stream)
    return state if state else stream_key(stream)


def xorshift32(state):
    """One xorshift32 step; works on a Python int or elementwise on a uint32 array."""
    if isinstance(state, np.ndarray):
        state = state.astype(np.uint32, copy=True)
        state ^= state << np.uint32(13)
        state ^= state >> np.uint32(17)
        state ^= state << np.uint32(5)
        return state
    state ^= (state << 13) & MASK
    state ^= state >> 17
    state ^= (state << 5) & MASK
    return state


class SampleOrder:
    """The sample-index stream: uniform indices in ``0..n-1``, identical in every solver and in RTL.

    Parameters
    ----------
    n : int
        Number of samples, >= 1.
    seed : int
        User seed, ``0..2**32-1``.
    """

    def __init__(self, n: int, seed: int):
        self.n = check_int("n", n, 1)
        self.state = stream_seed(seed, SAMPLE_STREAM)

    def next(self) -> int:
        """Advance and return the next index."""
        self.state = xorshift32(self.state)
        return (self.state * self.n) >> STATE_BITS

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` indices as an int64 array."""
        return np.fromiter((self.next() for _ in range(count)), dtype=np.int64, count=count)


class LaneRandom:
    """The stochastic-rounding sources of ``lanes`` parallel lanes, ``bits`` random bits per draw.

    Parameters
    ----------
    lanes : int
        Number of lanes, >= 1.
    bits : int
        Random bits per lane per draw, ``1..32``.
    seed : int
        User seed, ``0..2**32-1``.
    """

    def __init__(self, lanes: int, bits: int, seed: int):
        check_int("lanes", lanes, 1)
        self.bits = check_int("random bits", bits, 1, STATE_BITS)
        self.state = np.array([stream_seed(seed, lane_stream(lane)) for lane in range(lanes)],
                              dtype=np.uint32)

    def draw(self, beats: int) -> np.ndarray:
        """Advance every lane ``beats`` times; return the bits as an int64 array (beats, lanes)."""
        out = np.empty((beats, self.state.size), dtype=np.int64)
        shift = np.uint32(STATE_BITS - self.bits)
        for beat in range(beats):
            self.state = xorshift32(self.state)
            out[beat] = self.state >> shift
        return out
