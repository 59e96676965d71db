"""The targets of the FPGA flow (FPGA families and the technology-independent one), the designs it
builds, and the accelerator configuration a run builds for a target."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.validation import HalpInputError

__all__ = ["Device", "Target", "TARGETS", "DESIGNS", "make_config", "build_design", "get_target",
           "device_and_package"]


class Device(NamedTuple):
    """A device of a target family: its default package and how many hard multipliers it has."""

    package: str
    dsps: int


@dataclass(frozen=True)
class Target:
    """One FPGA family (or none): how to synthesize for it, place and route, and count cells.

    Parameters
    ----------
    name : str
        The ``--target`` name.
    synth_commands : str
        The Yosys synthesis command for the module ``top`` (``{json}`` = netlist path). For an
        FPGA family it runs in two halves around the hard-multiplier mapping (see
        :func:`plan_multipliers`), so it must accept ``-run``.
    dsp_width : int or None
        Operand width of the family's hard multiplier (None: no DSPs).
    resources : dict
        Resource name -> ((cell type glob, weight), ...): how Yosys cells add up to LUTs, FFs,
        DSPs and block RAMs on this family.
    nextpnr : str or None
        The nextpnr architecture (``ecp5``, ``ice40``); None = no place and route.
    devices : dict
        Device name -> :class:`Device`, for ``--device``; the first is the default.
    nextpnr_args : tuple of str
        Family-specific nextpnr options (speed grade, unconstrained pins allowed).
    clock_mhz : float or None
        The default clock constraint given to nextpnr (its timing-driven placement aims at it).
    n_max, d_max : int
        Default memory sizes: chosen so the sweep's largest configuration fits the default
        device's block RAM.
    frac_bits : int or None
        Default fraction bits (None: HardwareConfig's): fewer on a small part, where the step
        coefficient's width (``bits + frac_bits + 3``) decides whether the core fits.
    """

    name: str
    synth_commands: str
    resources: dict
    dsp_width: int | None = None
    nextpnr: str | None = None
    devices: dict = field(default_factory=dict)
    nextpnr_args: tuple = ()
    clock_mhz: float | None = None
    n_max: int = 256
    d_max: int = 128
    frac_bits: int | None = None

    @property
    def default_device(self) -> str | None:
        return next(iter(self.devices), None)


TARGETS: dict[str, Target] = {
    "ecp5": Target(
        name="ecp5",
        synth_commands="synth_ecp5 -top top -json {json}",
        dsp_width=18,
        resources={
            "luts": (("LUT4", 1), ("CCU2C", 2)),  # a CCU2C carry cell is two LUT4s
            "ffs": (("TRELLIS_FF", 1),),
            "dsps": (("MULT18X18D", 1), ("ALU54B", 1)),
            "brams": (("DP16KD", 1),),
            "lutram": (("TRELLIS_DPR16X4", 1),),
        },
        nextpnr="ecp5",
        devices={"25k": Device("CABGA381", 28), "12k": Device("CABGA381", 28),
                 "45k": Device("CABGA381", 72), "85k": Device("CABGA381", 156)},
        nextpnr_args=("--speed", "6", "--lpf-allow-unconstrained",
                      "--placer-heap-timingweight", "40"),
        clock_mhz=100.0,
        n_max=128,
        d_max=128,
    ),
    "ice40": Target(
        name="ice40",
        synth_commands="synth_ice40 -dsp -top top -json {json}",
        dsp_width=16,
        resources={
            "luts": (("SB_LUT4", 1),),
            "ffs": (("SB_DFF*", 1),),
            "dsps": (("SB_MAC16", 1),),
            "brams": (("SB_RAM40_4K", 1), ("SB_SPRAM256KA", 1)),
        },
        nextpnr="ice40",
        devices={"up5k": Device("sg48", 8), "hx8k": Device("ct256", 0),
                 "lp8k": Device("cm81", 0), "hx1k": Device("tq144", 0)},
        nextpnr_args=("--pcf-allow-unconstrained",),
        clock_mhz=50.0,
        n_max=32,
        d_max=32,
        # UP5K: 5280 LCs, 8 SB_MAC16. At 8 bits and 4 lanes the core does not fit with F = 16
        # (~5400 LCs) and fills 90% with F = 8; with F = 4 the step coefficient is 15 bits, so
        # each lane's x * c takes one 16 x 16 DSP, and the core uses ~70% (measured).
        frac_bits=4,
    ),
    "generic": Target(
        name="generic",
        # Technology independent: 4-input LUTs and flip-flops; memories stay memories (no
        # memory_map), multipliers become LUTs (no DSP cells exist).
        synth_commands=("synth -top top -lut 4 -run begin:fine; opt -fast -full; opt -full; "
                        "techmap; opt -fast; abc -lut 4; opt -fast; write_json {json}"),
        resources={
            "luts": (("$lut", 1),),
            "ffs": (("$_*DFF*", 1),),
            "dsps": (("$mul", 1),),
            "brams": (("$mem*", 1),),
        },
    ),
}

#: The designs the flow can build (name -> what it is); see build_design.
DESIGNS: dict[str, str] = {
    "core": "the HALP accelerator core (HALPCore)",
    "lane": "one MACC lane alone (MaccLane, lane 0)",
    "macc": ("the reference registered MACC, bits x bits -> 3*bits "
             "(halp_hw.flow.fpga_top.ReferenceMacc)"),
    "sigmoid": "the fixed-point sigmoid unit alone (SigmoidUnit)",
}


def make_config(*, target: str, bits: int = 8, lanes: int = 8, data_bits: int | None = None,
                frac_bits: int | None = None, n_max: int | None = None,
                d_max: int | None = None, problem: str = "linreg",
                center_bits: int | None = None,
                gradient_data_bits: int | None = None) -> HardwareConfig:
    """The HardwareConfig a synthesis run builds: the target's memory sizes (and fraction bits)
    unless given; ``center_bits`` and ``gradient_data_bits`` (the epoch on chip) the
    HardwareConfig defaults unless given.

    ``data_bits`` defaults to ``bits``, so that a "B-bit" accelerator has B-bit data and offset.
    """
    chosen = get_target(target)
    settings = {
        "bits": bits, "lanes": lanes, "data_bits": bits if data_bits is None else data_bits,
        "problem": problem,
        "n_max": chosen.n_max if n_max is None else n_max,
        "d_max": chosen.d_max if d_max is None else d_max,
    }
    frac_bits = chosen.frac_bits if frac_bits is None else frac_bits
    if frac_bits is not None:
        settings["frac_bits"] = frac_bits
    for name, value in (("center_bits", center_bits), ("gradient_data_bits", gradient_data_bits)):
        if value is not None:
            settings[name] = value
    return HardwareConfig(**settings)


def build_design(design: str, config: HardwareConfig, full_gradient: bool = False):
    """The Amaranth component named ``design`` (see :data:`DESIGNS`) for ``config``; with
    ``full_gradient`` the core with the epoch on chip (the core only)."""
    if full_gradient and design != "core":
        raise HalpInputError(f"--full-gradient accelerator builds the core, not the {design}")
    if design == "core":
        from halp_hw.hdl.core import HALPCore
        return HALPCore(config=config, full_gradient=full_gradient)
    if design == "lane":
        from halp_hw.hdl.lane import MaccLane
        return MaccLane(config=config, lane=0)
    if design == "macc":
        from .fpga_top import ReferenceMacc
        return ReferenceMacc(width=config.data_bits)
    if design == "sigmoid":
        from halp_hw.hdl.sigmoid import SigmoidUnit
        return SigmoidUnit(config=config)
    raise HalpInputError(f"design must be one of {', '.join(DESIGNS)}, not {design!r}")


def get_target(name: str) -> Target:
    """The target called ``name`` (an input error naming the choices otherwise)."""
    if name not in TARGETS:
        raise HalpInputError(f"target must be one of {', '.join(TARGETS)}, not {name!r}")
    return TARGETS[name]


def device_and_package(target: Target, device: str | None, package: str | None):
    """The nextpnr device and package for ``target`` (its defaults unless given); (None, None)
    for a target without place and route, where giving either is an input error."""
    if target.nextpnr is None:
        if device is not None or package is not None:
            raise HalpInputError(f"--device/--package do not apply to the {target.name} target "
                                 "(no place and route)")
        return None, None
    device = target.default_device if device is None else device
    if device not in target.devices:
        raise HalpInputError(f"device for {target.name} must be one of "
                             f"{', '.join(target.devices)}, not {device!r}")
    return device, target.devices[device].package if package is None else package
