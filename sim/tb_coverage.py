"""Functional coverage of the testbenches: cocotb-coverage bins and crosses.

The block testbenches declare their items with :func:`cover_point` (under the block's name:
``rounder.result``, ``lane.beat``, ...) and end with :func:`report`. The core regression's items
(under ``core.``, :class:`CoreCoverage`) are these:

The testbench is woken per host command, never per clock edge, so every bin is sampled from
what the host does (a command, the core's state when it is presented) and from the golden
model's view of each inner step (its arithmetic and its cycle model, which the comparison proves
equal to the RTL's), never from per-cycle Python:

``core.lanes.saturation``
    ``(lane, "high" | "low")``: an update of a feature of that lane clamped at that bound.
``core.lanes.rounding_carry``
    ``lane``: the random bits of an update carried into the kept bits.
``core.pass.last_beat``
    ``"full" | "partial"``: a pass whose last beat has every lane active, or masked lanes
    (``d mod L != 0``; only ``"full"`` exists with one lane).
``core.memory.stall``
    what each step of a RUN waits for at its end, by the golden cycle model of the run's memory
    and sample order (``halp_hw.golden.memory.run_waits``): ``"none"`` (the pipeline's drain
    ends the step), ``"row i_{t+2}"`` (the row the next pass reads second, fetched
    ``row_slots - 3`` steps ahead, has not arrived); and ``"seed prefetch"`` per SEED (the
    ``row_slots - 1`` rows fetched before the first step). The next row address never comes
    later than row ``i_{t+2}`` (its order entry is read two steps earlier than that row, on a
    memory of the same timing, and the xorshift32 draw takes fewer cycles than the shortest
    step): a step waiting for it fails the regression instead of hitting a bin.
``core.command.run_length``
    ``0 | 1 | "many"``: the argument ``T`` of a RUN (``T = 1``: one inner step).
``core.command.sequence``
    ``(previous command, command)`` (the first SEED after a reset has no previous command):
    ``("RUN", "RECENTER")`` is a recenter right after a run.
``core.command.in_state``
    ``(command, state)``: the command presented while the core's control FSM is in ``IDLE``,
    ``SEED`` or ``RUN`` (it is accepted when the core is back in ``IDLE``).

:func:`summary` gives every item's bins and hits; :func:`export` writes cocotb-coverage's YAML
report.
"""

from __future__ import annotations

from pathlib import Path

from cocotb_coverage.coverage import CoverItem, CoverPoint, coverage_db

from halp_hw.golden.memory import run_waits
from halp_hw.hdl.core import Command

__all__ = ["COMMANDS", "STATES", "STALLS", "CoreCoverage", "cover_point", "summary", "totals",
           "missed", "export", "report"]

#: The host commands, by name.
COMMANDS = tuple(command.name for command in Command)
#: The control FSM's states.
STATES = ("IDLE", "SEED", "RUN")
#: What an inner step of a RUN (or a SEED) waits for.
STALLS = ("none", "row i_{t+2}", "seed prefetch")
#: The root of the core's cover items.
ROOT = "core"


def _hit(*_):
    """The sampled function: cocotb-coverage counts its arguments into the bins."""


def cover_point(name: str, bins: list):
    """The cocotb-coverage point ``name`` (dotted: ``block.item``) with ``bins``; returns the
    function that samples it (its argument is the bin hit)."""
    return CoverPoint(name, bins=bins)(_hit)


def _point(name: str, bins: list):
    return cover_point(f"{ROOT}.{name}", bins)


