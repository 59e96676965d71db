"""What every halp-hw cocotb testbench shares: parameters, clocking, lane packing, the scoreboard.

A testbench receives its parameters as JSON in the ``HALP_TB_PARAMS`` environment variable (set
by :func:`halp_hw.runtime.simulators.run_testbench`), compares the design with the golden hardware mode
through a :class:`Scoreboard`, and writes a JSON report (``params["report"]``) that pytest and
``halp-hw verify`` read: how many values were compared, the first mismatch, and the functional
coverage counters. A testbench that takes several parameter sets in one run
(:func:`halp_hw.runtime.simulators.run_testbench_cases`) runs one cocotb test per set of
:func:`case_params`, each with its own report.

The clock is generated inside the simulation (see :mod:`halp_hw.runtime.simulators`: ``clk``
low first, period :data:`CLOCK_PERIOD_NS`); a testbench never drives it, it awaits its edges, or a status signal
such as ``busy``, so the simulator calls into Python only when the testbench waits for something.

Timing convention of every clocked testbench: inputs are driven just after a falling edge and
outputs are sampled just before the next falling edge driving, so the sample at the falling edge
of cycle ``k + 1`` shows the registers after the rising edge of cycle ``k``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cocotb
from cocotb.handle import HierarchyObject
from cocotb.triggers import FallingEdge, RisingEdge

import numpy as np

from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.kernels import lane_update as golden_lane_update
from halp_hw.golden.hardware import HardwareConfig
from halp_hw.runtime.clocking import CLOCK_PERIOD_NS
from halp_hw.runtime.simulators import CASES_KEY, PARAMS_ENV_VAR

__all__ = ["CLOCK_PERIOD_NS", "params", "case_params", "hardware_config", "kick_combinational",
           "reset", "report_progress", "lane_update", "draw_operands", "Mismatch", "Scoreboard"]


def params() -> dict:
    """This run's parameters (the JSON that the runner put in the environment)."""
    return json.loads(os.environ.get(PARAMS_ENV_VAR, "{}"))


def case_params() -> list[dict]:
    """This run's parameter sets, one cocotb test each: the cases of
    :func:`halp_hw.runtime.simulators.run_testbench_cases`, else the run's one set."""
    p = params()
    return p.get(CASES_KEY, [p])


def report_progress(what: str = "") -> None:
    """Tell the parent process one more unit of work is done (a line in ``params["progress"]``)."""
    path = params().get("progress")
    if path:
        with open(path, "a") as stream:
            stream.write(f"{what}\n")


def hardware_config(values: dict) -> HardwareConfig:
    """The :class:`HardwareConfig` whose fields are ``values``."""
    return HardwareConfig(**values)


#: Yosys' Verilog starts every ``always @*`` block with a read of this register so that a write
#: to it makes the simulator evaluate the block.
_COMB_TRIGGER_PREFIX = "$auto$verilog_backend"


async def load_lane_seed(dut, rng: np.random.Generator) -> int:
    """Load a random seed into the lane PRNGs (``seed``/``load`` ports) for one cycle."""
    seed = int(rng.integers(1 << 32))
    dut.seed.value, dut.load.value = seed, 1
    await FallingEdge(dut.clk)
    dut.load.value = 0
    return seed


def kick_combinational(handle) -> None:
    """Make Icarus evaluate every combinational block of the design once.

    Icarus runs an ``always @*`` block only when one of its inputs changes; a block that reads
    only registers still at their initial values (``cmd_ready`` of an idle core) stays X until
    then. Writing Yosys' trigger register in every module fires them all; Verilator evaluates
    everything at time 0 anyway.
    """
    for child in handle:
        if child._name.startswith(_COMB_TRIGGER_PREFIX):
            child.value = 1
        elif isinstance(child, HierarchyObject):
            kick_combinational(child)


async def reset(dut, idle_inputs=(), cycles: int = 2) -> None:
    """Drive ``idle_inputs`` to 0, then hold Amaranth's synchronous active-high ``rst`` for
    ``cycles`` rising edges."""
    for name in idle_inputs:
        getattr(dut, name).value = 0
    if cocotb.SIM_NAME.lower().startswith("icarus"):
        kick_combinational(dut)
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


def lane_update(config: HardwareConfig, z, x_cur, coef: int, grad, random, decay: int = 0):
    """One beat of the golden ``z`` update for a few lanes, and what it covered.

    :func:`halp_hw.golden.kernels.lane_update` (the update of the golden model's inner loop)
    per lane. Returns the new values, the saturation flags, and the rounding-carry flags (the
    random bits carried into the kept bits).
    """
    frac = config.frac_bits
    z, x_cur = np.asarray(z, dtype=np.int64), np.asarray(x_cur, dtype=np.int64)
    grad = np.asarray(grad, dtype=np.int64)
    random = np.broadcast_to(np.asarray(random, dtype=np.int64), z.shape)
    updates = [golden_lane_update(int(z[k]), int(x_cur[k]), int(coef), int(grad[k]),
                                  int(random[k]), frac, config.bits, decay)
               for k in range(z.size)]
    z_new = np.array([value for value, _ in updates], dtype=np.int64)
    saturated = np.array([bool(clamped) for _, clamped in updates])
    v = (z << frac) - z * decay - x_cur * int(coef) - grad
    carries = (v & ((1 << frac) - 1)) + random >= (1 << frac)
    return z_new, saturated, carries


