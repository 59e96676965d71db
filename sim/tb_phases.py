"""The ``extremes`` and ``random`` scenarios of ``tb_core``: their inputs and their epochs.

``extremes`` puts the data, the step mantissa, the gradient words and the exponents at the ends
of their widths, so that every update saturates one way or the other; ``random`` draws uniform
random data, step mantissas and exponents, and gradient words that put each epoch's first
update on a rounding boundary (:func:`run_random`).
"""

from __future__ import annotations

import copy

import numpy as np

from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.hardware import STEP_MANTISSA_BITS, HalpHost
from halp_hw.hdl.centering import EXPONENT_BITS
from tb_lockstep import LockstepAccelerator
from tb_support import report_progress

__all__ = ["QUIET_WHOLE", "extreme_inputs", "run_extremes", "run_random", "random_inputs"]

#: The largest whole part ``|k_j|`` of the gradient words in a random phase's last epoch.
QUIET_WHOLE = 2


def extreme_inputs(host: HalpHost, rng: np.random.Generator) -> None:
    """Replace the host's data and step by the extremes of their widths (in place)."""
    config = host.config
    host.x_ints = rng.choice(int_range(config.data_bits), size=host.x_ints.shape)
    host.mantissa = (1 << STEP_MANTISSA_BITS) - 1


async def run_extremes(host: HalpHost, lockstep: LockstepAccelerator, rng) -> None:
    """Epochs of extreme gradients and exponents (both ends of the register)."""
    config = host.config
    exponents = [*int_range(EXPONENT_BITS), 0]
    for epoch in range(host.run.epochs):
        grad = rng.choice([*int_range(config.grad_width), 0], size=host.problem.d)
        await lockstep.load_gradient(grad)
        if config.sample_words:
            await lockstep.load_sample_values(
                rng.choice([*int_range(config.sample_value_bits), 0, 1], size=host.problem.n))
        await lockstep.recenter(exponents[epoch % len(exponents)])
        await lockstep.run(host.run.epoch_length)
        report_progress(f"extremes epoch {epoch + 1}")


async def run_random(host: HalpHost, lockstep: LockstepAccelerator, rng) -> None:
    """Epochs of random exponents and of gradients that put the first update of the epoch on
    a rounding boundary.

    After a recenter ``z`` and the coefficient are 0, so the epoch's first update of feature
    ``j`` is ``floor((r_j - G_j) / 2**F)``, where ``r_j`` is the lane's next random draw (read
    ahead from a copy of the golden streams). ``G_j = r_j + k_j 2**F`` (even epochs) or
    ``r_j - 2**F + 1 + k_j 2**F`` (odd epochs) with random ``k_j``: any change of ``G`` by one
    LSB (in the memory, the lane or the rounder) moves the result, which a random ``G`` would
    do only with probability about ``2**-F``.

    ``k_j`` spans the whole range of ``z`` except in the last epoch, where ``|k_j| <=``
    :data:`QUIET_WHOLE`: ``z`` then drifts slowly enough to stay inside its range for the
    epoch (with full-range ``k_j`` it saturates within a few steps), so the ``z`` compared at
    the end of the RUN still depends on every row it used.
    """
    config, d = host.config, host.problem.d
    low, high = int_range(EXPONENT_BITS)
    for epoch in range(host.run.epochs):
        ahead = copy.deepcopy(lockstep.model.lane_random)
        random = ahead.draw(config.beats(d)).reshape(-1)[:d]
        offset = 0 if epoch % 2 == 0 else 1 - (1 << config.frac_bits)
        if epoch == host.run.epochs - 1:  # z stays inside its range: the end shows the data
            span = min(QUIET_WHOLE, (1 << (config.bits - 1)) - 1)
            whole = rng.integers(-span, span + 1, size=d)
        else:
            whole = rng.integers(-(1 << (config.bits - 1)), 1 << (config.bits - 1), size=d)
        grad = random + offset + (whole << config.frac_bits)
        await lockstep.load_gradient(grad)
        if config.sample_words:
            low_value, high_value = int_range(config.sample_value_bits)
            await lockstep.load_sample_values(
                rng.integers(low_value, high_value + 1, size=host.problem.n))
        await lockstep.recenter(int(rng.integers(low, high + 1)))
        await lockstep.run(host.run.epoch_length)
        report_progress(f"random epoch {epoch + 1}")


def random_inputs(host: HalpHost, rng: np.random.Generator) -> None:
    """Replace the host's data and step by uniform random ones (in place)."""
    low, high = int_range(host.config.data_bits)
    host.x_ints = rng.integers(low, high + 1, size=host.x_ints.shape)
    host.mantissa = max(1, int(rng.integers(1, 1 << STEP_MANTISSA_BITS))
                        >> int(rng.integers(0, 12)))
