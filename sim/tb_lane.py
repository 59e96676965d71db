"""MaccLane against the golden update, beat by beat, with the spec's pipeline timing.

Each cycle drives one beat at the read stage (or a bubble, or a PRNG load) and checks, at the
cycle the spec puts them, ``z_new``/``saturated`` (stage B2, 3 registers) and ``product`` (stage
C, 4 registers) of every valid beat against :func:`tb_support.lane_update` with this lane's golden
random stream (:class:`halp_hw.golden.prng.LaneRandom`, which advances once per valid beat, masked or not).
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from halp_hw.golden.prng import LaneRandom
from tb_coverage import cover_point, report
from tb_support import (Scoreboard, draw_operands, hardware_config, lane_update, load_lane_seed,
                        params, reset)

Z_LATENCY, PRODUCT_LATENCY = 3, 4


@cocotb.test()
async def lane_matches_golden(dut):
    p = params()
    config, lane = hardware_config(p["config"]), p["lane"]
    rng = np.random.default_rng(p["seed"])
    board = Scoreboard(p.get("report"))
    cover = cover_point("lane.beat", ["saturated high", "saturated low", "rounding carry",
                                      "inactive"])
    await reset(dut, ("load", "valid", "active", "seed", "x_cur", "x_next", "z", "grad", "coef"))
    seed = await load_lane_seed(dut, rng)
    lane_random = LaneRandom(lane + 1, config.frac_bits, seed)
    expected: dict = {}  # cycle -> list of (signal, value, context)
    cycles = p["beats"] + PRODUCT_LATENCY + 1
    for cycle in range(cycles):
        for signal, value, context in expected.pop(cycle, []):
            actual = getattr(dut, signal).value
            board.check(cycle, signal, value,
                        int(actual) if signal == "saturated" else actual.to_signed(), context)
        if cycle >= p["beats"] or rng.random() < 0.1:  # a bubble: nothing advances
            dut.valid.value = 0
            await FallingEdge(dut.clk)
            continue
        ops = draw_operands(config, rng, 1)
        active = bool(rng.random() < 0.85)
        random_bits = lane_random.draw(1)[0, lane]
        z_new, saturated, carry = lane_update(config, ops["z"], ops["x_cur"], ops["coef"],
                                              ops["grad"], [random_bits])
        z_new, saturated = (int(z_new[0]), bool(saturated[0])) if active else (0, False)
        context = (f"beat issued at cycle {cycle}: x_cur={ops['x_cur'][0]} z={ops['z'][0]} "
                   f"grad={ops['grad'][0]} coef={ops['coef']} r={random_bits} active={active}")
        expected.setdefault(cycle + Z_LATENCY, []).extend(
            [("z_new", z_new, context), ("saturated", int(saturated), context)])
        expected.setdefault(cycle + PRODUCT_LATENCY, []).append(
            ("product", int(ops["x_next"][0]) * z_new, context))
        if not active:
            cover("inactive")
        elif saturated:
            cover("saturated high" if z_new > 0 else "saturated low")
        if active and carry[0]:
            cover("rounding carry")
        dut.valid.value, dut.active.value = 1, int(active)
        dut.x_cur.value, dut.x_next.value = int(ops["x_cur"][0]), int(ops["x_next"][0])
        dut.z.value, dut.grad.value = int(ops["z"][0]), int(ops["grad"][0])
        dut.coef.value = ops["coef"]
        await FallingEdge(dut.clk)
    report(board, p.get("report"), "lane")
    board.finish()
