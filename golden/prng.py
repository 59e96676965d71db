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

The streams are compiled with numba (states held in int64); ``NUMBA_DISABLE_JIT=1`` runs the same
functions as plain Python.
"""

from __future__ import annotations

import numba
import numpy as np

from .validation import check_int

__all__ = [
    "STATE_BITS", "GOLDEN_RATIO_KEY", "SAMPLE_STREAM", "stream_key", "stream_seed",
    "lane_stream", "xorshift32", "xorshift32_step", "SampleOrder", "LaneRandom",
]

STATE_BITS = 32
MASK = (1 << STATE_BITS) - 1
#: Largest sample count: ``state * n`` stays inside an int64.
MAX_SAMPLES = 1 << 31
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


@numba.njit(cache=True)
def xorshift32_step(state: int) -> int:
    """One xorshift32 step of a state held in an int64 (compiled; the one definition)."""
    state ^= (state << 13) & MASK
    state ^= state >> 17
    state ^= (state << 5) & MASK
    return state


@numba.njit(cache=True)
def _xorshift32_all(states: np.ndarray) -> np.ndarray:
    out = np.empty_like(states)
    for k in range(states.size):
        out[k] = xorshift32_step(states[k])
    return out


@numba.njit(cache=True)
def _sample_indices(state: int, n: int, count: int):
    """``count`` sample indices of the stream at ``state``; returns them and the new state."""
    indices = np.empty(count, dtype=np.int64)
    for t in range(count):
        state = xorshift32_step(state)
        indices[t] = (state * n) >> STATE_BITS
    return indices, state


@numba.njit(cache=True)
def _lane_bits(states: np.ndarray, bits: int, beats: int) -> np.ndarray:
    """Advance every lane's state (in place) ``beats`` times; the top ``bits`` bits of each."""
    out = np.empty((beats, states.size), dtype=np.int64)
    for beat in range(beats):
        for lane in range(states.size):
            states[lane] = xorshift32_step(states[lane])
            out[beat, lane] = states[lane] >> (STATE_BITS - bits)
    return out


def xorshift32(state):
    """One xorshift32 step; works on a Python int or elementwise on a uint32 array."""
    if isinstance(state, np.ndarray):
        return _xorshift32_all(state.astype(np.int64)).astype(np.uint32)
    return int(xorshift32_step(int(state)))


class SampleOrder:
    """The sample-index stream: uniform indices in ``0..n-1``, identical in every solver and in RTL.

    Parameters
    ----------
    n : int
        Number of samples, >= 1.
    seed : int
        User seed, ``0..2**32-1``.

    Attributes
    ----------
    state : int
        The stream's xorshift32 state (the last one drawn from).
    """

    def __init__(self, n: int, seed: int):
        self.n = check_int("n", n, 1, MAX_SAMPLES)
        self.state = stream_seed(seed, SAMPLE_STREAM)

    def next(self) -> int:
        """Advance and return the next index."""
        return int(self.take(1)[0])

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` indices as an int64 array."""
        indices, self.state = _sample_indices(self.state, self.n, count)
        self.state = int(self.state)
        return indices


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

    Attributes
    ----------
    state : numpy.ndarray of int64, shape (lanes,)
        Each lane's xorshift32 state.
    """

    def __init__(self, lanes: int, bits: int, seed: int):
        check_int("lanes", lanes, 1)
        self.bits = check_int("random bits", bits, 1, STATE_BITS)
        self.state = np.array([stream_seed(seed, lane_stream(lane)) for lane in range(lanes)],
                              dtype=np.int64)

    def draw(self, beats: int) -> np.ndarray:
        """Advance every lane ``beats`` times; return the bits as an int64 array (beats, lanes)."""
        return _lane_bits(self.state, self.bits, beats)
