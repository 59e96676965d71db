"""The regression of ``tb_core`` once per mutation of the core's mutated netlist, in one run.

The design is the netlist of :mod:`halp_hw.mutation.netlist`: the core with an extra input
``mutsel`` that switches on one mutation (0: none). For each select value of
``params["mutants"]`` the testbench writes ``mutsel``, then runs :func:`tb_core.run_regression`
(every scenario starts with a reset and writes every memory word it reads) with a fresh
:class:`FirstMismatchScoreboard`, which ends the regression at the first difference (the verdict
needs no more, and most mutants die in the first phase), and appends one JSON line to
``params["results"]``: ``{"select": k, "report": <the scoreboard's report>, "failure":
<message or null>}``. A line per mutant also goes to the progress file. Lines are written as
each mutant finishes, so the caller knows how far a run that died got.
"""

from __future__ import annotations

import json

import cocotb

from tb_core import run_regression
from tb_support import Scoreboard, params, report_progress


class FirstMismatch(Exception):
    """The regression found a difference; the scoreboard has it."""


class FirstMismatchScoreboard(Scoreboard):
    """A :class:`tb_support.Scoreboard` that stops the regression at its first mismatch."""

    def check(self, cycle: int, signal: str, expected, actual, context: str = "") -> bool:
        if not super().check(cycle, signal, expected, actual, context):
            raise FirstMismatch(f"{signal} at cycle {cycle} ({context})")
        return True


@cocotb.test()
async def mutants_against_golden(dut):
    p = params()
    for select in p["mutants"]:
        dut.mutsel.value = select
        board = FirstMismatchScoreboard()
        failure = None
        try:
            board.extra["phases"] = await run_regression(dut, p, board)
        except FirstMismatch:
            pass  # the report names the mismatch
        except Exception as error:  # noqa: BLE001 - any failure of the regression kills it
            failure = f"{type(error).__name__}: {error}"
        with open(p["results"], "a") as results:
            results.write(json.dumps({"select": select, "report": board.report(),
                                      "failure": failure}) + "\n")
        report_progress(f"mutant {select}")
