"""The shared pseudo-random streams: xorshift32 itself, seeding, sample indices, lane bits."""

import numpy as np
import pytest

from halp_hw.golden.prng import (
    LaneRandom, SampleOrder, lane_stream, stream_key, stream_seed, xorshift32,
)
from halp_hw.golden.validation import HalpInputError


def test_xorshift32_first_outputs_from_state_one():
    # By hand: 1 ^ 1<<13 = 8193; 8193 >> 17 = 0; 8193 ^ 8193<<5 = 8193 ^ 262176 = 270369.
    assert xorshift32(1) == 270369
    # Marsaglia's paper lists 2463534242 as the example seed; its first output:
    x = 2463534242
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    assert xorshift32(2463534242) == x == 723471715


def test_vector_and_scalar_xorshift_agree():
    states = np.array([1, 0xFFFFFFFF, 0x80000000, 12345], dtype=np.uint32)
    vector = xorshift32(states)
    assert vector.dtype == np.uint32
    assert [int(v) for v in vector] == [xorshift32(int(s)) for s in states]


def test_stream_seed_is_never_zero_and_streams_differ():
    for stream in range(70):
        assert stream_seed(stream_key(stream), stream) == stream_key(stream)  # the zero case
        assert stream_seed(0, stream) == stream_key(stream)
    seeds = {stream_seed(7, lane_stream(lane)) for lane in range(64)}
    assert len(seeds) == 64


@pytest.mark.parametrize("seed", [-1, 1 << 32, 1.5])
def test_seed_range_is_checked(seed):
    with pytest.raises(HalpInputError, match=r"seed must be an integer in 0\.\.4294967295"):
        stream_seed(seed, 0)


def test_sample_indices_in_range_and_roughly_uniform():
    order = SampleOrder(10, seed=3)
    indices = order.take(20000)
    assert indices.min() == 0 and indices.max() == 9
    counts = np.bincount(indices, minlength=10)
    # 20000 draws over 10 bins: each count ~ Binomial(20000, 0.1), sd ~ 42.
    assert np.all(np.abs(counts - 2000) < 6 * 43)


def test_sample_order_is_multiply_high_of_the_stream():
    order = SampleOrder(1000, seed=5)
    state = stream_seed(5, 0)
    for _ in range(100):
        state = xorshift32(state)
        assert order.next() == (state * 1000) >> 32


def test_lane_random_is_top_bits_of_each_lane_stream():
    lanes = LaneRandom(lanes=3, bits=5, seed=11)
    bits = lanes.draw(4)
    assert bits.shape == (4, 3)
    for lane in range(3):
        state = stream_seed(11, lane_stream(lane))
        for beat in range(4):
            state = xorshift32(state)
            assert bits[beat, lane] == state >> 27