class CoreCoverage:
    """The core's cover items for one regression (cocotb-coverage keeps them, and their hits, in
    its global ``coverage_db``; a new one replaces the items of the one before, so that each
    regression of a run of several cases counts its own hits).

    Parameters
    ----------
    config : HardwareConfig
        The build: its lane count sets the per-lane bins.
    """

    def __init__(self, config):
        for name in [name for name in coverage_db if name.split(".")[0] == ROOT]:
            del coverage_db[name]
        lanes = range(config.lanes)
        self.config = config
        self._saturation = _point("lanes.saturation",
                                  [(lane, bound) for lane in lanes for bound in ("high", "low")])
        self._carry = _point("lanes.rounding_carry", list(lanes))
        self._last_beat = _point("pass.last_beat",
                                 ["full", "partial"] if config.lanes > 1 else ["full"])
        self._stall = _point("memory.stall", list(STALLS))
        self._run_length = _point("command.run_length", [0, 1, "many"])
        self._sequence = _point("command.sequence",
                                [(previous, command) for previous in COMMANDS
                                 for command in COMMANDS])
        self._in_state = _point("command.in_state",
                                [(command, state) for command in COMMANDS for state in STATES])

    def step(self, z_new, saturated, carries, d: int) -> None:
        """One golden inner step: its new ``z``, saturation and carry flags per feature."""
        bits_high = (1 << (self.config.bits - 1)) - 1
        lanes = self.config.lanes
        for feature in saturated.nonzero()[0]:
            self._saturation(int(feature) % lanes,
                             "high" if z_new[feature] == bits_high else "low")
        for feature in carries.nonzero()[0]:
            self._carry(int(feature) % lanes)
        self._last_beat("partial" if d % lanes else "full")

    def run(self, steps: int, d: int, memory, order: str) -> None:
        """A RUN of ``steps`` inner steps: what each waits for."""
        for wait in run_waits(self.config, memory, d, order, steps):
            if wait not in STALLS:
                raise AssertionError(f"a step waits for the {wait}, which the row fetcher "
                                     "should never make wait")
            self._stall(wait)

    def command(self, previous: str, command: Command, arg: int, state: str) -> None:
        """A command presented to the core after ``previous``, while it is in ``state``."""
        self._sequence(previous, command.name)
        self._in_state(command.name, state)
        if command is Command.SEED:
            self._stall("seed prefetch")
        elif command is Command.RUN:
            self._run_length(arg if arg <= 1 else "many")


def summary(root: str = ROOT) -> dict:
    """Every cover item under ``root``: ``{name: {"bins": {bin: hits}, "covered": c,
    "size": s}}`` (bins as strings)."""
    items = {}
    for name in sorted(coverage_db):
        item = coverage_db[name]
        if not name.startswith(f"{root}.") or type(item) is CoverItem:  # a group
            continue
        items[name] = {"bins": {str(key): hits for key, hits in item.detailed_coverage.items()},
                       "covered": item.coverage, "size": item.size}
    return items


def totals(items: dict) -> dict:
    """The hits a phase's report counts: ``saturations``, ``rounding_carries`` (updates),
    ``partial_last_beats`` (passes), ``recenters`` (commands)."""
    def hits(name, keep=lambda key: True):
        bins = items.get(f"{ROOT}.{name}", {"bins": {}})["bins"]
        return sum(count for key, count in bins.items() if keep(key))

    return {"saturations": hits("lanes.saturation"),
            "rounding_carries": hits("lanes.rounding_carry"),
            "partial_last_beats": hits("pass.last_beat", lambda key: key == "partial"),
            "recenters": hits("command.in_state", lambda key: key.startswith("('RECENTER'"))}


def missed(items: dict, *names: str) -> dict:
    """The bins of ``names`` (all items when none is given) that were never hit."""
    return {name: [key for key, hits in item["bins"].items() if hits == 0]
            for name, item in items.items() if (not names or name in names)
            and any(hits == 0 for hits in item["bins"].values())}


def export(path) -> None:
    """cocotb-coverage's YAML report of every item at ``path``."""
    coverage_db.export_to_yaml(str(path))


def report(board, report_path, root: str) -> None:
    """Put the items under ``root`` into ``board``'s report (``functional_coverage``) and write
    cocotb-coverage's YAML report next to the report file (``<name>.report.coverage.yml``)."""
    board.extra["functional_coverage"] = summary(root)
    if report_path:
        export(Path(report_path).with_suffix(".coverage.yml"))
