"""The ``boundary`` scenario of ``tb_core``: short epochs whose second inner step sits on the
rounding boundaries of every lane and of the sample-index product.

A change of one LSB below a rounding point (the lanes' products and sums, the gradient words,
the stochastic rounder, the low bits of the sample-index product ``state * n``) moves the result
only when the value sits right at the boundary: with random operands that happens with
probability about ``2**-F`` per update (``2**-32`` per draw for the index). Each epoch here is a
SEED, a gradient load, a recenter and one RUN of :data:`BOUNDARY_STEPS` steps, built so that

- step 1 (``z = 0``, ``c = 0``) moves every feature by a small random ``u_j``, so step 2 sees
  ``z != 0`` and a coefficient ``c``; in a least-squares build the step mantissa is drawn among
  those that put ``c``'s sum ``dot * m + 2**(S-1)`` less than :data:`COEF_SLACK` above (even
  epochs) or below (odd epochs) its rounding point, so that a change of a bit of the sum at
  ``COEF_SLACK`` or above moves ``c`` by one, and ``z`` with it (the next point);
- the low ``F`` bits of each gradient word (free: step 1 only needs ``r_j - G_j`` in
  ``[u_j 2**F, (u_j + 1) 2**F)``) put step 2's update of feature ``j`` exactly on its
  rounding boundary, from below or from above (alternating per feature and epoch): any change
  of an operand of that update by one LSB in the boundary's direction moves ``z``;
- with the xorshift32 order (two epochs in three), the sample stream's second draw (the row of
  step 2) has ``state * n mod 2**32`` within a few LSBs of 0 or of ``2**32`` (the seed is found
  by running xorshift32 backwards from that state): a change of the product by one LSB in the
  boundary's direction changes the row;
- with a host-given order (every third epoch), the order memory gets fresh random entries
  before the SEED, which reads them ahead again.
"""

from __future__ import annotations

import copy

import numpy as np

from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.hardware import STEP_MANTISSA_BITS, STEP_SHIFT
from halp_hw.golden.memory import HostOrder, order_lookahead
from halp_hw.golden.prng import MASK, SAMPLE_STREAM, STATE_BITS, SampleOrder, stream_key
from tb_support import report_progress

__all__ = ["BOUNDARY_STEPS", "COEF_SLACK", "aimed_mantissa", "xorshift32_back", "seed_for_state",
           "boundary_state", "choose_order", "run_boundary"]

#: Inner steps per epoch: step 1 moves ``z`` off 0, step 2 sits on the boundaries.
BOUNDARY_STEPS = 2
#: Tries of the random step-1 offsets and mantissa before the phase gives up.
TRIES = 64
#: How close (in LSBs of its sum) step 2's coefficient comes to its rounding point: a change of
#: a bit of the sum at ``COEF_SLACK`` or above in the point's direction moves the coefficient.
COEF_SLACK = 1 << 4


