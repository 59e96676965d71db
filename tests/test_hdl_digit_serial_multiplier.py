"""The finish's digit-serial multiplier: exact products, its latency and its throughput."""

import random

import pytest
from amaranth.sim import Simulator

from halp_hw.golden.epoch_timing import multiplier_digits
from halp_hw.hdl.digit_serial_multiplier import DigitSerialMultiplier


def run(a_width, b_width, pairs, period):
    """Start a product every ``period`` cycles; returns [(cycle of valid, product)]."""
    dut = DigitSerialMultiplier(a_width=a_width, b_width=b_width)
    seen = []

    async def bench(ctx):
        queue = list(pairs)
        for cycle in range(len(pairs) * period + dut.digits + 3):
            start = cycle % period == 0 and bool(queue)
            if start:
                a, b = queue.pop(0)
                ctx.set(dut.a, a)
                ctx.set(dut.b, b)
            ctx.set(dut.start, start)
            if ctx.get(dut.valid):
                seen.append((cycle, ctx.get(dut.product)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return seen


def edge_and_random(width, rng, count=8):
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    return [low, low + 1, -1, 0, 1, high] + [rng.getrandbits(width) + low for _ in range(count)]


@pytest.mark.parametrize("a_width, b_width", [(63, 63), (32, 33), (90, 90), (5, 17), (4, 18)])
def test_back_to_back_products_are_exact_and_on_time(a_width, b_width):
    rng = random.Random(a_width * 1000 + b_width)
    pairs = [(a, b) for a in edge_and_random(a_width, rng, 3)
             for b in edge_and_random(b_width, rng, 3)]
    digits = multiplier_digits(b_width)
    assert digits == -(-b_width // 17)
    seen = run(a_width, b_width, pairs, period=digits)
    assert [product for _, product in seen] == [a * b for a, b in pairs]
    # the documented latency (digits + 1) and throughput (a product per `digits` cycles)
    assert [cycle for cycle, _ in seen] == [digits * k + digits + 1 for k in range(len(pairs))]


@pytest.mark.usefixtures("discards_elaboratables")
def test_widths_are_checked():
    with pytest.raises(ValueError, match="b_width must be an integer >= 2, not 1"):
        DigitSerialMultiplier(a_width=8, b_width=1)
