"""The ``halp-hw`` command line: subcommands are the modules of :mod:`halp_hw.commands`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from halp_hw.golden.validation import HalpInputError

from halp_hw import __version__, commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="halp-hw",
        description="HALP low-precision training: golden model, accelerator RTL, verification, "
                    "FPGA flow.",
    )
    parser.add_argument("--version", action="version", version=f"halp-hw {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if module.name.startswith("_"):  # shared helpers, not subcommands
            continue
        importlib.import_module(f"{commands.__name__}.{module.name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a bad input is one line on stderr and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except HalpInputError as error:
        print(f"halp-hw {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