def _undo_left(value: int, shift: int) -> int:
    """The ``x`` of ``value = x ^ (x << shift)`` (mod 2**32)."""
    x = value
    for _ in range(STATE_BITS // shift + 1):
        x = value ^ ((x << shift) & MASK)
    return x


def _undo_right(value: int, shift: int) -> int:
    """The ``x`` of ``value = x ^ (x >> shift)``."""
    x = value
    for _ in range(STATE_BITS // shift + 1):
        x = value ^ (x >> shift)
    return x


def xorshift32_back(state: int) -> int:
    """The state from which xorshift32 (shifts 13, 17, 5) steps to ``state``."""
    return _undo_left(_undo_right(_undo_left(state, 5), 17), 13)


def seed_for_state(state: int, draw: int) -> int:
    """The user seed whose sample stream has ``state`` at its ``draw``-th draw (1 = first)."""
    for _ in range(draw):
        state = xorshift32_back(state)
    return state ^ stream_key(SAMPLE_STREAM)


def boundary_state(n: int, high: bool, rng: np.random.Generator) -> int:
    """A nonzero state with ``state * n mod 2**32`` a few LSBs (a random number below
    ``2**k``, random ``1 <= k <= 10``, times ``n``'s power of two) above 0 or below ``2**32``.
    (``k`` from 1: with an odd ``n`` there is one state per distance, and the distance 0 would
    come back in a fifth of the epochs.)"""
    twos = (n & -n).bit_length() - 1
    odd, free = n >> twos, STATE_BITS - twos
    while True:
        slack = int(rng.integers(0, 1 << int(rng.integers(1, 11))))
        residue = (1 << STATE_BITS) - ((slack + 1) << twos) if high else slack << twos
        state = ((residue >> twos) * pow(odd, -1, 1 << free)) % (1 << free)
        state |= int(rng.integers(0, 1 << twos)) << free
        if state:
            if (state * n) & MASK != residue:
                raise AssertionError(f"boundary state {state:#x}: state * n misses {residue:#x}")
            return state


def aimed_mantissa(dot: int, above: bool, rng: np.random.Generator) -> int | None:
    """A random step mantissa ``m`` that puts ``dot * m + 2**(S-1)`` (the step coefficient's
    sum, ``S = STEP_SHIFT``) less than :data:`COEF_SLACK` above a multiple of ``2**S`` (a
    rounding point: one LSB less lowers the coefficient) or at most :data:`COEF_SLACK` below
    one (``above`` False: a little more raises it); None when no mantissa does (``dot`` 0 or
    a multiple of a high power of two)."""
    mantissas = np.arange(1, 1 << STEP_MANTISSA_BITS, dtype=np.int64)
    residues = (dot * mantissas + (1 << (STEP_SHIFT - 1))) % (1 << STEP_SHIFT)
    near = residues < COEF_SLACK if above else residues >= (1 << STEP_SHIFT) - COEF_SLACK
    if not near.any():
        return None
    return int(rng.choice(mantissas[near]))


def _plan(model, seed: int, exponent: int, epoch: int, rng):
    """Gradient words and step mantissa that put step 2 of an epoch after ``SEED seed`` and
    ``RECENTER exponent`` on the lanes' rounding boundaries (checked on a copy of the golden
    model); None when no try gives an unsaturated step 2."""
    config, d, frac = model.config, model.d, model.config.frac_bits
    beats = config.beats(d)
    low, high = int_range(config.bits)
    targets = np.where((np.arange(d) + epoch) % 2 == 0, 0, (1 << frac) - 1)
    for _ in range(TRIES):
        trial = copy.deepcopy(model)
        trial.mantissa = int(rng.integers(1, 1 << STEP_MANTISSA_BITS)) >> int(rng.integers(0, 4))
        trial.mantissa = max(1, trial.mantissa)
        trial.seed(seed)
        ahead = copy.deepcopy(trial.lane_random)
        r1 = ahead.draw(beats).reshape(-1)[:d]
        r2 = ahead.draw(beats).reshape(-1)[:d]
        offsets = rng.integers(-3, 4, size=d)
        grad = r1 - (offsets << frac)  # step 1: floor((r1 - G) / 2**F) = offsets
        trial.load_gradient(grad)
        trial.recenter(exponent)
        trial.step()
        z1 = trial.z.copy()
        sample = int(trial.order.take(1)[0])
        row = trial.x[sample]
        if config.problem == "linreg":  # step 2's coefficient next to its rounding point
            trial.mantissa = aimed_mantissa(int(row @ z1), above=epoch % 2 == 0, rng=rng)
            if trial.mantissa is None:
                continue
        coef = trial.coefficient(int(row @ z1), sample)
        v2 = (z1 << frac) - z1 * trial.decay - row * coef - grad + r2
        epsilon = (targets - v2) % (1 << frac)
        z2 = (v2 + epsilon) >> frac
        if not (np.array_equal(z1, offsets) and np.all((z2 >= low) & (z2 <= high))):
            continue
        check = copy.deepcopy(model)  # the plan on the golden model: the testbench's own math
        check.mantissa = trial.mantissa
        check.seed(seed)
        check.load_gradient(grad - epsilon)
        check.recenter(exponent)
        check.step()
        check.step()
        if not np.array_equal(check.z, z2):
            raise AssertionError("the boundary plan differs from the golden model's step 2")
        return grad - epsilon, trial.mantissa
    return None


async def choose_order(lockstep, host_order: bool, rng, steps: int = BOUNDARY_STEPS) -> None:
    """Switch both sides to the xorshift32 order or to fresh random host-given entries for
    ``steps`` steps (read from the next SEED on)."""
    model, rtl = lockstep.model, lockstep.rtl
    if host_order:
        entries = rng.integers(0, model.n, steps + order_lookahead(model.config))
        model.order = HostOrder(entries, model.n)
        await rtl.load_order(entries)
    else:  # the SEED restarts the stream from its seed
        model.order = SampleOrder(model.n, 0)
    model.order_name = lockstep.order = "host" if host_order else "xorshift"
    rtl.dut.host_order.value = int(host_order)


async def run_boundary(host, lockstep, rng) -> None:
    """Epochs of SEED, gradient, recenter and a RUN of :data:`BOUNDARY_STEPS` steps, step 2 on
    the boundaries (see the module docstring)."""
    model, dut = lockstep.model, lockstep.rtl.dut
    for epoch in range(host.run.epochs):
        host_order = epoch % 3 == 2
        await choose_order(lockstep, host_order, rng)
        if model.config.sample_words:
            low, high = int_range(model.config.sample_value_bits)
            await lockstep.load_sample_values(rng.integers(low, high + 1, size=model.n))
        if host_order:  # the SEED only restarts the lanes' streams
            seed = int(rng.integers(0, 1 << STATE_BITS))
        else:
            seed = seed_for_state(boundary_state(model.n, high=epoch % 2 == 1, rng=rng), draw=2)
        exponent = int(rng.integers(-4, 5))
        plan = _plan(model, seed, exponent, epoch, rng)
        if plan is None:
            raise AssertionError(f"boundary epoch {epoch}: no unsaturated step 2 in {TRIES} "
                                 "tries (data or widths outside what the phase expects)")
        grad, model.mantissa = plan
        dut.mantissa.value = model.mantissa
        await lockstep.seed(seed)
        await lockstep.load_gradient(grad)
        await lockstep.recenter(exponent)
        await lockstep.run(BOUNDARY_STEPS)
        report_progress(f"boundary epoch {epoch + 1}")
