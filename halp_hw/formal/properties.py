"""The properties ``halp-hw prove`` runs: name, harness, proof mode and depth per build."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .coefficient_harness import CoefficientHarness
from .control_harness import ControlHarness, control_depth
from .lane_harness import LaneHarness
from .memory_port_harness import MEMORY_PORT_SCRIPT, MemoryPortHarness, memory_port_depth
from .order_port_harness import ORDER_PORT_SCRIPT, OrderPortHarness, order_port_depth
from .prng_harness import LanePrngHarness, SamplePrngHarness
from .rounder_harness import RounderHarness
from .vector_harness import VECTOR_SCRIPT, VectorHarness
from .width_harness import UpdateWidthHarness

__all__ = ["FormalProperty", "PROPERTIES", "properties_for", "property_names"]


@dataclass(frozen=True)
class FormalProperty:
    """One property of the design.

    Attributes
    ----------
    name : str
        Its name in ``prove.json`` and on the command line.
    summary : str
        What it proves, one line.
    mode : str
        ``"prove"`` (k-induction: every reachable state) or ``"bmc"`` (bounded from reset).
    harness : callable
        ``harness(config, max_d)`` -> the property harness.
    depth : callable
        ``depth(config, max_d)`` -> k or the bound.
    script : str
        Yosys commands after ``prep`` (an abstraction, stated in the harness's docstring).
    """

    name: str
    summary: str
    mode: str
    harness: Callable
    depth: Callable
    script: str = ""


PROPERTIES: tuple[FormalProperty, ...] = (
    FormalProperty("rounder", "stochastic rounder = floor((v + r) / 2**F), clamped, flag",
                   "prove", lambda cfg, _: RounderHarness(config=cfg), lambda cfg, _: 1),
    FormalProperty("coefficient", "c = clamp(nearest(dot m / 2**S)) three cycles after a "
                   "pass's last beat; clear", "prove",
                   lambda cfg, _: CoefficientHarness(config=cfg), lambda cfg, _: 4),
    FormalProperty("update-width", "v = (z << F) - x c - G + r fits update_width",
                   "prove", lambda cfg, _: UpdateWidthHarness(config=cfg), lambda cfg, _: 1),
    FormalProperty("lane-update", "lane z_new / saturated = clamp(v >> F), stream 1 + l bits",
                   "prove", lambda cfg, _: LaneHarness(config=cfg), lambda cfg, _: 5),
    FormalProperty("lane-product", "lane product = x_next z_new (feed-forward: depth 5 is "
                   "complete)", "bmc",
                   lambda cfg, _: LaneHarness(config=cfg, check_product=True), lambda cfg, _: 5),
    FormalProperty("lane-prng", "every lane's xorshift32 of the vector unit = stream 1 + l",
                   "prove", lambda cfg, _: LanePrngHarness(config=cfg), lambda cfg, _: 1),
    FormalProperty("sample-prng", "the sample-order xorshift32 = stream 0, one draw per load "
                   "and per row address taken", "prove",
                   lambda cfg, _: SamplePrngHarness(config=cfg), lambda cfg, _: 3),
    FormalProperty("vector-dot", "adder tree + accumulator: dot = exact sum, fits dot_width",
                   "prove", lambda cfg, _: VectorHarness(config=cfg),
                   lambda cfg, _: VectorHarness.induction_depth(cfg), VECTOR_SCRIPT),
    FormalProperty("memory-port", "row fetch: one request at a time, within its slot, every "
                   "beat taken and stored, under any memory timing", "bmc",
                   lambda cfg, _: MemoryPortHarness(config=cfg),
                   lambda cfg, _: memory_port_depth(cfg), MEMORY_PORT_SCRIPT),
    FormalProperty("order-port", "host-given order: one entry per request, in order, at "
                   "most row_slots read ahead; every entry taken and turned into its row address",
                   "bmc", lambda cfg, _: OrderPortHarness(config=cfg),
                   lambda cfg, _: order_port_depth(cfg), ORDER_PORT_SCRIPT),
    FormalProperty("control", "zero-wait memory: busy exactly T * step_cycles(d) (T <= 2), "
                   "no command while busy, ready again within seed_cycles of a SEED",
                   "bmc", lambda cfg, max_d: ControlHarness(config=cfg, max_d=max_d),
                   lambda cfg, max_d: control_depth(cfg, max_d)),
)


def property_names() -> list[str]:
    return [prop.name for prop in PROPERTIES]


def properties_for(names=None) -> list[FormalProperty]:
    """The properties called ``names`` (all when None), in the table's order."""
    if not names:
        return list(PROPERTIES)
    wanted = set(names)
    return [prop for prop in PROPERTIES if prop.name in wanted]
