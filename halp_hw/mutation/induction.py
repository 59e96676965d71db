"""Unbounded equivalence of the core with and without one mutation: Yosys's equivalence passes.

The synthesized core (its ports free inputs and checked outputs: a stronger claim than the
system's outputs under one memory model) is copied twice, ``gold`` and ``gate``, the mutation
applied to ``gate``. ``equiv_make`` pairs every named signal of the two copies with an
``$equiv`` cell, ``equiv_struct`` merges the structurally identical logic, ``equiv_simple``
proves each pair from its input cone (one cycle back through flip-flops) and ``equiv_induct``
proves the rest by temporal induction: assuming every pair equal in the previous cycle, they are
equal in this one.
Both copies start from the same state (a mutation changes no initial value), so a set of pairs
all proven this way holds in every cycle of every input sequence.

Each net keeps one name (``opt_clean -purge`` drops the other names of a net, so that a pair
dropped below is not paired again under an alias). A pair that cannot be proven (the mutated
signal itself, or one it changes before the change is
masked, e.g. a product bit below the bits a shift keeps) would let the others assume what is not
true, so each round drops the pairs left unproven (``equiv_make -blacklist``: the two copies of
those signals stay apart and the proofs behind them must go through the mutated logic) and
tries again. Pairs are dropped one bit at a time: a signal with an unproven bit is split into
single-bit wires (``splitnets``) in the next rounds and only that bit's pair is dropped, so its
other bits stay paired (the high bits of a product whose low bits a mutation changes, say, are
still what the proofs behind them may assume). The mutant is **proven equivalent** only when
a round leaves no pair unproven; it is **not proven** when an unproven pair is an output port of
the core (its ports are never dropped) or is not a named signal's pair, when a round adds
nothing to drop, or after
:data:`MAX_ROUNDS` rounds or ``timeout`` seconds. (``equiv_struct`` runs without ``-icells``:
with it, it would merge the two copies of the mutated cell and pair its inputs, a pair no round
can drop.)
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import time
from pathlib import Path

from .netlist import DESIGN_FILE, Mutation, run_yosys

__all__ = ["MAX_ROUNDS", "prove"]

#: Rounds of dropping unproven pairs before the mutant counts as not proven.
MAX_ROUNDS = 12
#: An unproven pair as ``equiv_status`` lists it: ``Unproven $equiv <cell>: <gold> <gate>``.
_UNPROVEN = re.compile(r"^\s*Unproven \$equiv \S+: (.*)$", re.MULTILINE)
#: The gold half of a pair that ``equiv_make`` made for a named signal: ``\<name>_gold [bit]``
#: (a split signal's bit: ``\<name>[bit]_gold``).
_GOLD = re.compile(r"^\\(\S+?)(\[\d+\])?_gold(?: \[(\d+)\])? ")


def _undriven(log: str, side: str) -> set[str]:
    """The signal bits ``equiv_make`` skipped as undriven in the ``gold`` or ``gate`` copy."""
    return set(re.findall(rf"Skipping signal bit (\S+)_{side}(?: (\[\d+\]))?: undriven on "
                          rf"{side} side", log))


def _script(mutation: Mutation, blacklist: str, split: list[str]) -> str:
    command = mutation.command(module="gate")
    splitting = "".join(f"splitnets gold/w:\\{name} gate/w:\\{name}\n" for name in split)
    return (f"read_rtlil ../{DESIGN_FILE}\n"
            "tee -q -o outputs.txt select -list top/o:*\n"
            f"copy top gold\ncopy top gate\ndelete top\n{command}\n"
            f"memory_map\nopt_clean -purge\n{splitting}"
            f"equiv_make -blacklist {blacklist} gold gate equiv\nhierarchy -top equiv\n"
            "equiv_struct\nequiv_simple -seq 1\nequiv_induct -seq 1\nequiv_status\n")


def _drop(name: str, bit: int | None, split: list[str]) -> str:
    """The blacklist entry of bit ``bit`` of signal ``name`` (``None``: a single-bit wire, or
    one split already), adding ``name`` to the signals to ``split`` when it has to be."""
    if bit is None or any(char in name for char in "[]*?"):
        return name  # (a name with brackets is not split: its selection would be a pattern)
    if name not in split:
        split.append(name)
    return f"{name}[{bit}]"


def prove(work_dir: Path, mutation: Mutation, *, timeout: float) -> dict:
    """Try to prove ``mutation`` equivalent for every input sequence (see the module docstring).

    Parameters
    ----------
    work_dir : pathlib.Path
        The campaign's directory (holds the synthesized design); the rounds go to
        ``induction_<select>/``.
    mutation : Mutation
        The mutation.
    timeout : float
        Seconds for all rounds together.

    Returns
    -------
    dict
        ``status`` (``PROVEN``, ``NOT PROVEN`` or ``TIMEOUT``), ``rounds``, ``seconds``,
        ``dropped`` (the signals whose pairs were dropped) and, when not proven, ``unproven``
        (the pairs left, an output port of the core among them when it says so).
    """
    start = time.perf_counter()
    folder = work_dir / f"induction_{mutation.select}"
    folder.mkdir(parents=True, exist_ok=True)
    single = dataclasses.replace(mutation, select=1)
    # the mutated signal bit is never paired: the mutation moves its driver in ``gate``
    dropped: list[str] = []
    split: list[str] = []
    if mutation.wire:
        dropped.append(_drop(mutation.wire, mutation.wirebit, split))
    outcome = {"status": "NOT PROVEN", "rounds": 0, "dropped": dropped}
    for round_number in range(1, MAX_ROUNDS + 1):
        remaining = timeout - (time.perf_counter() - start)
        blacklist = folder / f"dropped{round_number}.txt"
        # escaped: Yosys would read $36 as an internal name; the netlist's wire is \$36
        blacklist.write_text("".join(f"\\{name}\n" for name in dropped))
        try:
            log = run_yosys(_script(single, blacklist.name, split), folder,
                            f"round{round_number}", timeout=max(1.0, remaining))
        except subprocess.TimeoutExpired:
            outcome["status"] = "TIMEOUT"
            break
        outcome["rounds"] = round_number
        text = log.read_text()
        pairs = _UNPROVEN.findall(text)
        if _undriven(text, "gate") - _undriven(text, "gold"):
            outcome["unproven"] = sorted(_undriven(text, "gate") - _undriven(text, "gold"))
            break  # a signal lost its driver in one copy only: no pair to trust
        named = [_GOLD.match(pair) for pair in pairs]
        if not pairs:
            outcome["status"] = "PROVEN"
            break
        outputs = {line.split("/", 1)[1] for line in
                   (folder / "outputs.txt").read_text().split() if "/" in line}
        new_split = list(split)
        unproven = sorted({_drop(match.group(1) + (match.group(2) or ""),
                                 int(match.group(3)) if match.group(3) else None, new_split)
                           if match else pair for match, pair in zip(named, pairs)})
        new = [name for name in unproven if name not in dropped]
        at_port = {match.group(1) for match in named if match} & outputs
        if at_port or not new or not all(named):
            outcome["unproven"] = unproven
            break
        dropped += new
        split = new_split
    outcome["seconds"] = round(time.perf_counter() - start, 1)
    return outcome
