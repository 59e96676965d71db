"""What every property harness shares: a port-less component and a look inside the block.

A harness may need a register of the block that no port shows (a lane's PRNG state, the
products feeding the adder tree). It elaborates the block itself and finds the child
components by class among the fragment's origins: their ports are public attributes, so the
harness reads them without any test-only logic in the block.
"""

from __future__ import annotations

from amaranth import Module
from amaranth.hdl import Assume, Fragment, ResetSignal
from amaranth.lib import wiring

__all__ = ["PropertyHarness", "elaborate_block", "children_of_type"]


class PropertyHarness(wiring.Component):
    """Base of the harnesses: no ports, and no reset after the initial state.

    A subclass implements :meth:`check` (``m`` is its module); the reset input of the ``sync``
    domain is assumed low, so a proof starts from the registers' initial values and the only
    free inputs are the harness's ``AnySeq``/``AnyConst`` values.

    Parameters
    ----------
    config : HardwareConfig
        The build whose blocks the harness instantiates.
    """

    def __init__(self, *, config):
        self.config = config
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += Assume(~ResetSignal())
        self.check(m, platform)
        return m

    def check(self, m: Module, platform) -> None:
        raise NotImplementedError


def elaborate_block(block, platform) -> Fragment:
    """``block`` elaborated to a fragment (add it to the harness with ``m.submodules``)."""
    return Fragment.get(block, platform)


def children_of_type(fragment: Fragment, cls) -> list:
    """The instances of component class ``cls`` inside ``fragment``, depth first, in order."""
    found = [origin for origin in (fragment.origins or ()) if isinstance(origin, cls)]
    for child, _name, _src in fragment.subfragments:
        found += children_of_type(child, cls)
    return found
