"""The simulation main of a clocked design on Verilator, ``clocked_main.cpp``, which toggles
``clk`` itself (:mod:`~halp_hw.runtime.verilator_runner` builds with it).

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

__all__ = ["CLOCKED_MAIN", "clocked_main_options"]

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
