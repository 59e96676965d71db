"""Verilog generation: ``rtl/`` is up to date, Verilator lints the output, the CLI works.

If ``test_rtl_is_up_to_date`` fails after an intended HDL change, regenerate the checked-in
Verilog with ``halp-hw verilog --out rtl`` (the default configuration) and commit ``rtl/``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.runtime import simulators
from halp_hw.cli import main
from halp_hw.flow.builtin_yosys import rtlil_to_verilog
from halp_hw.flow.verilog import (BLOCKS, CORE_MODULE, build_block, component_verilog,
                                  lint_verilog, write_verilog)

#: One test worker runs this module: the generated blocks (a module-scoped fixture) is made once.
pytestmark = pytest.mark.xdist_group("test_verilog")

RTL_DIR = Path(__file__).resolve().parent.parent / "rtl"
REGENERATE = "regenerate with `halp-hw verilog --out rtl` and commit rtl/"

#: A build far from the default: three lanes, one word per row, one sample, widest z and data.
ODD_CONFIG = HardwareConfig(bits=16, data_bits=16, frac_bits=24, lanes=3, d_max=3, n_max=1)


def verilator_lint(path: Path) -> subprocess.CompletedProcess:
    """Verilator's lint with the documented waivers; skips when Verilator is not installed."""
    reason = simulators.simulator_unavailable_reason("verilator")
    if reason is not None:
        pytest.skip(reason)
    return lint_verilog(path)


def test_rtl_is_up_to_date(tmp_path):
    write_verilog(HardwareConfig(), tmp_path)
    for name in (f"{CORE_MODULE}.v", f"{CORE_MODULE}.json"):
        checked_in = RTL_DIR / name
        assert checked_in.is_file(), f"rtl/{name} is missing: {REGENERATE}"
        assert checked_in.read_text() == (tmp_path / name).read_text(), \
            f"rtl/{name} is stale: {REGENERATE}"


@pytest.mark.parametrize("block, emit_src", [("halp_core", False), ("macc_lane", True)])
def test_verilog_is_amaranths_own(block, emit_src):
    # Yosys in this process writes the text of Amaranth's back end (which starts a process).
    from amaranth.back import verilog

    def design():
        return build_block(block, ODD_CONFIG)

    assert component_verilog(design(), name="top", emit_src=emit_src) == \
        verilog.convert(design(), name="top", emit_src=emit_src)


def test_yosys_errors_are_raised_with_its_message():
    from amaranth.back.verilog import YosysError

    with pytest.raises(YosysError, match="Parser error in line 1"):
        rtlil_to_verilog("wire_without_module\n")


def test_lint_catches_a_broken_module(tmp_path):
    """The lint helper does fail: an undriven, undeclared signal is an error."""
    broken = tmp_path / "broken.v"
    broken.write_text("module broken(input a, output y);\n  assign y = a & missing;\nendmodule\n")
    result = verilator_lint(broken)
    assert result.returncode != 0 and "missing" in result.stderr


def test_rtl_core_lints_clean():
    result = verilator_lint(RTL_DIR / f"{CORE_MODULE}.v")
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def odd_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("verilog")
    write_verilog(ODD_CONFIG, out, blocks=list(BLOCKS))
    return out


@pytest.mark.parametrize("block", list(BLOCKS))
def test_every_block_lints_clean(odd_build, block):
    result = verilator_lint(odd_build / f"{block}.v")
    assert result.returncode == 0, result.stderr


def test_json_describes_parameters_and_ports(odd_build):
    description = json.loads((odd_build / f"{CORE_MODULE}.json").read_text())
    cfg = ODD_CONFIG
    parameters = description["parameters"]
    assert {key: parameters[key] for key in ("bits", "data_bits", "frac_bits", "lanes", "d_max",
                                             "n_max")} == {
        "bits": cfg.bits, "data_bits": cfg.data_bits, "frac_bits": cfg.frac_bits,
        "lanes": cfg.lanes, "d_max": cfg.d_max, "n_max": cfg.n_max}
    assert parameters["pipeline_latency"] == cfg.pipeline_latency
    ports = {port["name"]: port for port in description["ports"]}
    assert ports["row_memory__response__payload"]["width"] == cfg.lanes * cfg.data_bits
    assert ports["row_memory__response__ready"]["direction"] == "output"
    assert ports["order_memory__response__payload"]["width"] == 32
    assert ports["g_wr_data"]["width"] == cfg.lanes * cfg.grad_width
    assert ports["z_rd_data"] == {"name": "z_rd_data", "direction": "output",
                                  "width": cfg.lanes * cfg.bits, "signed": False}
    assert ports["z_rd_addr"]["width"] == 1        # one word per row: never a zero-width port
    assert ports["cmd_op"]["values"] == {"SEED": 0, "RECENTER": 1, "RUN": 2}
    assert ports["exponent"]["signed"] and ports["exponent"]["direction"] == "output"
    assert {"clk", "rst"} <= set(ports)
    # every port the JSON names is a port of the Verilog module, with that width
    header = (odd_build / f"{CORE_MODULE}.v").read_text()
    for port in description["ports"]:
        width = port["width"]
        declaration = f"{port['direction']} {f'[{width - 1}:0] ' if width > 1 else ''}" \
                      f"{port['name']};"
        assert declaration in header, declaration
    assert set(description["blocks"]) == set(BLOCKS) - {CORE_MODULE}
    assert description["blocks"]["vector_unit"]["ports"]


