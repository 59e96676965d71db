"""One module per ``halp-hw`` subcommand.

Each module defines ``register(subparsers)``, which adds its parser and sets ``handler`` to a
function ``handler(args) -> int``. Heavy imports (Amaranth, cocotb, matplotlib) belong inside the
handler so that ``halp-hw golden`` never loads the HDL stack. Modules whose name starts with
``_`` are helpers shared by several subcommands.
"""
