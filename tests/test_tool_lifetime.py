"""No tool run outlives its caller: a ``stop`` request kills it, so does the death of the process
that started it (Linux), and so does cancelling the Dask task that runs it (an explore sweep
stopped with Ctrl-C, on its own cluster or on a shared one).

The tool is a real Yosys that reads its script from a named pipe nobody writes to: it runs until
it is killed, without using the CPU.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from halp_hw.flow.tools import ToolStopped, run_tool

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc; the parent-death signal is Linux's")

#: Seconds a tool may take to start, or to go once its end is due (the machine may be loaded).
PATIENCE = 60


class _Quiet:
    def set_postfix_str(self, text):
        pass


def _blocked_tool_dir(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "script.ys")
    return tmp_path.resolve()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _processes_in(directory: Path) -> list[int]:
    """Running processes whose working directory is ``directory``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == directory and _running(int(entry.name)):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _wait_for(condition, what: str):
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {PATIENCE} s")


def _kill_all(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@linux_only
def test_stop_kills_the_tool_and_raises(tmp_path):
    cwd = _blocked_tool_dir(tmp_path)
    seen = []

    def stop():
        seen.extend(pid for pid in _processes_in(cwd) if pid not in seen)
        return bool(seen) and time.monotonic() > started + 1

    # If stop were never asked, the tool would run forever: end it after PATIENCE seconds.
    guard = threading.Timer(PATIENCE, lambda: _kill_all(_processes_in(cwd)))
    guard.start()
    started = time.monotonic()
    try:
        with pytest.raises(ToolStopped, match="yosys stopped"):
            run_tool("yosys", ["-s", "script.ys"], cwd / "yosys.log", cwd, _Quiet(), stop)
        assert seen, "the tool never ran"
        assert not any(_running(pid) for pid in seen)
    finally:
        guard.cancel()
        _kill_all(seen)


@linux_only
def test_a_tool_dies_with_the_process_that_started_it(tmp_path):
    cwd = _blocked_tool_dir(tmp_path)
    caller = subprocess.Popen([sys.executable, "-c", (
        "import sys; from pathlib import Path; from halp_hw.flow.tools import run_tool\n"
        "class Quiet:\n"
        "    def set_postfix_str(self, text): pass\n"
        "cwd = Path(sys.argv[1])\n"
        "run_tool('yosys', ['-s', 'script.ys'], cwd / 'yosys.log', cwd, Quiet())\n"),
        str(cwd)])
    tools = []
    try:
        tools = _wait_for(lambda: [pid for pid in _processes_in(cwd) if pid != caller.pid],
                          "the tool starts")
        time.sleep(1)
        assert all(_running(pid) for pid in tools), "the tool ended by itself"
        caller.kill()  # no clean-up code of the caller runs
        caller.wait()
        _wait_for(lambda: not any(_running(pid) for pid in tools), "the tool goes")
    finally:
        caller.kill()
        caller.wait()
        _kill_all(tools)


@linux_only
def test_cancelling_the_dask_task_stops_its_tool(tmp_path):
    from distributed import Client, LocalCluster

    cwd = _blocked_tool_dir(tmp_path)

    def synthesis_task(directory):
        from halp_hw.explore.tasks import cancelled_on_dask
        from halp_hw.flow.tools import run_tool

        class Quiet:
            def set_postfix_str(self, text):
                pass

        return run_tool("yosys", ["-s", "script.ys"], directory / "yosys.log", directory,
                        Quiet(), cancelled_on_dask)

    tools = []
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        try:
            future = client.submit(synthesis_task, cwd, pure=False)
            tools = _wait_for(lambda: _processes_in(cwd), "the tool starts")
            time.sleep(1)
            assert all(_running(pid) for pid in tools), "the tool ended by itself"
            future.cancel()
            # The worker lives on: the tool must go because its task was cancelled.
            _wait_for(lambda: not any(_running(pid) for pid in tools), "the tool goes")
            assert len(client.scheduler_info()["workers"]) == 1
        finally:
            _kill_all(tools)