def test_cli_writes_core_and_blocks(tmp_path, capsys):
    if simulators.simulator_unavailable_reason("verilator") is not None:
        pytest.skip("--lint needs Verilator")
    status = main(["verilog", "--bits", "4", "--lanes", "2", "--d-max", "5", "--n-max", "3",
                   "--block", "step_coefficient", "--out", str(tmp_path), "--lint"])
    assert status == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "halp_core.json", "halp_core.v", "step_coefficient.v"]
    assert "module halp_core(" in (tmp_path / "halp_core.v").read_text()
    assert "module step_coefficient(" in (tmp_path / "step_coefficient.v").read_text()
    parameters = json.loads((tmp_path / "halp_core.json").read_text())["parameters"]
    assert (parameters["bits"], parameters["lanes"], parameters["words_per_row"]) == (4, 2, 3)
    out = capsys.readouterr().out
    assert str(tmp_path / "halp_core.v") in out
    assert "lint halp_core.v: clean" in out and "lint step_coefficient.v: clean" in out


#: The margin is the sigmoid input (16 bits) and 16 guard bits; the SVM value is the slack
#: (dot_width + 1 = 8 + 4 - 1 + bit_length(5) + 1 bits) and the label bit.
@pytest.mark.parametrize("problem, sample_value_bits", [("logreg", 32), ("svm", 8 + 4 - 1 + 3 + 2)])
def test_cli_writes_logistic_and_svm_cores_that_lint_clean(tmp_path, capsys, problem,
                                                          sample_value_bits):
    if simulators.simulator_unavailable_reason("verilator") is not None:
        pytest.skip("--lint needs Verilator")
    assert main(["verilog", "--problem", problem, "--bits", "4", "--lanes", "2", "--d-max", "5",
                 "--n-max", "3", "--out", str(tmp_path), "--lint"]) == 0
    description = json.loads((tmp_path / "halp_core.json").read_text())
    parameters = description["parameters"]
    assert parameters["problem"] == problem
    assert parameters["sample_value_bits"] == sample_value_bits
    assert parameters["sample_words"] == -(-sample_value_bits // (2 * 8))  # words of 2 x 8 bits
    assert "coef_shift" in {port["name"] for port in description["ports"]}
    assert "lint halp_core.v: clean" in capsys.readouterr().out


@pytest.mark.parametrize("argv, needle", [
    (["--bits", "1"], "bits must be an integer in 2..16, not 1"),
    (["--lanes", "65"], "lanes must be an integer in 1..64, not 65"),
    (["--d-max", "0"], "d_max must be an integer in 1..4096, not 0"),
    (["--n-max", str(2**24 + 1)], "n_max must be an integer in 1..16777216"),
    (["--mem-latency", "0"], "memory latency (cycles) must be an integer in 1..4096, not 0"),
])
@pytest.mark.usefixtures("discards_elaboratables")   # the rejected HALPCore
def test_cli_rejects_bad_parameters(tmp_path, capsys, argv, needle):
    assert main(["verilog", *argv, "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert needle in error and error.count("\n") == 1 and "Traceback" not in error
    assert not any(tmp_path.iterdir())


def test_cli_rejects_unknown_block(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["verilog", "--block", "no_such_block", "--out", str(tmp_path)])
    assert stop.value.code == 2
    assert "no_such_block" in capsys.readouterr().err


def test_cli_full_gradient_core_has_the_epoch_ports(tmp_path):
    """--full-gradient accelerator: the core with the epoch on chip, its ports in the JSON and
    the Verilog lint-clean; the default core has none of them."""
    assert main(["verilog", "--lanes", "4", "--d-max", "10", "--n-max", "20",
                 "--full-gradient", "accelerator", "--out", str(tmp_path / "epoch")]) == 0
    write_verilog(HardwareConfig(lanes=4, d_max=10, n_max=20), tmp_path / "plain")
    ports = {port["name"] for port in json.loads(
        (tmp_path / "epoch" / f"{CORE_MODULE}.json").read_text())["ports"]}
    plain = {port["name"] for port in json.loads(
        (tmp_path / "plain" / f"{CORE_MODULE}.json").read_text())["ports"]}
    epoch = {"pass_memory__request__valid", "center_rd_data", "g_rd_data", "l2_mantissa",
             "bound_exponent", "center_exponent"}
    assert epoch <= ports and not epoch & plain and plain < ports
    result = verilator_lint(tmp_path / "epoch" / f"{CORE_MODULE}.v")
    assert result.returncode == 0, result.stderr
