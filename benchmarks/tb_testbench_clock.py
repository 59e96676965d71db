"""``sim/tb_halp_run.py`` with the clock toggled by the testbench: the baseline of bench_sim.py.

Every testbench of the package runs on the clock generated inside the simulation (see
:mod:`halp_hw.runtime.simulators`). This module starts ``cocotb.clock.Clock`` on the design's
``clk`` input instead, as the testbenches did before, so that ``benchmarks/bench_sim.py`` can
measure what the generated clock buys on the same run. It needs a build with ``clk`` an input
and cocotb's own simulation main (``bench_sim.build_with_cocotb_main``).
"""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock

from tb_halp_run import run_halp
from tb_support import CLOCK_PERIOD_NS


@cocotb.test()
async def halp_run_testbench_clock(dut):
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start(start_high=False)
    await run_halp(dut)