def draw_operands(config: HardwareConfig, rng: np.random.Generator, lanes: int) -> dict:
    """Random lane inputs of one beat: ``x_cur``, ``x_next``, ``z``, ``grad`` (arrays) and ``coef``.

    A quarter of the beats put every operand at an extreme of its width (min, max, 0, +-1), a
    quarter draw every operand uniformly over its whole width (mostly saturating), and half keep
    ``x * c`` and ``G`` a few ``z`` LSBs wide, as in training, where the updates stay in range and
    the stochastic rounding decides the result.
    """
    x_range, z_range = int_range(config.data_bits), int_range(config.bits)
    g_range, c_range = int_range(config.grad_width), int_range(config.coef_width)
    kind = rng.integers(4)
    if kind == 0:
        def pick(bounds, extra=()):
            return rng.choice([*bounds, *extra], size=lanes)

        operands = {"x_cur": pick(x_range, (0, 1, -1)), "x_next": pick(x_range),
                    "z": pick(z_range, (0,)), "grad": pick(g_range, (0, 1, -1)),
                    "coef": int(rng.choice([*c_range, 0, 1, -1]))}
    else:
        def uniform(low, high, size=lanes):
            return rng.integers(low, high, size=size, endpoint=True)

        c_limit, g_limit = c_range[1], g_range[1]
        if kind != 1:  # in range: |x c| and |G| up to a few z LSBs (2**F each)
            c_limit = max(2, 1 << max(0, config.frac_bits + config.bits - config.data_bits - 1))
            g_limit = 1 << (config.frac_bits + config.bits - 3)
        operands = {"x_cur": uniform(*x_range), "x_next": uniform(*x_range),
                    "z": uniform(*z_range), "grad": uniform(-g_limit, g_limit),
                    "coef": int(uniform(-c_limit, min(c_limit, c_range[1]), None))}
    return operands


@dataclass(frozen=True)
class Mismatch:
    """Where the design first disagreed with the golden model."""

    cycle: int
    signal: str
    expected: object
    actual: object
    context: str = ""

    def describe(self) -> str:
        where = f" ({self.context})" if self.context else ""
        return (f"first mismatch at cycle {self.cycle}{where}: {self.signal} expected "
                f"{self.expected}, got {self.actual}")

    def to_dict(self) -> dict:
        return {"cycle": self.cycle, "signal": self.signal, "expected": self.expected,
                "actual": self.actual, "context": self.context}


class Scoreboard:
    """Compares design outputs with golden values, counts coverage, and reports.

    Comparison goes on after a mismatch (the report counts them all) but only the first one is
    named: later ones usually follow from it.

    Parameters
    ----------
    report_path : str or None
        Where :meth:`finish` writes the JSON report.

    Attributes
    ----------
    compared : int
        Values compared so far.
    mismatches : int
        How many of them differed.
    first : Mismatch or None
        The first difference.
    coverage : collections.Counter
        Functional coverage events (``saturations``, ``rounding_carries``, ...).
    extra : dict
        More entries for the report (a testbench's own numbers, e.g. per-phase summaries).
    """

    def __init__(self, report_path: str | None = None):
        self.report_path = report_path
        self.compared = 0
        self.mismatches = 0
        self.first: Mismatch | None = None
        self.coverage: Counter = Counter()
        self.extra: dict = {}

    def check(self, cycle: int, signal: str, expected, actual, context: str = "") -> bool:
        """Compare one value (ints or lists of ints); return whether it matched."""
        self.compared += 1
        if _plain(expected) == _plain(actual):
            return True
        self.mismatches += 1
        if self.first is None:
            self.first = Mismatch(int(cycle), signal, _plain(expected), _plain(actual), context)
        return False

    def check_lanes(self, cycle: int, signal: str, expected, actual, context: str = "") -> bool:
        """Compare two vectors element by element; the first mismatch names the element."""
        expected, actual = _plain(expected), _plain(actual)
        if len(expected) != len(actual):
            return self.check(cycle, f"{signal} length", len(expected), len(actual), context)
        for index, (want, got) in enumerate(zip(expected, actual)):
            if not self.check(cycle, f"{signal}[{index}]", want, got, context):
                return False
        return True

    @property
    def passed(self) -> bool:
        return self.mismatches == 0 and self.compared > 0

    def report(self) -> dict:
        return {
            "passed": self.passed, "compared": self.compared, "mismatches": self.mismatches,
            "first_mismatch": None if self.first is None else self.first.to_dict(),
            "coverage": dict(self.coverage), **self.extra,
        }

    def finish(self) -> None:
        """Write the report, then fail the cocotb test if anything differed."""
        if self.report_path:
            Path(self.report_path).write_text(json.dumps(self.report(), indent=2))
        assert self.compared > 0, "the testbench compared nothing"
        if self.first is not None:
            raise AssertionError(f"{self.first.describe()} "
                                 f"[{self.mismatches} of {self.compared} values differ]")


def _plain(value):
    """Ints, lists and tuples of numpy or Python ints as plain Python values (JSON-able)."""
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        value = value.tolist() if hasattr(value, "tolist") else value
        return [_plain(item) for item in value] if isinstance(value, list) else value
    if isinstance(value, bool):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return value
