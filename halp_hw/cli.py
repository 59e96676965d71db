"""The ``halp-hw`` command line: subcommands are the modules of :mod:`halp_hw.commands`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import tempfile
import traceback
from pathlib import Path

from halp_hw.golden.validation import HalpInputError

from halp_hw import __version__, commands
from halp_hw.commands._checks import check_outputs
from halp_hw.commands._partial import FAILED_STATUS, INTERRUPTED_STATUS, RunStopped


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
    """Run one subcommand.

    A bad input is one line on stderr and exit status 2, before any work (the output
    directories are checked here for every command). A run that stops early is one line and
    exit status 130 (Ctrl-C) or 1, its finished part written by the command (see
    :mod:`halp_hw.commands._partial`).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_outputs(args)
        return int(args.handler(args) or 0)
    except HalpInputError as error:
        print(f"halp-hw {args.command}: error: {error}", file=sys.stderr)
        return 2
    except RunStopped as stop:
        print(f"halp-hw {args.command}: {stop}", file=sys.stderr)
        return stop.status
    except KeyboardInterrupt:
        print(f"halp-hw {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED_STATUS
    except Exception as error:  # a failure outside a command's own partial-results handling
        log = Path(tempfile.gettempdir()) / f"halp-hw-{args.command}-traceback.txt"
        log.write_text(traceback.format_exc())
        message = " ".join(f"{type(error).__name__}: {error}".split())
        print(f"halp-hw {args.command}: error: {message} (traceback in {log})", file=sys.stderr)
        return FAILED_STATUS


if __name__ == "__main__":
    sys.exit(main())
