"""``halp-hw verilog``: the core's synthesizable Verilog plus a JSON of parameters and ports."""

from __future__ import annotations

import sys

from halp_hw.golden.glm import LOSSES
from halp_hw.golden.hardware import HardwareConfig

from ._run_options import add_memory_options, memory_from_args

DEFAULTS = HardwareConfig()


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "verilog", help="generate the accelerator's Verilog",
        description="Write DIR/halp_core.v, DIR/halp_core.json (parameters and ports) and, with "
                    "--block, DIR/<block>.v for individual blocks.")
    parser.add_argument("--bits", type=int, default=DEFAULTS.bits,
                        help="width of z, 2..16 (default %(default)s)")
    parser.add_argument("--data-bits", type=int, default=DEFAULTS.data_bits,
                        help="width of the data x, 2..16 (default %(default)s)")
    parser.add_argument("--frac-bits", type=int, default=DEFAULTS.frac_bits,
                        help="fraction bits of the update = random bits per lane, 1..24 "
                             "(default %(default)s)")
    parser.add_argument("--lanes", type=int, default=DEFAULTS.lanes,
                        help="MACC lanes L, 1..64 (default %(default)s)")
    parser.add_argument("--d-max", type=int, default=DEFAULTS.d_max,
                        help="largest number of features, 1..4096 (default %(default)s)")
    parser.add_argument("--n-max", type=int, default=DEFAULTS.n_max,
                        help="largest number of samples, 1..16777216; sizes only the off-chip "
                             "addresses (default %(default)s)")
    parser.add_argument("--problem", choices=LOSSES, default=DEFAULTS.problem,
                        help="the loss the core is built for (default %(default)s)")
    parser.add_argument("--full-gradient", choices=("host", "accelerator"), default="host",
                        help="accelerator: the core with the epoch on chip (its pass, finish "
                             "and center; least squares or logistic regression); default "
                             "%(default)s")
    add_memory_options(parser)
    parser.add_argument("--block", action="append", default=[], metavar="NAME",
                        help="also write this block on its own (repeatable); one of: "
                             "%(choices)s", choices=_block_names())
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--lint", action="store_true",
                        help="lint every written module with Verilator (documented waivers); "
                             "exit 1 if it reports anything")
    parser.set_defaults(handler=handle)


def _block_names() -> list[str]:
    from halp_hw.flow.verilog import BLOCKS, CORE_MODULE  # no HDL import: the table is plain data

    return [name for name in BLOCKS if name != CORE_MODULE]


def handle(args) -> int:
    from halp_hw.flow.toolchain import simulator_unavailable_reason
    from halp_hw.flow.verilog import write_verilog
    from halp_hw.golden.validation import HalpInputError

    config = HardwareConfig(bits=args.bits, data_bits=args.data_bits, frac_bits=args.frac_bits,
                            lanes=args.lanes, d_max=args.d_max, n_max=args.n_max,
                            problem=args.problem)
    if args.lint and (reason := simulator_unavailable_reason("verilator")) is not None:
        raise HalpInputError(f"--lint cannot run on this machine: {reason}")
    written = write_verilog(config, args.out, blocks=args.block, progress=True,
                            memory=memory_from_args(args),
                            full_gradient=args.full_gradient == "accelerator")
    for path in written:
        print(path)
    if not args.lint:
        return 0
    from halp_hw.flow.verilog import lint_verilog

    status = 0
    for path in (path for path in written if path.suffix == ".v"):
        result = lint_verilog(path)
        print(f"lint {path.name}: {'clean' if result.returncode == 0 else 'FAILED'}")
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
            status = 1
    return status
