"""BitCenteringRegister against its specification: exponent, epoch count and the z valid bits.

The golden model's ``recenter(exponent)`` clears ``z`` and loads the scale; the register does the
same in one cycle with one valid bit per ``z`` word. The reference here is that contract: a
recenter clears every valid bit, loads the (signed) exponent and counts an epoch; a restart (the
seed command) clears everything and wins over a recenter; a write marks its word valid; and
``read_valid`` is registered like a memory read, showing the word's bit before this cycle's
updates. Random command mixes run for ``cycles`` cycles, with exponents at both extremes.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import FallingEdge

from halp_hw.golden.fixedpoint import int_range
from tb_coverage import cover_point, report
from tb_support import Scoreboard, hardware_config, params, reset


@cocotb.test()
async def centering_matches_spec(dut):
    p = params()
    config, rng = hardware_config(p["config"]), random.Random(p["seed"])
    words = config.words_per_row
    exponent_width, epoch_width = len(dut.exponent), len(dut.epoch)
    low, high = int_range(exponent_width)
    board = Scoreboard(p.get("report"))
    cover = cover_point("centering.command", ["restart", "recenter", "valid read"])
    await reset(dut, ("recenter", "exponent_in", "restart", "write_addr", "set_valid", "read_addr"))
    valid, exponent, epoch, read_valid = [False] * words, 0, 0, None
    for cycle in range(p["cycles"]):
        board.check(cycle, "exponent", exponent, dut.exponent.value.to_signed())
        board.check(cycle, "epoch", epoch, int(dut.epoch.value))
        if read_valid is not None:
            board.check(cycle, "read_valid", int(read_valid), int(dut.read_valid.value))
        restart, recenter = rng.random() < 0.03, rng.random() < 0.1
        new_exponent = rng.choice([low, high, 0, -1, rng.randint(low, high)])
        write_addr, set_valid = rng.randrange(words), rng.random() < 0.5
        read_addr = rng.randrange(words)
        read_valid = valid[read_addr]
        if restart:
            valid, exponent, epoch = [False] * words, 0, 0
            cover("restart")
        elif recenter:
            valid, exponent = [False] * words, new_exponent
            epoch = (epoch + 1) % (1 << epoch_width)
            cover("recenter")
        elif set_valid:
            valid[write_addr] = True
        if read_valid:
            cover("valid read")
        dut.restart.value, dut.recenter.value = int(restart), int(recenter)
        dut.exponent_in.value = new_exponent
        dut.write_addr.value, dut.set_valid.value = write_addr, int(set_valid)
        dut.read_addr.value = read_addr
        await FallingEdge(dut.clk)
    report(board, p.get("report"), "centering")
    board.finish()
