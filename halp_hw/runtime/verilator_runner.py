"""cocotb's Verilator runner, as every Verilator build here uses it: with the simulation main
that toggles the clock (:mod:`~halp_hw.runtime.verilator_main`) for a clocked design, and with
the shared precompiled runtime headers (:mod:`~halp_hw.runtime.shared_header`)."""

from __future__ import annotations

from .shared_header import SharedHeader
from .verilator_main import CLOCKED_MAIN

__all__ = ["verilator_runner"]


def verilator_runner(*, clocked: bool, header: SharedHeader | None):
    """cocotb's Verilator runner, building with :data:`CLOCKED_MAIN` instead of cocotb's main
    when ``clocked``, and compiling the model with ``header`` (made first, if no build has
    made it yet) unless it is None."""
    import cocotb_tools.config
    from cocotb_tools.runner import Verilator

    cocotb_main = str(cocotb_tools.config.share_dir / "lib" / "verilator" / "verilator.cpp")

    class HalpVerilator(Verilator):
        def _build_command(self):
            verilate, make = super()._build_command()
            if clocked:
                if verilate.count(cocotb_main) != 1:
                    raise RuntimeError(f"cocotb's Verilator build no longer names {cocotb_main} "
                                       "once: cannot put the clocked main in its place")
                verilate = [str(CLOCKED_MAIN) if part == cocotb_main else part
                            for part in verilate]
            return [verilate, make if header is None else [*make, header.make_variable]]

        def _execute_cmds(self, cmds, cwd, stdout=None):
            if header is None:
                return super()._execute_cmds(cmds, cwd, stdout)
            verilate, make = cmds  # the makefile that compiles the header comes from verilate
            runner_make = make[:-1]  # without the header's variable, which _build_command added
            run = super()._execute_cmds
            run([verilate], cwd, stdout)
            header.ensure(lambda arguments: run([[*runner_make, *arguments]], cwd, stdout))
            return run([make], cwd, stdout)

    return HalpVerilator()
