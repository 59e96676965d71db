"""The simulation top that generates the clock, so that no testbench toggles it per edge.

A testbench that waits for ``busy`` to fall is then woken once per command, not twice per cycle:
the clock runs inside the simulator. Icarus builds use this top; Verilator builds toggle ``clk``
in their simulation main instead (:mod:`halp_hw.runtime.verilator_main`), and the top stays
valid Verilog for Verilator ``--timing``.
"""

from __future__ import annotations

import re

__all__ = ["CLOCK_PERIOD_NS", "CLOCKED_TOPLEVEL", "CLOCK_PORT", "clocked_top"]

#: The period of the generated clock.
CLOCK_PERIOD_NS = 10
#: The name of the generated simulation top.
CLOCKED_TOPLEVEL = "clocked_top"
#: The clock input of every design top.
CLOCK_PORT = "clk"


#: A port declaration of Yosys' Verilog (``input signed [7:0] d;``): direction, type, name.
_PORT_DECLARATION = re.compile(r"^\s*(input|output|inout)\s+((?:signed\s+)?(?:\[[^\]]*\]\s*)?)"
                               r"(\\\S+|[A-Za-z_][\w$]*)\s*;", re.MULTILINE)



def clocked_top(verilog: str, *, module: str) -> str | None:
    """A simulation top that generates the ``clk`` of ``module`` (Verilog text), or None.

    The top has the ports of ``module`` except ``clk`` (same names, directions and widths, so a
    testbench sees the design's ports on it) and a ``clk`` register toggled every half of
    :data:`CLOCK_PERIOD_NS`, low first: the first rising edge is half a period in. Nothing but
    the port list of ``module`` is used, so any design top can be wrapped. None when ``module``
    has no ``clk`` input (a combinational design).
    """
    found = re.search(rf"^module {re.escape(module)}\(.*?^endmodule", verilog,
                      re.MULTILINE | re.DOTALL)
    if found is None:
        raise ValueError(f"the Verilog has no module {module!r} to wrap")
    ports = _PORT_DECLARATION.findall(found.group(0))
    if ("input", "", CLOCK_PORT) not in [(d, r.strip(), n) for d, r, n in ports]:
        return None
    kept = [(direction, width.strip(), _identifier(name)) for direction, width, name in ports
            if name != CLOCK_PORT]
    declarations = "".join(f"  {direction} {width + ' ' if width else ''}{name};\n"
                           for direction, width, name in kept)
    connections = "".join(f",\n    .{name}({name})" for _, _, name in kept)
    return (f"// Simulation top: {module} with its {CLOCK_PORT} generated here "
            f"(period {CLOCK_PERIOD_NS} ns).\n"
            f"module {CLOCKED_TOPLEVEL}({', '.join(name for _, _, name in kept)});\n"
            f"{declarations}"
            f"  reg {CLOCK_PORT} = 1'b0;\n"
            f"  always #{CLOCK_PERIOD_NS // 2} {CLOCK_PORT} = ~{CLOCK_PORT};\n"
            f"  {module} wrapped (\n    .{CLOCK_PORT}({CLOCK_PORT}){connections}\n  );\n"
            "endmodule\n")



def _identifier(name: str) -> str:
    """A Verilog identifier as it can be written anywhere: escaped ones end in a space."""
    return f"{name} " if name.startswith("\\") else name
