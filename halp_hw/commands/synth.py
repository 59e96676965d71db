"""``halp-hw synth``: the FPGA flow on one configuration (``halp-hw explore`` sweeps it)."""

from __future__ import annotations

import json
import sys

from halp_hw.golden.glm import LOSSES

from ._flow_options import add_flow_options
from ._run_options import add_memory_options, memory_from_args


def register(subparsers) -> None:
    synth = subparsers.add_parser(
        "synth", help="synthesize, place and route one configuration; write DIR/synth.json",
        description="Yosys (+ nextpnr for ecp5/ice40) on the generated Verilog: LUTs, FFs, "
                    "DSPs, block RAMs, routed Fmax and critical path in DIR/synth.json, raw "
                    "logs beside it.")
    synth.add_argument("--bits", type=int, default=8, help="width of z (default 8)")
    synth.add_argument("--lanes", type=int, default=8, help="MACC lanes (default 8)")
    synth.add_argument("--problem", choices=LOSSES, default="linreg",
                       help="the loss the core is built for (default linreg; logreg adds the "
                            "sigmoid unit, svm the hinge stage)")
    synth.add_argument("--out", default="synth-out", help="output directory (default synth-out)")
    add_flow_options(synth, data_bits_default="--bits")
    synth.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    add_memory_options(synth)
    synth.add_argument("--full-gradient", choices=("host", "accelerator"), default="host",
                       help="accelerator: the core with the epoch on chip (full-gradient pass, "
                            "scale exponent, G, center update); default host (no such logic)")
    synth.add_argument("--center-bits", type=int, default=None, metavar="BITS",
                       help="width of the on-chip center (with --full-gradient accelerator; "
                            "default 32)")
    synth.add_argument("--gradient-data-bits", type=int, default=None, metavar="BITS",
                       help="width of the data copy the full-gradient pass reads (default 0: "
                            "--data-bits)")
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.set_defaults(handler=_synth)


def _config_options(args) -> dict:
    return {"data_bits": args.data_bits, "frac_bits": args.frac_bits, "n_max": args.n_max,
            "d_max": args.d_max, "problem": args.problem, "center_bits": args.center_bits,
            "gradient_data_bits": args.gradient_data_bits}


def _run_options(args) -> dict:
    return {"device": args.device, "package": args.package, "clock_mhz": args.clock_mhz,
            "seed": args.seed, "memory": memory_from_args(args)}


def _synth(args) -> int:
    from halp_hw.flow.synth import run_synthesis
    from halp_hw.flow.targets import make_config
    from halp_hw.flow.tools import ToolError

    from halp_hw.golden.full_gradient import PassWidths
    from halp_hw.golden.validation import HalpInputError

    config = make_config(target=args.target, bits=args.bits, lanes=args.lanes,
                         **_config_options(args))
    full_gradient = args.full_gradient == "accelerator"
    if full_gradient:
        if args.design != "core" or config.problem == "svm":
            raise HalpInputError("--full-gradient accelerator builds the least-squares or the "
                                 "logistic core (--design core --problem linreg|logreg)")
        PassWidths.of(config)  # refuses widths the pass cannot hold
        if config.problem == "logreg":
            from halp_hw.golden.logistic_pass import check_logistic_pass

            check_logistic_pass(config)
    try:
        result = run_synthesis(design=args.design, target=args.target, config=config,
                               out_dir=args.out, progress=not args.quiet,
                               full_gradient=full_gradient, **_run_options(args))
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
