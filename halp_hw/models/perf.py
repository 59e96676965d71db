"""The accelerator's cycle-exact performance model, as pure functions of the build and its memory.

The unit is :func:`halp_hw.golden.memory.step_cost`: one inner step is one pass of ``ceil(d/L)``
beats plus the pipeline latency, or longer when the rows fetched ahead from off-chip memory (or
the row addresses) cannot keep up (``docs/datapath.md``); a run command's exact count is
:func:`halp_hw.golden.memory.run_cycles`. Everything else here (cycles per
epoch and run, memory sizes, bandwidths, multiplier utilization, the roofline, modeled wall time)
follows from it, the widths ``HardwareConfig`` defines, the :class:`MemoryTiming` and a clock.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from halp_hw.golden import epoch_timing
from halp_hw.golden.full_gradient import PassWidths
from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden import memory as memory_timing
from halp_hw.golden.memory import MemoryTiming, step_cost
from halp_hw.golden.validation import HalpInputError, check_int, check_positive

__all__ = [
    "DEFAULT_CLOCK_MHZ", "MULTIPLIERS_PER_LANE", "step_cycles", "epoch_cycles", "run_cycles",
    "memory_bits", "read_bytes_per_beat", "read_bandwidth", "offchip_bytes_per_step",
    "macs_per_step", "mac_utilization", "roofline", "read_synth_json", "clock_from_synth",
    "performance_report",
]

#: Clock used when no synthesis result or ``--clock-mhz`` is given: a conservative ECP5 figure
#: (a registered 8x8 MACC alone routes at ~147 MHz there, see ``TOOLCHAIN.md``).
DEFAULT_CLOCK_MHZ = 100.0

#: Multipliers in one lane: stage A computes ``x_cur * c`` (the update), stage C
#: ``x_next * z_new`` (the fused dot product of the next sample).
MULTIPLIERS_PER_LANE = 2


def _memory(memory: MemoryTiming | None) -> MemoryTiming:
    return MemoryTiming() if memory is None else memory


def step_cycles(config: HardwareConfig, d: int, memory: MemoryTiming | None = None,
                order: str = "xorshift") -> int:
    """Cycles of one inner step in the steady state, exact when compute-bound (default memory:
    ``MemoryTiming()``)."""
    return step_cost(config, _memory(memory), d, order).cycles


def epoch_cycles(config: HardwareConfig, d: int, epoch_length: int,
                 memory: MemoryTiming | None = None, order: str = "xorshift") -> int:
    """Exact cycles of one run command of ``epoch_length`` inner steps (what ``cycles``
    counts)."""
    check_int("epoch length", epoch_length, 1)
    return memory_timing.run_cycles(config, _memory(memory), d, order, epoch_length)


def run_cycles(config: HardwareConfig, d: int, epoch_length: int, epochs: int,
               memory: MemoryTiming | None = None, order: str = "xorshift") -> int:
    """Accelerator cycles of a whole HALP run: ``epochs`` run commands."""
    check_int("epochs", epochs, 1)
    return epochs * epoch_cycles(config, d, epoch_length, memory, order)


def memory_bits(config: HardwareConfig) -> dict[str, int]:
    """Bits of the on-chip memories: the row buffer (``row_slots`` rows), z and G. None depends
    on n."""
    words = config.words_per_row
    return {
        "row_buffer": config.row_slots * words * config.lanes * config.data_bits,
        "z": words * config.lanes * config.bits,
        "g": words * config.lanes * config.grad_width,
    }


def read_bytes_per_beat(config: HardwareConfig) -> dict[str, float]:
    """Bytes read on chip by one beat: two row-buffer words (rows ``i_t`` and ``i_t+1``), one
    z word and one G word."""
    return {
        "row_buffer": 2 * config.lanes * config.data_bits / 8,
        "z": config.lanes * config.bits / 8,
        "g": config.lanes * config.grad_width / 8,
    }


def read_bandwidth(config: HardwareConfig, d: int, memory: MemoryTiming | None = None,
                   order: str = "xorshift") -> dict[str, float]:
    """Average bytes per cycle read from each on-chip memory over an inner step."""
    busy = config.beats(d) / step_cycles(config, d, memory, order)
    return {name: per_beat * busy for name, per_beat in read_bytes_per_beat(config).items()}


def offchip_bytes_per_step(config: HardwareConfig, d: int, order: str = "xorshift") -> float:
    """Bytes one inner step reads from off-chip memory: one row, and an order entry."""
    row = config.beats(d) * config.lanes * config.data_bits / 8
    return row + (4 if order == "host" else 0)


def macs_per_step(d: int) -> int:
    """Useful multiply-accumulates of one inner step: ``d`` for the update, ``d`` for the dot."""
    return 2 * check_int("d (features)", d, 1)


def mac_utilization(config: HardwareConfig, d: int, memory: MemoryTiming | None = None,
                    order: str = "xorshift") -> float:
    """Useful MACs over multiplier slots (``MULTIPLIERS_PER_LANE * lanes * step cycles``)."""
    slots = MULTIPLIERS_PER_LANE * config.lanes * step_cycles(config, d, memory, order)
    return macs_per_step(d) / slots


def roofline(config: HardwareConfig, d: int, memory: MemoryTiming, clock_mhz: float,
             bandwidths, order: str = "xorshift") -> dict:
    """Inner steps per second against the memory bandwidth (the memory's other parameters
    fixed), and the compute ceiling (``clock / (ceil(d/L) + pipeline_latency)``)."""
    clock_hz = check_positive("clock (MHz)", clock_mhz) * 1e6
    rates = [clock_hz / step_cycles(config, d, dataclasses.replace(memory, bytes_per_cycle=b),
                                     order)
             for b in bandwidths]
    return {"bytes_per_cycle": list(bandwidths), "inner_steps_per_second": rates,
            "compute_ceiling": clock_hz / config.step_cycles(d)}


def read_synth_json(path) -> dict:
    """The content of a ``synth.json`` that ``halp-hw synth`` wrote (a JSON object)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise HalpInputError(f"synthesis result {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HalpInputError(f"synthesis result {path} is not readable JSON: {error}") from None
    if not isinstance(data, dict):
        raise HalpInputError(f"synthesis result {path} is not a JSON object")
    return data


def clock_from_synth(path) -> float:
    """The ``fmax_mhz`` that ``halp-hw synth`` wrote into its ``synth.json``."""
    data = read_synth_json(path)
    if "fmax_mhz" not in data:
        raise HalpInputError(f"synthesis result {path} has no field fmax_mhz")
    return check_positive(f"fmax_mhz in {path}", data["fmax_mhz"])


def performance_report(config: HardwareConfig, d: int, epoch_length: int, epochs: int,
                       clock_mhz: float, memory: MemoryTiming | None = None,
                       order: str = "xorshift", *, n: int | None = None,
                       full_gradient: str = "host") -> dict:
    """Everything the model predicts for one run, as a JSON-ready dict.

    Parameters
    ----------
    config : HardwareConfig
        The accelerator build.
    d : int
        Features of the problem (``<= config.d_max``).
    epoch_length, epochs : int
        Inner steps per run command (T) and run commands.
    clock_mhz : float
        The clock the times and rates are modeled at.
    memory : MemoryTiming, optional
        The off-chip memory (default ``MemoryTiming()``).
    order : str
        The sample order, ``xorshift`` or ``host``.
    n : int, optional
        Samples of the problem; needed with ``full_gradient="accelerator"``.
    full_gradient : str
        ``host`` (an epoch is its run command) or ``accelerator`` (an epoch is also the
        full-gradient pass, its finish and the center update:
        :func:`halp_hw.golden.epoch_timing.epoch_cost`).
    """
    clock_hz = check_positive("clock (MHz)", clock_mhz) * 1e6
    memory = _memory(memory)
    cost = step_cost(config, memory, d, order)
    step = cost.cycles
    per_epoch = epoch_cycles(config, d, epoch_length, memory, order)
    phases, pass_bytes_per_epoch = None, 0.0
    if full_gradient == "accelerator":
        check_int("n (samples)", n, 1)
        phases = epoch_timing.epoch_cost(config, memory, n, d, epoch_length, order)
        per_epoch, pass_bytes_per_epoch = phases.cycles, epoch_timing.pass_bytes(config, n, d)
    total = epochs * per_epoch
    bandwidth = read_bandwidth(config, d, memory, order)
    offchip = offchip_bytes_per_step(config, d, order)
    epoch_bytes = epoch_length * offchip + pass_bytes_per_epoch
    return {
        "full_gradient": full_gradient,
        "epoch_phases": None if phases is None else dataclasses.asdict(phases),
        "pass_widths": None if phases is None else dataclasses.asdict(PassWidths.of(config)),
        "epoch_memory_bits": (None if phases is None else
                              {"center": config.d_max * config.center_bits,
                               "accumulators": config.d_max * PassWidths.of(config).acc_width}),
        "pass_offchip_bytes_per_epoch": pass_bytes_per_epoch,
        "offchip_bytes_per_epoch": epoch_bytes,
        "clock_mhz": clock_mhz,
        "memory": dataclasses.asdict(memory),
        "sample_order": order,
        "beats_per_inner_step": config.beats(d),
        "pipeline_latency": config.pipeline_latency,
        "cycles_per_inner_step": step,
        "step_bounds": dataclasses.asdict(cost),
        "bound": cost.bound,
        "cycles_per_epoch": per_epoch,
        "cycles_total": total,
        "modeled_seconds": total / clock_hz,
        "inner_steps_per_second": clock_hz / step,
        "compute_ceiling_inner_steps_per_second": clock_hz / cost.compute,
        "macs_per_inner_step": macs_per_step(d),
        "mac_slots_per_inner_step": MULTIPLIERS_PER_LANE * config.lanes * step,
        "mac_utilization": mac_utilization(config, d, memory, order),
        "memory_bits": memory_bits(config),
        "read_bytes_per_beat": read_bytes_per_beat(config),
        "read_bytes_per_cycle": bandwidth,
        "read_gbytes_per_second": {k: v * clock_hz / 1e9 for k, v in bandwidth.items()},
        "offchip_bytes_per_inner_step": offchip,
        "offchip_bytes_per_cycle": offchip / step,
        "offchip_gbytes_per_second": offchip / step * clock_hz / 1e9,
    }
