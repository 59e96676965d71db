"""The Verilator build of a clocked design: cocotb's runner with the simulation main of
``clocked_main.cpp``, which toggles ``clk`` itself.

cocotb's own main (``share/lib/verilator/verilator.cpp``) leaves the clock to the testbench or to
Verilator's timing scheduler (an HDL clock, ``--timing``); ``clocked_main.cpp`` is the same loop
with the clock toggled in C++ every half of :data:`~halp_hw.runtime.clocking.CLOCK_PERIOD_NS`,
so a clock edge costs one evaluation of the design and cocotb's per-step VPI calls, and no
coroutine of the timing scheduler. The testbench sees the design's own ``clk`` port.
"""

from __future__ import annotations

import re
from pathlib import Path

from .clocking import CLOCK_PERIOD_NS

__all__ = ["CLOCKED_MAIN", "clocked_main_options", "clocked_verilator_runner"]

#: The simulation main of clocked designs.
CLOCKED_MAIN = Path(__file__).with_name("clocked_main.cpp")
#: Powers of ten of a second, negated, of the Verilog time units.
_EXPONENTS = {"s": 0, "ms": 3, "us": 6, "ns": 9, "ps": 12, "fs": 15}


def clocked_main_options(timescale: tuple) -> list:
    """Verilator options that give ``clocked_main.cpp`` its half period in units of the
    precision of ``timescale`` (such as ``("1ns", "1ps")``: 5000 for the 10 ns clock)."""
    found = re.fullmatch(r"(1|10|100)(s|ms|us|ns|ps|fs)", timescale[1])
    if found is None:
        raise ValueError(f"time precision {timescale[1]!r}: expected 1, 10 or 100 of "
                         f"{', '.join(_EXPONENTS)}")
    exponent = _EXPONENTS[found.group(2)] - _EXPONENTS["ns"] - len(found.group(1)) + 1
    half_period = CLOCK_PERIOD_NS * 10 ** exponent / 2
    if half_period != int(half_period) or half_period < 1:
        raise ValueError(f"half of the {CLOCK_PERIOD_NS} ns clock period is not a whole number "
                         f"of {timescale[1]}")
    return ["-CFLAGS", f"-DHALP_HALF_PERIOD={int(half_period)}"]


def clocked_verilator_runner():
    """cocotb's Verilator runner, building with :data:`CLOCKED_MAIN` instead of cocotb's main."""
    import cocotb_tools.config
    from cocotb_tools.runner import Verilator

    cocotb_main = str(cocotb_tools.config.share_dir / "lib" / "verilator" / "verilator.cpp")

    class ClockedVerilator(Verilator):
        def _build_command(self):
            commands = super()._build_command()
            verilate = commands[0]
            if verilate.count(cocotb_main) != 1:
                raise RuntimeError(f"cocotb's Verilator build no longer names {cocotb_main} "
                                   "once: cannot put the clocked main in its place")
            commands[0] = [str(CLOCKED_MAIN) if part == cocotb_main else part
                           for part in verilate]
            return commands

    return ClockedVerilator()
