"""The pipelined adder tree of the lanes: a register after every second adder level and after
the last, so ``HardwareConfig.tree_stages`` registers for ``lanes`` inputs."""

from __future__ import annotations

from amaranth import Module, Signal

__all__ = ["register", "delay", "adder_tree"]


def register(m: Module, name: str, *values):
    """One pipeline register per value (same shape); returns the registered copies."""
    copies = [Signal(value.shape(), name=f"{name}_{index}") for index, value in enumerate(values)]
    m.d.sync += [copy.eq(value) for copy, value in zip(copies, values)]
    return copies


def delay(m: Module, name: str, cycles: int, *values):
    """``values`` through ``cycles`` pipeline registers each; returns the delayed copies."""
    for stage in range(cycles):
        values = register(m, f"{name}{stage}", *values)
    return list(values)


def adder_tree(m: Module, values, control, name: str = "tree", *, odd_levels: bool = False):
    """The sum of ``values`` through the tree, and ``control`` (a list of signals) delayed
    alongside it; returns ``(sum, delayed control)``.

    A register follows every second adder level (the even ones, or the odd ones with
    ``odd_levels``, for inputs that are themselves sums of a level 0) and the last. Latency:
    ``ceil(log2(len(values)) / 2)`` cycles (0 for one value; one more for some counts with
    ``odd_levels``); throughput: one sum per cycle."""
    sums, control = list(values), list(control)
    level, registered_level = 0, int(odd_levels)
    while len(sums) > 1:
        pairs = [sums[i] + sums[i + 1] for i in range(0, len(sums) - 1, 2)]
        sums = pairs + sums[len(pairs) * 2:]
        level += 1
        if level % 2 == registered_level or len(sums) == 1:
            sums = register(m, f"{name}{level}", *sums)
            control = register(m, f"{name}{level}_control", *control)
    return sums[0], control
