"""The clock generated in the simulation top: its first edges and period, seen by a testbench.

Works on any design with a ``clk`` input, built by
:func:`halp_hw.runtime.simulators.build_design`. Records the times of the first rising and
falling edges and compares them with ``params["period_ns"]``: low first, the first rising edge
half a period in, then a falling edge every period.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge
from cocotb.utils import get_sim_time

from tb_support import Scoreboard, params


@cocotb.test()
async def clock_is_generated(dut):
    p = params()
    period, edges = p["period_ns"], p["edges"]
    board = Scoreboard(p.get("report"))
    board.check(0, "clk at time 0", 0, int(dut.clk.value))
    for edge in range(edges):
        await RisingEdge(dut.clk)
        board.check(edge, "rising edge (ns)", period // 2 + edge * period, get_sim_time("ns"))
        await FallingEdge(dut.clk)
        board.check(edge, "falling edge (ns)", (edge + 1) * period, get_sim_time("ns"))
    board.coverage["edges"] = 2 * edges
    board.finish()
