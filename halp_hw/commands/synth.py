"""``halp-hw synth`` (one configuration) and ``halp-hw sweep-synth`` (bits x lanes): the FPGA flow."""

from __future__ import annotations

import argparse
import json
import sys

from halp_hw.flow.synth import DESIGNS, TARGETS

from ._run_options import add_memory_options, memory_from_args


def _int_list(text: str) -> list[int]:
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, not {text!r}")
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def _add_common(parser: argparse.ArgumentParser) -> None:
    from_target = "default: the target's (see docs/fpga.md)"
    parser.add_argument("--design", default="core", choices=list(DESIGNS),
                        help="what to build: " + "; ".join(f"{name} = {what}"
                                                           for name, what in DESIGNS.items()))
    parser.add_argument("--target", default="ecp5", choices=list(TARGETS),
                        help="FPGA family; generic = technology-independent synthesis only "
                             "(default: ecp5)")
    parser.add_argument("--data-bits", type=int, default=None,
                        help="width of the data x (default: --bits)")
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
    parser.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    add_memory_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers) -> None:
    synth = subparsers.add_parser(
        "synth", help="synthesize, place and route one configuration; write DIR/synth.json",
        description="Yosys (+ nextpnr for ecp5/ice40) on the generated Verilog: LUTs, FFs, "
                    "DSPs, block RAMs, routed Fmax and critical path in DIR/synth.json, raw "
                    "logs beside it.")
    synth.add_argument("--bits", type=int, default=8, help="width of z (default 8)")
    synth.add_argument("--lanes", type=int, default=8, help="MACC lanes (default 8)")
    synth.add_argument("--out", default="synth-out", help="output directory (default synth-out)")
    _add_common(synth)
    synth.set_defaults(handler=_synth)

    sweep = subparsers.add_parser(
        "sweep-synth", help="synth over bits x lanes: CSV, Markdown table and plots",
        description="Run the FPGA flow for every bits x lanes configuration; write "
                    "DIR/sweep.csv, sweep.md, sweep.json, sweep.png and one directory per "
                    "configuration.")
    sweep.add_argument("--bits", type=_int_list, default=[4, 8, 16],
                       help="comma-separated widths (default 4,8,16)")
    sweep.add_argument("--lanes", type=_int_list, default=[1, 4, 8, 16],
                       help="comma-separated lane counts (default 1,4,8,16)")
    sweep.add_argument("--out", default="sweep-out", help="output directory (default sweep-out)")
    _add_common(sweep)
    sweep.set_defaults(handler=_sweep)


def _config_options(args) -> dict:
    return {"data_bits": args.data_bits, "frac_bits": args.frac_bits, "n_max": args.n_max,
            "d_max": args.d_max}


def _run_options(args) -> dict:
    return {"device": args.device, "package": args.package, "clock_mhz": args.clock_mhz,
            "seed": args.seed, "memory": memory_from_args(args)}


def _synth(args) -> int:
    from halp_hw.flow.synth import ToolError, make_config, run_synthesis

    config = make_config(target=args.target, bits=args.bits, lanes=args.lanes,
                         **_config_options(args))
    try:
        result = run_synthesis(design=args.design, target=args.target, config=config,
                               out_dir=args.out, progress=not args.quiet, **_run_options(args))
    except ToolError as error:
        print(f"halp-hw synth: {error}", file=sys.stderr)
        return 1
    summary = {key: result[key] for key in ("design", "target", "device", "luts", "ffs", "dsps",
                                            "brams", "fmax_mhz", "step_cycles_at_d_max",
                                            "step_bound_at_d_max")}
    print(json.dumps(summary))
    if result["critical_path"]:
        path = result["critical_path"]
        print(f"critical path {path['delay_ns']} ns ({path['logic_ns']} logic, "
              f"{path['routing_ns']} routing): {path['from']} -> {path['to']}")
    print(f"wrote {args.out}/synth.json")
    return 0


def _sweep(args) -> int:
    from halp_hw.flow.synth import markdown_table, run_sweep

    rows = run_sweep(bits_list=args.bits, lanes_list=args.lanes, target=args.target,
                     design=args.design, out_dir=args.out, progress=not args.quiet,
                     **_config_options(args), **_run_options(args))
    print(markdown_table(rows), end="")
    print(f"wrote {args.out}/sweep.csv, sweep.md, sweep.json, sweep.png")
    failed = [row for row in rows if row["error"]]
    for row in failed:
        print(f"halp-hw sweep-synth: {row['bits']} bits, {row['lanes']} lanes failed: "
              f"{row['error']}", file=sys.stderr)
    return 1 if failed else 0
