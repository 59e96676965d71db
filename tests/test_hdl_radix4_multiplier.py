"""The LUT multiplier of the full-gradient pass: exact products for every narrow operand."""

import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator

from halp_hw.hdl.radix4_multiplier import Radix4Multiplier


def products(narrow_width, wide_width, pairs):
    """The multiplier's ``product`` for each ``(x, w)``, the multiples given exactly."""
    dut = Radix4Multiplier(narrow_width=narrow_width, wide_width=wide_width)
    results = []

    async def bench(ctx):
        for x, w in pairs:
            ctx.set(dut.narrow, x)
            ctx.set(dut.wide, w)
            ctx.set(dut.wide_triple, 3 * w)
            ctx.set(dut.wide_negated, -w)
            results.append(ctx.get(dut.product))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return results


@pytest.mark.parametrize("narrow_width, wide_width", [(8, 47), (7, 32), (2, 5), (3, 3)])
def test_every_narrow_value_times_edge_and_random_wide_values(narrow_width, wide_width):
    rng = np.random.default_rng(narrow_width * 100 + wide_width)
    low, high = -(1 << (wide_width - 1)), (1 << (wide_width - 1)) - 1
    wides = [low, low + 1, -1, 0, 1, high - 1, high] + [
        int(v) for v in rng.integers(low, high, size=6, endpoint=True)]
    narrows = range(-(1 << (narrow_width - 1)), 1 << (narrow_width - 1))
    pairs = list(itertools.product(narrows, wides))
    assert products(narrow_width, wide_width, pairs) == [x * w for x, w in pairs]


@pytest.mark.usefixtures("discards_elaboratables")
@pytest.mark.parametrize("bad", [1, 0, 2.0, True])
def test_widths_are_checked(bad):
    with pytest.raises(ValueError, match="narrow_width must be an integer >= 2"):
        Radix4Multiplier(narrow_width=bad, wide_width=8)
