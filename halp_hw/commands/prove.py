"""``halp-hw prove``: formal proofs of the accelerator's blocks with SymbiYosys."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.validation import HalpInputError, check_int

DEFAULTS = HardwareConfig()


def register(subparsers) -> None:
    from halp_hw.formal.properties import property_names

    parser = subparsers.add_parser(
        "prove", help="prove the blocks' properties formally (SymbiYosys, Yices)",
        description="Prove the arithmetic blocks, the PRNG streams, the widths, the row "
                    "fetcher's memory port and the command FSM of one build against the "
                    "numeric contract, with SymbiYosys (yowasp-sby) "
                    "and the Yices 2 solver. Writes DIR/prove.json (property, engine, depth, "
                    "status, seconds) and a counterexample VCD per failed property; exit 1 "
                    "unless every property passes.")
    for name, help_text in (("bits", "width of z, 2..16"), ("data-bits", "width of x, 2..16"),
                            ("frac-bits", "fraction bits of the update, 1..24"),
                            ("lanes", "MACC lanes L, 1..64"),
                            ("d-max", "largest number of features, 1..4096"),
                            ("n-max", "largest number of samples, 1..2**24"),
                            ("row-slots", "rows the on-chip row buffer holds, 3..64")):
        key = name.replace("-", "_")
        parser.add_argument(f"--{name}", type=int, default=getattr(DEFAULTS, key),
                            help=f"{help_text} (default {getattr(DEFAULTS, key)})")
    parser.add_argument("--property", action="append", choices=property_names(),
                        metavar="NAME", help="prove only this property (repeatable): "
                        + ", ".join(property_names()))
    parser.add_argument("--control-max-d", type=int, metavar="D",
                        help="largest d the bounded control proof tries (default "
                             "min(d_max, 2 L + 1): one to three beats per step; the bound, and "
                             "the solver time, grow with it)")
    parser.add_argument("--timeout", type=int, default=None, metavar="S",
                        help="time limit per property in seconds (status unknown past it)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.set_defaults(handler=handle)


def default_control_max_d(config: HardwareConfig) -> int:
    """Passes of one, two and three beats (full and partial): the FSM's cases, cheaply."""
    return min(config.d_max, 2 * config.lanes + 1)


def handle(args) -> int:
    from halp_hw.formal.properties import properties_for
    from halp_hw.formal.sby import FormalToolMissing, run_proof, tool_path, TOOLS

    config = HardwareConfig(bits=args.bits, data_bits=args.data_bits, frac_bits=args.frac_bits,
                            lanes=args.lanes, d_max=args.d_max, n_max=args.n_max,
                            row_slots=args.row_slots)
    max_d = default_control_max_d(config) if args.control_max_d is None else \
        check_int("--control-max-d", args.control_max_d, 1, config.d_max)
    if args.timeout is not None:
        check_int("--timeout", args.timeout, 1)
    try:
        for tool in TOOLS:
            tool_path(tool)
    except FormalToolMissing as error:
        raise HalpInputError(str(error)) from None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    build = {"bits": config.bits, "data_bits": config.data_bits, "frac_bits": config.frac_bits,
             "lanes": config.lanes, "d_max": config.d_max, "n_max": config.n_max,
             "row_slots": config.row_slots,
             "control_max_d": max_d}
    results = []
    print(f"{'property':<14} {'engine':<36} {'depth':>5} {'status':<8} {'seconds':>8}")
    for prop in properties_for(args.property):
        result = run_proof(prop.harness(config, max_d), name=prop.name, mode=prop.mode,
                           depth=prop.depth(config, max_d), out_dir=out / "work",
                           timeout=args.timeout, script=prop.script,
                           echo=lambda line: print(f"  {line}"))
        results.append(result)
        print(f"{result.property:<14} {result.engine:<36} {result.depth:>5} "
              f"{result.status:<8} {result.seconds:>8.1f}", flush=True)
    passed = all(result.status == "pass" for result in results)
    report = {"build": build, "passed": passed,
              "seconds": round(sum(result.seconds for result in results), 2),
              "properties": [result.to_dict() for result in results]}
    (out / "prove.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'all pass' if passed else 'NOT all pass'}: {len(results)} properties, "
          f"{report['seconds']:.1f} s; {out / 'prove.json'}", file=sys.stdout)
    return 0 if passed else 1
