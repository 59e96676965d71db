"""The DSP budget: which multipliers of a design go to hard DSPs when the device has too few.

Yosys maps every multiplier it can to a DSP, and nextpnr fails if there are more than the device
has. :func:`survey_multipliers` lists the design's multiplier shapes after width reduction;
:func:`plan_multipliers` fills the device with the shapes that save the most LUTs per DSP; the
others are hidden from the DSP mapping as :data:`SOFT_MULTIPLIER` cells (see ``synth.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

from .tools import run_tool

__all__ = ["SOFT_MULTIPLIER", "SOFT_MULTIPLIER_STUB", "FRONT_END_NETLIST", "front_end",
           "survey_multipliers", "dsps_per_multiplier", "plan_multipliers"]


#: A black-box cell type that hides a multiplier from the DSP mapping (see plan_multipliers).
SOFT_MULTIPLIER = "halp_soft_mul"
SOFT_MULTIPLIER_STUB = f"""(* blackbox *)
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


def front_end() -> list[str]:
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


def survey_multipliers(out_dir: Path, progress, stop=None) -> dict[tuple[int, int], int]:
    """Run the front end; return the multipliers after width reduction: (A width, B width) ->
    how many. ``stop`` as :func:`~halp_hw.flow.tools.run_tool`'s."""
    (out_dir / f"{SOFT_MULTIPLIER}.v").write_text(SOFT_MULTIPLIER_STUB)
    script = front_end() + ["tee -q -o multipliers.txt dump t:$mul",
                             f"write_rtlil {FRONT_END_NETLIST}"]
    (out_dir / "survey.ys").write_text("\n".join(script) + "\n")
    run_tool("yosys", ["-s", "survey.ys"], out_dir / "yosys-survey.log", out_dir, progress,
             stop)
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
