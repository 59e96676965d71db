"""VectorUnit against the golden arithmetic: whole passes, lane masks, the adder tree, the dot.

The testbench streams passes of ``ceil(d / L)`` beats for random ``d`` (mostly not a multiple
of L, including d = 1), with bubbles between and inside some passes and junk operands in the
masked lanes, and checks at the spec's cycles: ``z_new``/``z_valid``/``z_addr`` (3 registers
after the read stage), ``saturations`` (4), and ``dot``/``dot_valid`` (5 + tree_stages after
the pass's last beat), where the expected
dot is ``x_next . z_new`` of the pass, the value the golden model's next coefficient uses.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from halp_hw.golden.prng import LaneRandom
from halp_hw.hdl.host import pack_words, unpack_words
from tb_coverage import cover_point, report
from tb_support import (Scoreboard, draw_operands, hardware_config, lane_update, load_lane_seed,
                        params, reset)


def pack(values, width: int) -> int:
    """One memory word holding ``values`` (the core's layout)."""
    return pack_words(values, lanes=len(values), width=width)[0]

Z_LATENCY, SATURATION_LATENCY, TREE_LATENCY = 3, 4, 5


def pass_schedule(config, rng: np.random.Generator, passes: int) -> list:
    """The beats of ``passes`` passes: per cycle None (bubble) or (pass, beat, beats, d)."""
    schedule = []
    sizes = [1, config.d_max] + list(rng.integers(1, config.d_max, size=passes, endpoint=True))
    for number, d in enumerate(sizes[:passes]):
        beats = config.beats(int(d))
        for beat in range(beats):
            if rng.random() < 0.05:
                schedule.append(None)
            schedule.append((number, beat, beats, int(d)))
        schedule += [None] * int(rng.choice([0, 0, 1, 3]))
    return schedule


@cocotb.test()
async def vector_unit_matches_golden(dut):
    p = params()
    config = hardware_config(p["config"])
    lanes, rng = config.lanes, np.random.default_rng(p["seed"])
    dot_latency = TREE_LATENCY + config.tree_stages
    board = Scoreboard(p.get("report"))
    # Lane 0 holds the first feature of every beat: it is never masked.
    cover_lane = cover_point("vector.lane", [
        (lane, event) for lane in range(config.lanes)
        for event in ("saturated", "rounding carry", "masked with junk")
        if event != "masked with junk" or lane > 0])
    cover_last = cover_point("vector.last_beat",
                             ["full", "partial"] if config.lanes > 1 else ["full"])
    await reset(dut, ("load", "valid", "first", "last", "addr", "mask", "seed", "x_cur", "x_next",
                      "z", "grad", "coef"))
    seed = await load_lane_seed(dut, rng)
    lane_random = LaneRandom(lanes, config.frac_bits, seed)

    schedule = pass_schedule(config, rng, p["passes"])
    expected: dict = {}
    flags = {"z_valid": Z_LATENCY, "saturations": SATURATION_LATENCY, "dot_valid": dot_latency}
    dot, coef = 0, 0
    for cycle in range(len(schedule) + dot_latency + 1):
        for signal, value, context in expected.pop(cycle, []):
            raw = getattr(dut, signal).value
            if signal in ("z_new",):
                actual = unpack_words([int(raw)], lanes=lanes, width=config.bits, count=lanes)
                board.check_lanes(cycle, signal, value, actual, context)
            elif signal == "dot":
                board.check(cycle, signal, value, raw.to_signed(), context)
            else:
                board.check(cycle, signal, value, int(raw), context)
        beat = schedule[cycle] if cycle < len(schedule) else None
        # Flags are checked on every cycle: 0 unless a beat put them there.
        for signal, latency in flags.items():
            expected.setdefault(cycle + latency, [])
            if not any(item[0] == signal for item in expected[cycle + latency]):
                expected[cycle + latency].append((signal, 0, "no beat"))
        if beat is None:
            dut.valid.value = 0
            await FallingEdge(dut.clk)
            continue
        number, index, beats, d = beat
        if index == 0:
            dot, coef = 0, draw_operands(config, rng, 1)["coef"]
        ops = draw_operands(config, rng, lanes)
        active = np.arange(lanes) + index * lanes < d
        # Masked lanes get junk operands (full-range random values): they must not leak into
        # z_new, the saturation count or the dot product.
        random_bits = lane_random.draw(1)[0]
        z_new, saturated, carries = lane_update(config, ops["z"], ops["x_cur"], coef, ops["grad"],
                                                random_bits)
        z_new = np.where(active, z_new, 0)
        saturated &= active
        dot += int(np.dot(ops["x_next"], z_new))
        context = f"pass {number} (d={d}) beat {index} of {beats} issued at cycle {cycle}"
        for signal, latency, value in (("z_valid", Z_LATENCY, 1),
                                       ("saturations", SATURATION_LATENCY, int(saturated.sum())),
                                       ("dot_valid", dot_latency, int(index == beats - 1))):
            expected[cycle + latency] = [item for item in expected[cycle + latency]
                                         if item[0] != signal] + [(signal, value, context)]
        expected[cycle + Z_LATENCY] += [("z_new", z_new.tolist(), context),
                                        ("z_addr", index, context)]
        if index == beats - 1:
            expected[cycle + dot_latency].append(("dot", dot, context))
        for lane in np.flatnonzero(saturated):
            cover_lane(int(lane), "saturated")
        for lane in np.flatnonzero(carries & active):
            cover_lane(int(lane), "rounding carry")
        for lane in np.flatnonzero(~active & ((ops["x_next"] != 0) | (ops["z"] != 0))):
            cover_lane(int(lane), "masked with junk")
        if index == beats - 1:
            cover_last("partial" if d % lanes else "full")
        dut.valid.value, dut.first.value = 1, int(index == 0)
        dut.last.value = int(index == beats - 1)
        dut.addr.value, dut.mask.value = index, pack(active.astype(int), 1)
        for name in ("x_cur", "x_next"):
            getattr(dut, name).value = pack(ops[name], config.data_bits)
        dut.z.value = pack(ops["z"], config.bits)
        dut.grad.value = pack(ops["grad"], config.grad_width)
        dut.coef.value = coef
        await FallingEdge(dut.clk)
    report(board, p.get("report"), "vector")
    board.finish()
