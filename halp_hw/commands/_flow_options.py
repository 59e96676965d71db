"""The FPGA-flow options shared by ``halp-hw synth`` and ``halp-hw explore``."""

from __future__ import annotations

import argparse

from halp_hw.flow.targets import DESIGNS, TARGETS


def int_list(text: str) -> list[int]:
    """An argparse type: ``4,8,16`` -> [4, 8, 16]."""
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, not {text!r}")
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def add_flow_options(parser: argparse.ArgumentParser, *, data_bits_default) -> None:
    """Design, target, widths, memory sizes, device, package and clock of the FPGA flow."""
    from_target = "default: the target's (see docs/fpga.md)"
    parser.add_argument("--design", default="core", choices=list(DESIGNS),
                        help="what to build: " + "; ".join(f"{name} = {what}"
                                                           for name, what in DESIGNS.items()))
    parser.add_argument("--target", default="ecp5", choices=list(TARGETS),
                        help="FPGA family; generic = technology-independent synthesis only "
                             "(default: ecp5)")
    parser.add_argument("--data-bits", type=int, default=None,
                        help=f"width of the data x (default: {data_bits_default})")
    parser.add_argument("--frac-bits", type=int, default=None,
                        help=f"fraction bits of the update; {from_target}")
    parser.add_argument("--n-max", type=int, default=None, help=f"samples held; {from_target}")
    parser.add_argument("--d-max", type=int, default=None, help=f"features held; {from_target}")
    devices = "; ".join(f"{name}: {', '.join(target.devices)}"
                        for name, target in TARGETS.items() if target.devices)
    parser.add_argument("--device", default=None,
                        help=f"nextpnr device, the first is the default ({devices})")
    parser.add_argument("--package", default=None, help="package (default: the device's)")
    parser.add_argument("--clock-mhz", type=float, default=None,
                        help="clock constraint for nextpnr (default: " + ", ".join(
                            f"{name} {target.clock_mhz:g}" for name, target in TARGETS.items()
                            if target.clock_mhz) + ")")
