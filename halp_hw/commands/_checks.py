"""The checks at the edge of every command, run before any work.

Each raises :class:`~halp_hw.golden.validation.HalpInputError` with one line naming the option,
file or limit; the command line turns it into exit status 2. The value checks themselves live in
:mod:`halp_hw.golden.validation`; this module applies them to what a command was handed: output
directories, data files, the memory a run needs, the external tools a backend runs, the
accelerator's widths, and a ``synth.json``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from halp_hw.golden.validation import HalpInputError, check_data_values, check_positive

__all__ = ["OUTPUT_OPTIONS", "check_output_dir", "check_outputs", "available_memory",
           "check_memory", "load_data_file", "check_backend", "check_hardware_size",
           "check_hardware_run", "synth_clock"]

#: The argparse destinations that name output directories, and their options.
OUTPUT_OPTIONS = {"out": "--out", "build_dir": "--build-dir"}
#: float64 copies of the data (the problem, a solver's working copies, the least-squares solve)
#: and of a d x d matrix (Hessian, its eigendecomposition) that a run holds at once, at most.
_DATA_COPIES, _MATRIX_COPIES = 4, 3


def check_output_dir(path, option: str = "--out") -> Path:
    """Raise unless ``path`` is a directory that exists or can be created, and is writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise HalpInputError(f"{option} {path} is a file, not a directory")
    existing = path.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise HalpInputError(f"{option} {path} cannot be created: {existing} is a file")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        what = ("is not writable" if existing == path.absolute()
                else f"cannot be created in {existing}")
        raise HalpInputError(f"{option} {path} {what}: {error.strerror}") from None
    return path


def check_outputs(args) -> None:
    """:func:`check_output_dir` for every output directory option a command was given."""
    for destination, option in OUTPUT_OPTIONS.items():
        value = getattr(args, destination, None)
        if value is not None:
            check_output_dir(value, option)


def available_memory() -> tuple[int, str]:
    """Bytes of memory a run can use now, and where the figure came from."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"
    except OSError:
        pass
    import os

    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free physical memory"


def _gib(size: float) -> str:
    return f"{size / 2**30:.3g} GiB"


def check_memory(n: int, d: int) -> None:
    """Raise if a run on ``n`` samples and ``d`` features needs more memory than is available."""
    need = 8 * (_DATA_COPIES * n * d + _MATRIX_COPIES * d * d)
    available, source = available_memory()
    if need > available:
        raise HalpInputError(
            f"n = {n} samples and d = {d} features need about {_gib(need)} of memory (float64 "
            f"copies of X and of {d} x {d} Hessian matrices), more than the {_gib(available)} "
            f"available ({source}); use a smaller --n or --d")


def load_data_file(path, problem: str, l2: float = 0.0):
    """The problem in data file ``path``: readable, numeric, finite, worth training on, and of
    magnitudes the float64 host holds; every error names the file."""
    from halp_hw.golden.data import load_dataset

    loaded = load_dataset(path, problem, l2)
    try:
        check_data_values(loaded.X, loaded.y, problem, l2)
    except HalpInputError as error:
        raise HalpInputError(f"data file {path} (problem {problem}): {error}") from None
    check_memory(loaded.n, loaded.d)
    return loaded


def check_backend(backend: str) -> None:
    """Raise if an RTL simulator backend cannot run here (not installed, no g++/make)."""
    if backend not in ("verilator", "icarus"):
        return
    from halp_hw.runtime import simulators

    reason = simulators.simulator_unavailable_reason(backend)
    if reason is not None:
        raise HalpInputError(f"backend {backend} cannot run on this machine: {reason}")


def check_hardware_size(n: int, d: int) -> None:
    """Raise if ``n`` samples of ``d`` features exceed what an accelerator build can hold."""
    from halp_hw.golden.hardware import HardwareConfig

    largest = HardwareConfig(n_max=1 << 24, d_max=4096)  # the limits HardwareConfig accepts
    for option, value, limit in (("--n", n, largest.n_max), ("--d", d, largest.d_max)):
        if value > limit:
            raise HalpInputError(f"{option} {value} is more than the accelerator holds: at most "
                                 f"{limit} (HardwareConfig)")
    check_memory(n, d)


def check_hardware_run(problem, config, run, source: str, *, step_given: bool) -> None:
    """Raise if the data's scale does not fit the accelerator's fixed widths: the step mantissa
    and the bit-centering exponent register of the first epoch."""
    import numpy as np

    from halp_hw.golden.fixedpoint import covering_exponent
    from halp_hw.golden.hardware import quantize_data, step_mantissa
    from halp_hw.hdl.centering import EXPONENT_BITS

    check_positive("step size", run.step_size)
    check_positive("mu", run.mu)
    from halp_hw.golden.glm import glm_step

    _, data_exponent = quantize_data(problem.X, config.data_bits)
    try:
        glm_step(config, run.step_size, problem.l2, data_exponent,
                 lambda size: step_mantissa(size, data_exponent, config.frac_bits))
    except HalpInputError as error:
        if step_given:
            raise
        raise HalpInputError(f"the default step size of {source}: {error}; give --step-size "
                             "or rescale the data") from None
    if run.full_gradient == "accelerator":
        from halp_hw.golden.epoch import make_host

        make_host(problem, config, run)  # the pass's widths, constants and target words fit
    radius = float(np.linalg.norm(problem.full_gradient(np.zeros(problem.d)))) / run.mu
    if radius == 0:
        return
    exponent = covering_exponent(radius, config.bits)
    low, high = -(1 << (EXPONENT_BITS - 1)), (1 << (EXPONENT_BITS - 1)) - 1
    if not low <= exponent <= high:
        raise HalpInputError(
            f"{source}: the first epoch's grid spacing 2**{exponent} (||grad f(0)|| / mu = "
            f"{radius:.3g}) is outside the accelerator's {EXPONENT_BITS}-bit exponent register "
            f"(2**{low} .. 2**{high}); rescale the data or change --mu")


def synth_clock(path, config) -> float:
    """The ``fmax_mhz`` of a ``halp-hw synth`` result, after checking that it is the build being
    run: design ``core``, the same widths and lanes, memories that hold the run's problem
    (``config.n_max``, ``config.d_max``), and a target that places and routes."""
    from halp_hw.models.perf import clock_from_synth, read_synth_json

    data = read_synth_json(path)
    design, target = data.get("design"), data.get("target")
    if design != "core":
        raise HalpInputError(f"synthesis result {path} is of design {design!r}, not 'core': its "
                             "Fmax is not the accelerator's clock")
    built = data.get("config") or {}
    if (built.get("bits"), built.get("lanes")) != (config.bits, config.lanes):
        raise HalpInputError(f"synthesis result {path} is of a {built.get('bits')}-bit, "
                             f"{built.get('lanes')}-lane core; this run is {config.bits}-bit, "
                             f"{config.lanes} lanes")
    differing = [f"{key} {built.get(key)} (this run {getattr(config, key)})"
                 for key in ("data_bits", "frac_bits") if built.get(key) != getattr(config, key)]
    differing += [f"{key} {built.get(key)} (this run needs {getattr(config, key)})"
                  for key in ("n_max", "d_max")
                  if not isinstance(built.get(key), int) or built[key] < getattr(config, key)]
    if differing:
        raise HalpInputError(f"synthesis result {path} is of another build: "
                             f"{', '.join(differing)}")
    if data.get("fmax_mhz") is None:
        raise HalpInputError(f"synthesis result {path} (target {target}) has no routed Fmax: "
                             "synthesize for a target that places and routes (ecp5, ice40)")
    return clock_from_synth(path)
