"""StochasticRounder against ``halp_hw.golden.fixedpoint.shift_round`` + ``saturate``, one vector a step.

The rounder is combinational: each "cycle" drives one (value, random) pair, waits for the logic
to settle and compares ``result`` and ``saturated``. The vectors are the width extremes, the
carries out of the rounding bits, both saturation bounds and their neighbours, then seeded
random values.
"""

from __future__ import annotations

import random

import cocotb
import numpy as np
from cocotb.triggers import Timer

from halp_hw.golden.fixedpoint import int_range, shift_round
from tb_coverage import cover_point, report
from tb_support import Scoreboard, params


def corner_vectors(in_width: int, frac_bits: int, out_width: int) -> list:
    """Extremes of every input, carries into the kept bits, and both clamp bounds +-1 LSB."""
    v_low, v_high = int_range(in_width)
    r_max = (1 << frac_bits) - 1
    low, high = int_range(out_width)
    fraction_ones = r_max  # every fraction bit set: adding random >= 1 carries
    vectors = [(v, r) for v in (v_low, v_high, 0, -1, 1) for r in (0, 1, r_max)]
    vectors += [(fraction_ones, 1), (-1, 1), ((5 << frac_bits) | fraction_ones, r_max)]
    for bound in (low, high):
        for delta in (-1, 0, 1):
            base = (bound + delta) << frac_bits
            vectors += [(base, 0), (base, r_max), (base - 1, 1), (base - 1, 0)]
    return [(v, r) for v, r in vectors if v_low <= v <= v_high]


@cocotb.test()
async def rounder_matches_golden(dut):
    p = params()
    in_width, frac_bits, out_width = p["in_width"], p["frac_bits"], p["out_width"]
    rng = random.Random(p["seed"])
    v_low, v_high = int_range(in_width)
    vectors = corner_vectors(in_width, frac_bits, out_width)
    vectors += [(rng.randint(v_low, v_high), rng.getrandbits(frac_bits))
                for _ in range(p["random_vectors"])]
    # Values near the clamp bounds are rare among uniform in_width-bit values: add some.
    low, high = int_range(out_width)
    vectors += [(rng.randint((low - 2) << frac_bits, (high + 2) << frac_bits),
                 rng.getrandbits(frac_bits)) for _ in range(p["random_vectors"])]
    vectors = [(max(v_low, min(v_high, v)), r) for v, r in vectors]

    values = np.array([v for v, _ in vectors], dtype=np.int64)
    randoms = np.array([r for _, r in vectors], dtype=np.int64)
    floored = shift_round(values, frac_bits, randoms)
    expected = np.clip(floored, low, high)
    board = Scoreboard(p.get("report"))
    cover = cover_point("rounder.result", ["rounding carry", "saturated high", "saturated low"])
    for index, (value, rand) in enumerate(vectors):
        dut.value.value = value
        dut.random.value = rand
        await Timer(1, unit="ns")
        context = f"value={value} random={rand}"
        board.check(index, "result", expected[index], dut.result.value.to_signed(), context)
        board.check(index, "saturated", int(floored[index] != expected[index]),
                    int(dut.saturated.value), context)
        fraction = value & ((1 << frac_bits) - 1)
        if fraction + rand >= 1 << frac_bits:
            cover("rounding carry")
        if floored[index] != expected[index]:
            cover("saturated high" if floored[index] > high else "saturated low")
    report(board, p.get("report"), "rounder")
    board.finish()
