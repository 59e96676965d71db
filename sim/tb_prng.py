"""Xorshift32 against ``halp_hw.golden.prng``: seeding, advancing, and the combinational next state.

Each cycle the testbench randomly loads a seed, advances, or idles, and checks ``state`` and
``next_state`` against :func:`halp_hw.golden.prng.stream_seed` and :func:`halp_hw.golden.prng.xorshift32`. The
seeds include 0, all ones, and the one seed that XORs to a zero state (``stream_key(stream)``),
which must load the key instead.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import FallingEdge

from halp_hw.golden.prng import MASK, stream_key, stream_seed, xorshift32
from tb_coverage import cover_point, report
from tb_support import Scoreboard, params, reset


@cocotb.test()
async def prng_matches_golden(dut):
    p = params()
    stream, rng = p["stream"], random.Random(p["seed"])
    special_seeds = [0, MASK, stream_key(stream), rng.getrandbits(32)]
    board = Scoreboard(p.get("report"))
    cover = cover_point("prng.command", ["load", "load of the zero-state seed", "advance"])
    await reset(dut, ("load", "advance", "seed"))
    expected = stream_seed(0, stream)  # the reset state is what seed 0 loads
    for cycle in range(p["cycles"]):
        board.check(cycle, "state", expected, int(dut.state.value))
        board.check(cycle, "next_state", xorshift32(expected), int(dut.next_state.value))
        load = cycle < len(special_seeds) * 8 and cycle % 8 == 0 or rng.random() < 0.02
        seed = special_seeds[cycle // 8] if cycle < len(special_seeds) * 8 else rng.getrandbits(32)
        advance = rng.random() < 0.8
        dut.load.value, dut.seed.value, dut.advance.value = int(load), seed, int(advance)
        if load:
            expected = stream_seed(seed, stream)
            cover("load of the zero-state seed" if seed == stream_key(stream) else "load")
        elif advance:
            expected = xorshift32(expected)
            cover("advance")
        await FallingEdge(dut.clk)
    report(board, p.get("report"), "prng")
    board.finish()
