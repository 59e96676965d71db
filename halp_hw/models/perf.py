"""The accelerator's cycle-exact performance model, as pure functions of the build.

The unit is :meth:`halp_hw.golden.hardware.HardwareConfig.step_cycles`: one inner step is one pass of
``ceil(d/L)`` beats plus the pipeline latency (``docs/datapath.md``). Everything else here
(cycles per epoch and run, memory sizes, on-chip bandwidth, multiplier utilization, modeled
wall time) follows from it, the memory widths ``HardwareConfig`` defines, and a clock.
"""

from __future__ import annotations

import json
from pathlib import Path

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.validation import HalpInputError, check_int, check_positive

__all__ = [
    "DEFAULT_CLOCK_MHZ", "MULTIPLIERS_PER_LANE", "epoch_cycles", "run_cycles", "memory_bits",
    "read_bytes_per_beat", "read_bandwidth", "macs_per_step", "mac_utilization",
    "read_synth_json", "clock_from_synth", "performance_report",
]

#: Clock used when no synthesis result or ``--clock-mhz`` is given: a conservative ECP5 figure
#: (a registered 8x8 MACC alone routes at ~147 MHz there, see ``TOOLCHAIN.md``).
DEFAULT_CLOCK_MHZ = 100.0

#: Multipliers in one lane: stage A computes ``x_cur * c`` (the update), stage C
#: ``x_next * z_new`` (the fused dot product of the next sample).
MULTIPLIERS_PER_LANE = 2


def epoch_cycles(config: HardwareConfig, d: int, epoch_length: int) -> int:
    """Cycles of one run command of ``epoch_length`` inner steps (what ``cycles`` counts)."""
    check_int("epoch length", epoch_length, 1)
    return epoch_length * config.step_cycles(d)


def run_cycles(config: HardwareConfig, d: int, epoch_length: int, epochs: int) -> int:
    """Accelerator cycles of a whole HALP run: ``epochs`` run commands."""
    check_int("epochs", epochs, 1)
    return epochs * epoch_cycles(config, d, epoch_length)


def memory_bits(config: HardwareConfig) -> dict[str, int]:
    """Bits of the on-chip memories X (data), z (offset) and G (gradient term)."""
    words = config.words_per_row
    return {
        "x": config.n_max * words * config.lanes * config.data_bits,
        "z": words * config.lanes * config.bits,
        "g": words * config.lanes * config.grad_width,
    }


def read_bytes_per_beat(config: HardwareConfig) -> dict[str, float]:
    """Bytes read from each memory by one beat: two X words (rows ``i_t`` and ``i_t+1``),
    one z word and one G word."""
    return {
        "x": 2 * config.lanes * config.data_bits / 8,
        "z": config.lanes * config.bits / 8,
        "g": config.lanes * config.grad_width / 8,
    }


def read_bandwidth(config: HardwareConfig, d: int) -> dict[str, float]:
    """Average bytes per cycle read from each memory over an inner step (beats / step cycles
    of the per-beat figure; the pipeline-fill cycles issue no reads)."""
    busy = config.beats(d) / config.step_cycles(d)
    return {name: per_beat * busy for name, per_beat in read_bytes_per_beat(config).items()}


def macs_per_step(d: int) -> int:
    """Useful multiply-accumulates of one inner step: ``d`` for the update, ``d`` for the dot."""
    return 2 * check_int("d (features)", d, 1)


def mac_utilization(config: HardwareConfig, d: int) -> float:
    """Useful MACs over multiplier slots (``MULTIPLIERS_PER_LANE * lanes * step_cycles``)."""
    slots = MULTIPLIERS_PER_LANE * config.lanes * config.step_cycles(d)
    return macs_per_step(d) / slots


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
                       clock_mhz: float) -> dict:
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
    """
    clock_hz = check_positive("clock (MHz)", clock_mhz) * 1e6
    step = config.step_cycles(d)
    total = run_cycles(config, d, epoch_length, epochs)
    bandwidth = read_bandwidth(config, d)
    return {
        "clock_mhz": clock_mhz,
        "beats_per_inner_step": config.beats(d),
        "pipeline_latency": config.pipeline_latency,
        "cycles_per_inner_step": step,
        "cycles_per_epoch": epoch_cycles(config, d, epoch_length),
        "cycles_total": total,
        "modeled_seconds": total / clock_hz,
        "inner_steps_per_second": clock_hz / step,
        "macs_per_inner_step": macs_per_step(d),
        "mac_slots_per_inner_step": MULTIPLIERS_PER_LANE * config.lanes * step,
        "mac_utilization": mac_utilization(config, d),
        "memory_bits": memory_bits(config),
        "read_bytes_per_beat": read_bytes_per_beat(config),
        "read_bytes_per_cycle": bandwidth,
        "read_gbytes_per_second": {k: v * clock_hz / 1e9 for k, v in bandwidth.items()},
    }
