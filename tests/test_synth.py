"""The FPGA flow: synth.json from real Yosys / nextpnr runs, resource counting, the DSP budget,
errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.validation import HalpInputError
from halp_hw.cli import main
from halp_hw.flow.multipliers import dsps_per_multiplier, plan_multipliers
from halp_hw.flow.reports import count_resources
from halp_hw.flow.synth import run_synthesis, write_wrapped_verilog
from halp_hw.flow.targets import TARGETS, make_config
from halp_hw.flow.tools import ToolError

#: One test worker runs this module: each target's synthesis (a module-scoped fixture) is made once.
pytestmark = [pytest.mark.xdist_group("test_synth"), pytest.mark.long(35)]

ROUTED_TARGETS = [name for name, target in TARGETS.items() if target.nextpnr]


# -- the CI configuration: the core at 8 bits, 1 lane, small memories, on every target -------------

#: The smallest core that still has what the checks below look for: 8-bit multipliers that go
#: to DSPs on both routed targets, z, G and the row buffer as block RAM on iCE40 (2 of them) and
#: generic, far more port bits than 100; nextpnr places it in about 2/3 of the time of 2 lanes
#: and 16 features.
CI_CORE = {"bits": 8, "lanes": 1, "n_max": 8, "d_max": 4}


@pytest.fixture(scope="module", params=list(TARGETS))
def core_result(request, tmp_path_factory):
    target = request.param
    config = make_config(target=target, **CI_CORE)
    out_dir = tmp_path_factory.mktemp(f"core-{target}")
    return run_synthesis(design="core", target=target, config=config, out_dir=out_dir,
                         progress=False), out_dir


def test_core_synth_json_is_complete_and_sane(core_result):
    result, out_dir = core_result
    on_disk = json.loads((out_dir / "synth.json").read_text())
    assert on_disk == result
    for key in ("luts", "ffs", "dsps", "brams", "fmax_mhz", "tools", "run_time_s", "config"):
        assert key in result
    frac_bits = TARGETS[result["target"]].frac_bits or HardwareConfig().frac_bits
    assert result["config"] == dataclasses.asdict(
        HardwareConfig(data_bits=8, frac_bits=frac_bits, **CI_CORE))
    assert result["luts"] > 0 and result["ffs"] > 0
    # z, G and the row buffer are memories: block RAM on iCE40 (it has no LUT RAM), memory cells
    # in generic; ECP5 puts memories this small into LUT RAM.
    if result["target"] != "ecp5":
        assert result["brams"] >= 1
    assert result["run_time_s"]["yosys"] > 0
    assert result["tools"]["yosys"].startswith("Yosys ")
    for log in result["logs"].values():
        assert (out_dir / log).stat().st_size > 0
    # The wrapper reaches every port bit: far more than the design's few pins.
    assert result["wrapper"]["input_bits"] > 100 and result["wrapper"]["output_bits"] > 100


def test_core_routed_targets_report_fmax_and_fit_the_device(core_result):
    result, _ = core_result
    if result["target"] not in ROUTED_TARGETS:
        assert result["fmax_mhz"] is None and result["critical_path"] is None
        assert result["dsps"] == 0  # technology independent: multipliers are LUTs
        return
    assert result["fmax_mhz"] > 0
    # Hard multipliers are used, never more than the device has.
    assert 0 < result["dsps"] <= result["multipliers"]["dsp_capacity"]
    path = result["critical_path"]
    assert path["delay_ns"] == pytest.approx(path["logic_ns"] + path["routing_ns"], abs=0.01)
    assert 1000 / path["delay_ns"] == pytest.approx(result["fmax_mhz"], rel=0.02)
    for cell, usage in result["utilization"].items():
        assert 0 < usage["used"] <= usage["available"], cell
    assert result["tools"][f"nextpnr-{result['target']}"].startswith("nextpnr-")


# -- the reference MACC: resources known from first principles -------------------------------------

@pytest.mark.parametrize("target", ROUTED_TARGETS)
def test_reference_macc_counts_its_own_registers_and_one_multiplier(target, tmp_path):
    width = 8
    config = make_config(target=target, data_bits=width)
    result = run_synthesis(design="macc", target=target, config=config, out_dir=tmp_path,
                           progress=False)
    # The wrapper reaches every port bit: a, b and clear in; the accumulator out.
    assert result["wrapper"]["input_bits"] == 2 * width + 1
    assert result["wrapper"]["output_bits"] == 3 * width
    # a, b, the product, the two-stage clear and the accumulator; the wrapper apart:
    assert result["ffs"] == 2 * width + 2 * width + 2 + 3 * width
    assert result["wrapper"]["ffs"] == (2 * width + 1) + 1  # the input chain and the parity
    assert result["dsps"] == 1 and result["brams"] == 0
    assert result["fmax_mhz"] > 0


# -- counting and the DSP budget -------------------------------------------------------------------

def test_resource_classes_add_up_weighted_cells():
    ecp5 = count_resources({"LUT4": 10, "CCU2C": 3, "TRELLIS_FF": 7, "MULT18X18D": 2,
                            "ALU54B": 1, "DP16KD": 4, "PFUMX": 5}, TARGETS["ecp5"])
    assert ecp5 == {"luts": 16, "ffs": 7, "dsps": 3, "brams": 4, "lutram": 0}
    ice40 = count_resources({"SB_LUT4": 9, "SB_DFF": 2, "SB_DFFESR": 3, "SB_CARRY": 8,
                             "SB_RAM40_4K": 2}, TARGETS["ice40"])
    assert ice40 == {"luts": 9, "ffs": 5, "dsps": 0, "brams": 2}


@pytest.mark.parametrize("a_width, b_width, dsp_width, expected", [
    (8, 8, 18, 1), (18, 18, 18, 1), (8, 27, 18, 2), (19, 19, 18, 4), (8, 19, 16, 2),
    (32, 5, 16, 3),
])
def test_dsps_per_signed_multiplier(a_width, b_width, dsp_width, expected):
    # A signed w x w hard multiplier holds w-1 magnitude bits per operand chunk.
    assert dsps_per_multiplier(a_width, b_width, dsp_width) == expected


def test_multiplier_plan_fills_the_dsps_with_the_biggest_savings_first():
    shapes = {(8, 27): 4, (8, 8): 4, (20, 19): 1}
    hard, soft = plan_multipliers(shapes, dsp_width=16, capacity=8)
    # 8 x 27 saves 216 LUTs per 2 DSPs, the most per DSP, and takes all 8.
    assert [(s["a_width"], s["b_width"]) for s in hard] == [(8, 27)]
    assert {(s["a_width"], s["b_width"]) for s in soft} == {(8, 8), (20, 19)}
    hard, soft = plan_multipliers(shapes, dsp_width=16, capacity=100)
    assert soft == [] and sum(s["count"] for s in hard) == 9
    hard, soft = plan_multipliers(shapes, dsp_width=16, capacity=0)
    assert hard == []


# -- errors ----------------------------------------------------------------------------------------

def test_tool_failure_quotes_the_log_tail(tmp_path, monkeypatch):
    broken = dataclasses.replace(TARGETS["generic"], synth_commands="synth -top no_such_module")
    monkeypatch.setitem(TARGETS, "generic", broken)
    with pytest.raises(ToolError, match="no_such_module") as caught:
        run_synthesis(design="macc", target="generic", config=HardwareConfig(),
                      out_dir=tmp_path, progress=False)
    assert caught.value.tool == "yosys"
    assert "yosys failed" in str(caught.value)
    assert "ERROR" in caught.value.reason and "no_such_module" in caught.value.reason


def test_place_and_route_failure_names_the_overflowing_resources(tmp_path):
    log = tmp_path / "nextpnr.log"
    log.write_text("Info: Device utilisation:\n"
                   "Info: \t        TRELLIS_COMB:   56152/  24288   231%\n"
                   "Info: \t          MULT18X18D:      21/     28    75%\n"
                   "ERROR: Unable to place cell 'x', no BELs remaining\n")
    error = ToolError("nextpnr-ecp5", 125, log)
    assert error.reason == "the design does not fit the device: TRELLIS_COMB 56152/24288"
    assert "exit status 125" in str(error) and "no BELs remaining" in str(error)


@pytest.mark.parametrize("call, message", [
    (lambda out: run_synthesis(design="macc", target="xilinx", config=HardwareConfig(),
                               out_dir=out), "target must be one of"),
    (lambda out: run_synthesis(design="dsp", target="ecp5", config=HardwareConfig(),
                               out_dir=out), "design must be one of"),
    (lambda out: run_synthesis(design="macc", target="ecp5", device="99k",
                               config=HardwareConfig(), out_dir=out), "device for ecp5"),
    (lambda out: run_synthesis(design="macc", target="generic", device="25k",
                               config=HardwareConfig(), out_dir=out), "do not apply"),
    (lambda out: run_synthesis(design="macc", target="ecp5", clock_mhz=0,
                               config=HardwareConfig(), out_dir=out), "clock_mhz"),
    (lambda out: make_config(target="ecp5", bits=40), "bits must be"),
])
def test_bad_parameters_raise_one_line_errors(call, message, tmp_path):
    with pytest.raises(HalpInputError, match=message) as caught:
        call(tmp_path)
    assert "\n" not in str(caught.value)


def test_cli_bad_width_exits_2_without_traceback(tmp_path, capsys):
    assert main(["synth", "--bits", "1", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("halp-hw synth: error: bits must be")


def test_cli_synth_writes_synth_json(tmp_path, capsys):
    out = tmp_path / "macc"
    assert main(["synth", "--design", "macc", "--target", "generic", "--out", str(out),
                 "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[0])
    assert summary == {key: json.loads((out / "synth.json").read_text())[key]
                       for key in summary}


@pytest.mark.parametrize("args, message", [
    (["--design", "lane"], "builds the least-squares or the logistic core"),
    (["--problem", "svm"], "builds the least-squares or the logistic core"),
    (["--problem", "logreg", "--lanes", "1", "--gradient-data-bits", "24", "--center-bits",
      "16", "--d-max", "10"], "4 margin words per row"),
    (["--center-bits", "8"], "center_bits must be an integer in 16..48"),
    (["--gradient-data-bits", "24", "--center-bits", "48", "--n-max", "16777216"],
     "needs a"),
])
def test_cli_bad_full_gradient_build_exits_2(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main(["synth", "--full-gradient", "accelerator", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("halp-hw synth: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_full_gradient_core_in_the_flow_has_the_epoch_ports(tmp_path):
    """The wrapped Verilog of --full-gradient accelerator has the pass's port; the default
    core's has none of it."""
    config = make_config(target="generic", lanes=2, d_max=4, n_max=4)
    write_wrapped_verilog("core", config, tmp_path / "plain.v")
    write_wrapped_verilog("core", config, tmp_path / "epoch.v", full_gradient=True)
    assert "pass_memory" not in (tmp_path / "plain.v").read_text()
    assert "pass_memory" in (tmp_path / "epoch.v").read_text()
