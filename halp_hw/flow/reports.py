"""Reading the FPGA flow's results: Yosys cell counts into resources, nextpnr's timing report."""

from __future__ import annotations

import fnmatch
import re

from .targets import Target

__all__ = ["count_resources", "module_cells", "signal_of_cell", "summarize_critical_path",
           "read_pnr_report"]


def count_resources(cells: dict[str, int], target: Target) -> dict[str, int]:
    """Add up Yosys cell counts (type -> number) into the target's resource classes."""
    totals = {}
    for resource, rules in target.resources.items():
        totals[resource] = sum(weight * number
                               for pattern, weight in rules
                               for cell, number in cells.items()
                               if fnmatch.fnmatchcase(cell, pattern))
    return totals


def module_cells(stat: dict, module: str) -> dict[str, int]:
    """The primitive cells of one module in Yosys ``stat -json`` (submodule instances and
    Yosys's non-physical ``$scopeinfo`` cells left out)."""
    modules = stat["modules"]
    entry = modules.get("\\" + module)
    if entry is None:
        raise RuntimeError(f"Yosys statistics have no module {module!r}: {', '.join(modules)}")
    return {name: int(number) for name, number in entry["num_cells_by_type"].items()
            if "\\" + name not in modules and name != "$scopeinfo"}


#: Where nextpnr's cell names stop naming the signal and start naming the primitive.
_PRIMITIVE_SUFFIX = re.compile(
    r"_(?:TRELLIS|LUT4|CCU2C|PFUMX|L6MUX21|MULT18X18D|ALU54B|DP16KD|SB_)")


def signal_of_cell(cell: str) -> str:
    """The design signal a nextpnr cell was named after (``design.z_new_LUT4_Z`` ->
    ``design.z_new``)."""
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
