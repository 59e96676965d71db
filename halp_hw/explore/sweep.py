"""An explore sweep: its settings, their validation, its tasks, and the whole run."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.validation import HalpInputError, check_int, check_positive

from .cache import DesignDigests, TaskCache, dependency_versions, task_key
from .tasks import Task

__all__ = ["ExploreSettings", "hyperparameters", "validate", "make_tasks", "run_explore"]


@dataclass(frozen=True)
class ExploreSettings:
    """What an explore sweep covers.

    Parameters
    ----------
    bits, lanes : tuple of int
        The widths of ``z`` (2..16, HardwareConfig's limit) and the lane counts (1..64).
    target : str
        The synthesis target (``ecp5``, ``ice40``, ``generic``).
    accuracy : float
        The relative suboptimality to reach, in (0, 1).
    pnr_seeds : int
        Placement seeds per configuration (nextpnr ``--seed`` 1..pnr_seeds).
    epochs : int
        Epochs of each convergence run.
    data_bits : int or None
        Width of the data, shared by every configuration; None = each configuration's ``bits``
        (a "B-bit" accelerator, as ``halp-hw synth``).
    frac_bits : int or None
        Fraction bits, shared by every configuration (None: the target's default).
    epoch_length, step_size, mu : optional
        HALP's T, alpha and mu (defaults as ``halp-hw golden``, per problem).
    design : str
        What is synthesized; only the core has a convergence (other designs: ``cost_only``).
    n_max, d_max, device, package, clock_mhz : optional
        The synthesized build's memory sizes and the place-and-route settings (the target's
        defaults unless given).
    cost_only : bool
        Synthesis only, no convergence runs.
    memory : MemoryTiming
        The off-chip memory the core streams its rows from: it sets the cycles of every step
        (stalls included) of the convergence runs and the step cycles the synthesis reports.
    """

    bits: tuple
    lanes: tuple
    target: str = "ecp5"
    accuracy: float = 1e-10
    pnr_seeds: int = 1
    epochs: int = 40
    data_bits: int | None = 8
    frac_bits: int | None = None
    epoch_length: int | None = None
    step_size: float | None = None
    mu: float | None = None
    design: str = "core"
    n_max: int | None = None
    d_max: int | None = None
    device: str | None = None
    package: str | None = None
    clock_mhz: float | None = None
    cost_only: bool = False
    memory: MemoryTiming = MemoryTiming()


def _data_bits(settings: ExploreSettings, bits: int) -> int:
    return bits if settings.data_bits is None else settings.data_bits


def _resolved_build(settings: ExploreSettings) -> dict:
    """The synthesis parameters shared by every configuration, the target's defaults filled in
    (``data_bits`` is per configuration: see :func:`_data_bits`)."""
    from halp_hw.flow.targets import device_and_package, get_target, make_config

    target = get_target(settings.target)
    device, package = device_and_package(target, settings.device, settings.package)
    clock = target.clock_mhz if settings.clock_mhz is None else settings.clock_mhz
    sample = make_config(target=settings.target, bits=settings.bits[0],
                         lanes=settings.lanes[0], frac_bits=settings.frac_bits,
                         n_max=settings.n_max, d_max=settings.d_max)
    return {"design": settings.design, "target": settings.target, "device": device,
            "package": package, "clock_mhz": clock if target.nextpnr else None,
            "frac_bits": sample.frac_bits, "n_max": sample.n_max, "d_max": sample.d_max,
            "memory": asdict(settings.memory)}


def hyperparameters(settings: ExploreSettings, problem, bits: int) -> dict:
    """Step size, mu, epoch length and epochs of the ``bits``-wide convergence runs on
    ``problem``: the given ones, or ``halp-hw golden``'s defaults for that width (mu grows as
    the bits go down, with the grid's rounding noise)."""
    from halp_hw.golden.defaults import default_epoch_length, default_mu, default_step_size

    step_size = default_step_size(problem) if settings.step_size is None else settings.step_size
    return {"step_size": step_size,
            "mu": default_mu(problem, bits) if settings.mu is None else settings.mu,
            "epoch_length": (default_epoch_length(problem, step_size)
                             if settings.epoch_length is None else settings.epoch_length),
            "epochs": settings.epochs}


def _problem_digest(problem) -> str:
    digest = hashlib.sha256(problem.X.tobytes())
    digest.update(problem.y.tobytes())
    digest.update(repr(problem.l2).encode())
    return digest.hexdigest()[:20]


def validate(settings: ExploreSettings, problems: dict) -> None:
    """Every input error of the sweep, raised before any task runs."""
    from halp_hw.flow.targets import DESIGNS, make_config
    from halp_hw.golden.hardware import HalpHost, HardwareConfig, HardwareRun

    if not settings.bits or not settings.lanes:
        raise HalpInputError("--bits and --lanes need at least one value each")
    for bits in settings.bits:
        check_int("bits", bits, 2, 16)
    for lanes in settings.lanes:
        check_int("lanes", lanes, 1, 64)
    check_int("pnr seeds", settings.pnr_seeds, 1, 1000)
    if settings.design not in DESIGNS:
        raise HalpInputError(f"design must be one of {', '.join(DESIGNS)}, not "
                             f"{settings.design!r}")
    if settings.clock_mhz is not None:
        check_positive("clock (MHz)", settings.clock_mhz)
    build = _resolved_build(settings)
    for bits in settings.bits:
        for lanes in settings.lanes:
            make_config(target=settings.target, bits=bits, lanes=lanes,
                        data_bits=_data_bits(settings, bits), frac_bits=build["frac_bits"],
                        n_max=build["n_max"], d_max=build["d_max"])
    if settings.cost_only:
        return
    if settings.design != "core":
        raise HalpInputError(f"the {settings.design} design has no convergence: add --cost-only "
                             "or build the core")
    if not 0 < settings.accuracy < 1:
        raise HalpInputError(f"accuracy must be in (0, 1), not {settings.accuracy:g}")
    check_int("epochs", settings.epochs, 1, 100000)
    for problem in problems.values():
        for bits in settings.bits:
            config = HardwareConfig(bits=bits, data_bits=_data_bits(settings, bits),
                                    frac_bits=build["frac_bits"], lanes=settings.lanes[0],
                                    d_max=problem.d, n_max=problem.n)
            HalpHost(problem, config,
                     HardwareRun(seed=0, **hyperparameters(settings, problem, bits)))


def make_tasks(settings: ExploreSettings, problems: dict,
               digests: DesignDigests | None = None) -> list[Task]:
    """The sweep's tasks, each with its cache key: per configuration, one convergence run per
    problem (data seed) and one synthesis per placement seed (keyed by the design's digest,
    remembered in ``digests`` if given)."""
    from halp_hw.flow import synth
    from halp_hw.flow.targets import make_config

    build = _resolved_build(settings)
    versions = {kind: dependency_versions(kind) for kind in ("convergence", "synthesis")}
    tasks = []
    for bits in settings.bits:
        for lanes in settings.lanes:
            name = f"b{bits}-l{lanes}"
            data_bits = _data_bits(settings, bits)
            config = make_config(target=settings.target, bits=bits, lanes=lanes,
                                 data_bits=data_bits, frac_bits=build["frac_bits"],
                                 n_max=build["n_max"], d_max=build["d_max"])
            digest = (synth.design_digest(settings.design, config) if digests is None
                      else digests.digest(settings.design, config))
            for seed in range(1, settings.pnr_seeds + 1):
                tasks.append(Task("synthesis", {**build, "bits": bits, "lanes": lanes,
                                                "data_bits": data_bits, "pnr_seed": seed,
                                                "design_digest": digest},
                                  f"synth-{name}-p{seed}"))
            if settings.cost_only:
                continue
            for problem_name, (seed, problem) in problems.items():
                parameters = {"bits": bits, "lanes": lanes, "data_bits": data_bits,
                              "frac_bits": build["frac_bits"], "seed": seed,
                              "data": _problem_digest(problem),
                              "memory": asdict(settings.memory),
                              **hyperparameters(settings, problem, bits)}
                tasks.append(Task("convergence", parameters, f"conv-{name}-s{seed}",
                                  problem_name=problem_name))
    for task in tasks:
        task.key = task_key(task.kind, task.parameters, versions[task.kind])
    return tasks


def run_explore(settings: ExploreSettings, problems: dict, out_dir, *, source: str = "",
                scheduler: str | None = None, workers: int | None = None,
                progress: bool = True, run: bool = True):
    """Validate, run every task (cache first), and write the tables and plots.

    Parameters
    ----------
    settings : ExploreSettings
    problems : dict
        Name -> (data seed, problem): one convergence run per entry and configuration.
    out_dir : path
        Receives ``explore.csv``, ``explore.json``, ``explore.md``, ``pareto.png``,
        ``heatmap.png``, the task cache ``tasks/`` and the synthesis runs ``synth/``.
    source : str
        Where the data came from, for the report.
    scheduler, workers, progress, run
        See :func:`halp_hw.explore.execution.run_tasks`.

    Returns
    -------
    (list of dict, ExecutionStats)
        One row per configuration (see :data:`halp_hw.explore.rows.COLUMNS`) and what ran.
    """
    from .execution import run_tasks
    from .report import write_report
    from .rows import config_row, mark_pareto_front, speed_column

    validate(settings, {name: problem for name, (_, problem) in problems.items()})
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = make_tasks(settings, problems, DesignDigests(out_dir))
    records, stats = run_tasks(tasks, {name: problem for name, (_, problem) in problems.items()},
                               TaskCache(out_dir), out_dir=str(out_dir), scheduler=scheduler,
                               workers=workers, progress=progress, run=run)
    rows = []
    for bits in settings.bits:
        for lanes in settings.lanes:
            mine = [task for task in tasks
                    if (task.parameters["bits"], task.parameters["lanes"]) == (bits, lanes)
                    and task.key in records]
            rows.append(config_row(
                bits, lanes,
                [records[task.key] for task in mine if task.kind == "convergence"],
                [records[task.key] for task in mine if task.kind == "synthesis"],
                accuracy=settings.accuracy))
    build = _resolved_build(settings)
    mark_pareto_front(rows, speed=speed_column(build["clock_mhz"] is not None))
    write_report(rows, out_dir, settings={**asdict(settings), "source": source, **build},
                 stats=stats)
    return rows, stats
