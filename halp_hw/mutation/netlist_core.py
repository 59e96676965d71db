"""The mutated netlist inside the simulation top, in place of the core.

As YosysHQ's mcy does, the campaign mutates the core alone and tests it inside its system: the
memory models around it are not part of the mutated netlist, so the campaign's mutations do not
depend on them, and changing a memory model never changes which mutations a seed draws.
"""

from __future__ import annotations

from amaranth import ClockSignal, Instance, Module, ResetSignal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from halp_hw.golden.validation import check_int

from .netlist import MUTANTS_MODULE, SELECT_PORT

__all__ = ["NetlistCore"]


class NetlistCore(wiring.Component):
    """An instance of the mutated netlist (module :data:`MUTANTS_MODULE`) with the ports of the
    core it was synthesized from, for :class:`halp_hw.hdl.system.HALPSystem`.

    Same latency and throughput as that core (select 0) or its mutant.

    Parameters
    ----------
    core : HALPCore
        The core whose netlist was mutated (for its signature and build).
    select_width : int
        Bits of the select input.

    Attributes
    ----------
    config : HardwareConfig
        The core's build.
    (every port of ``core``)
        Connected to the netlist's port of the same name.
    mutsel : In(select_width)
        The mutation switched on (0: none).
    """

    def __init__(self, *, core, select_width: int):
        self.config = core.config
        check_int("select width", select_width, 1)
        super().__init__({**core.signature.members, SELECT_PORT: In(select_width)})

    def elaborate(self, platform):
        m = Module()
        ports = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
        for path, member, value in self.signature.flatten(self):
            direction = "i" if member.flow == In else "o"
            ports[f"{direction}_{'__'.join(str(part) for part in path)}"] = Value.cast(value)
        m.submodules.netlist = Instance(MUTANTS_MODULE, **ports)
        return m
