"""A mutation campaign on the core: how much of the netlist the verification regression watches.

One netlist of the core holds every mutation behind a select input
(:mod:`halp_hw.mutation.netlist`); the simulation top puts it next to the memory models in place
of the core (:mod:`halp_hw.mutation.netlist_core`) and is built once; ``sim/tb_mutants.py`` runs
the regression of ``halp-hw verify`` (a training run
compared after every inner step, then the corner phase) once per select value in the same
simulation, the unmutated design (select 0) first. A mutant is

``killed``
    when the regression reports a difference from the golden model (or fails: hangs, errors);
``equivalent``
    when it survives and an unbounded proof shows that no input sequence tells the original and
    the mutated core apart (:mod:`halp_hw.mutation.equivalence`, :mod:`.induction`);
``survived``
    when it survives and is not proven equivalent (the bounded miter then looks for the input
    sequence that shows it: a behaviour the regression does not check).

The score is ``killed / (killed + survived)``.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from halp_hw.golden.hardware import HardwareConfig, HardwareRun, run_halp_hardware
from halp_hw.golden.problems import Problem
from halp_hw.golden.validation import HalpInputError
from halp_hw.runtime.simulators import SimulationError, build_verilog, run_testbench
from halp_hw.runtime.verify import first_difference, regression_params

from . import equivalence, netlist

__all__ = ["NETLIST_LINT_WAIVERS", "STATUSES", "Campaign", "prepare", "run_mutants",
           "classify"]

#: Verilator lint warnings that Yosys's netlist Verilog trips, on top of the project's waivers:
#: ``UNOPTFLAT`` (a vector whose bits feed each other through logic, which Verilator would
#: rather split; a performance note, not a loop) and ``CASEOVERLAP`` (the ``casez`` of Yosys's
#: parallel-case multiplexer, whose cases are exclusive by construction).
NETLIST_LINT_WAIVERS = ("-Wno-UNOPTFLAT", "-Wno-CASEOVERLAP")
#: The outcomes of a mutant.
STATUSES = ("killed", "survived", "equivalent")


@dataclass(frozen=True)
class Campaign:
    """A built mutated netlist and the regression that judges it.

    Attributes
    ----------
    work_dir : pathlib.Path
        The synthesized design, the mutation list and the Yosys logs.
    mutations : list of Mutation
        Select values 1..N.
    built : BuiltDesign
        The one simulator build of the mutated netlist.
    params : dict
        The regression's testbench parameters.
    golden : object
        The golden run the regression's end result is checked against.
    """

    work_dir: Path
    mutations: list
    built: object
    params: dict
    golden: object


def prepare(problem: Problem, problem_seed: int, config: HardwareConfig, run: HardwareRun, *,
            mutations: int | list, seed: int, simulator: str, work_dir: Path | str,
            build_root: Path | str, long_run: bool = True) -> Campaign:
    """Synthesize the core for ``config``, pick the mutations and build the mutated netlist.

    ``mutations`` is a number (``mutate -list`` picks that many with ``seed``) or a list of
    filters (dicts of ``mutate -list`` options such as ``{"wire": "rows.product", "wirebit":
    3, "mode": "const1"}``), each standing for the first mutation that matches it. Without
    ``long_run`` the regression leaves out the long phase (which has a test of its own).
    """
    from halp_hw.flow.verilog import component_verilog
    from halp_hw.golden.memory import MemoryTiming
    from halp_hw.hdl.core import HALPCore
    from halp_hw.hdl.system import system_for_run
    from halp_hw.runtime.verify import order_entries

    from .netlist_core import NetlistCore

    work_dir = Path(work_dir)
    golden = run_halp_hardware(problem, config, run)  # also validates the run's parameters
    core = HALPCore(config=config)
    netlist.synthesize(component_verilog(core, name="top", emit_src=True), work_dir)
    if isinstance(mutations, int):
        chosen = netlist.list_mutations(work_dir, mutations, seed)
        if len(chosen) < mutations:
            raise HalpInputError(f"mutants: the core yields {len(chosen)} of the {mutations} "
                                 f"mutations asked for; ask for fewer")
    else:
        chosen = []
        for select, options in enumerate(mutations, 1):
            matches = netlist.list_mutations(work_dir, 1, seed, select, **options)
            if not matches:
                raise HalpInputError(f"no mutation of the netlist matches {options}")
            chosen.append(matches[0])
    # The regression drives the simulation top: the mutated core next to the (default) memory
    # models.
    system = system_for_run(config, MemoryTiming(), n=problem.n, d=problem.d,
                            order_entries=order_entries(run, config, long_run=long_run),
                            core=NetlistCore(core=core,
                                             select_width=netlist.select_width(chosen)))
    text = netlist.mutants_verilog(work_dir, chosen) + component_verilog(system, name="top")
    built = build_verilog(text, simulator=simulator, build_root=build_root,
                          lint_waivers=NETLIST_LINT_WAIVERS)
    params = regression_params(problem, problem_seed, config, run, "step", long_run=long_run)
    return Campaign(work_dir, chosen, built, params, golden)


def run_mutants(campaign: Campaign, selects: list[int], on_done=None) -> dict[int, dict]:
    """The regression once per select value; returns ``select -> first difference or None``.

    A simulation that dies takes the mutant it was running with it: that mutant counts as
    killed (``{"error": ...}``) and the rest run in a new simulation. ``on_done(select,
    difference)`` is called as each finishes (while the simulation goes on with the next).
    """
    outcomes: dict[int, dict | None] = {}
    results_file = campaign.work_dir / "regression.jsonl"
    remaining = list(selects)

    def collect():  # the results written so far (the progress file also has the phases' lines)
        for line in results_file.read_text().split("\n")[:-1]:  # complete lines only
            entry = json.loads(line)
            if entry["select"] not in outcomes:
                outcomes[entry["select"]] = first_difference(entry["report"], campaign.golden,
                                                             entry["failure"])
                if on_done is not None:
                    on_done(entry["select"], outcomes[entry["select"]])

    while remaining:
        results_file.write_text("")
        params = {**campaign.params, "mutants": remaining, "results": str(results_file)}
        try:
            run_testbench(campaign.built, module="tb_mutants", params=params, name="mutants",
                          on_progress=lambda _: collect())
            crash = None
        except SimulationError as error:
            crash = str(error)
        collect()
        remaining = [select for select in remaining if select not in outcomes]
        if remaining:  # the simulation died while running remaining[0]
            outcomes[remaining[0]] = {"error": crash or "the simulation ended abnormally"}
            if on_done is not None:
                on_done(remaining[0], outcomes[remaining[0]])
            remaining = remaining[1:]
    return outcomes


def classify(campaign: Campaign, *, depth: int, timeout: int, progress: bool = True,
             out=sys.stderr) -> dict:
    """Run the campaign: the original design, every mutant, a miter for every survivor.

    A survivor's proof starts as soon as the regression has passed it, in a worker thread
    (Yosys runs in a process of its own) while the simulation goes on with the next mutants.

    Returns ``mutants`` (one entry per mutation: what it mutates, ``status``,
    ``first_difference`` from the regression, ``miter`` for survivors), ``sim_seconds`` (the
    regression), ``miter_seconds`` (the proofs still running after it) and ``proof_seconds``
    (all proofs together).
    """
    from tqdm import tqdm

    start = time.perf_counter()
    selects = [0] + [mutation.select for mutation in campaign.mutations]
    by_select = {mutation.select: mutation for mutation in campaign.mutations}
    sizes = {name: campaign.params["config"][name] for name in ("n_max", "d_max")}
    pending = {}
    # A survivor's proof starts as soon as the regression has passed it, in a second process
    # next to the simulation (which goes on with the next mutants).
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        with tqdm(total=len(selects), desc="mutants", unit="mutant", file=out,
                  disable=not progress) as bar:
            def finished(select, difference):
                bar.update(1)
                if select != 0 and difference is None:
                    pending[select] = pool.submit(
                        equivalence.check, campaign.work_dir, by_select[select], depth=depth,
                        timeout=timeout, sizes=sizes)

            outcomes = run_mutants(campaign, selects, on_done=finished)
        if outcomes[0] is not None:
            raise SimulationError(f"the unmutated netlist fails the regression: {outcomes[0]}")
        sim_seconds = time.perf_counter() - start
        proofs = {}
        with tqdm(total=len(pending), desc="miters", unit="survivor", file=out,
                  disable=not progress) as bar:
            for select, future in pending.items():
                proofs[select] = future.result()
                bar.update(1)
    finally:
        pool.shutdown(cancel_futures=True)
    entries = []
    for mutation in campaign.mutations:
        difference = outcomes[mutation.select]
        proof = proofs.get(mutation.select)
        if difference is not None:
            status = "killed"
        else:
            status = "equivalent" if proof["equivalent"] else "survived"
        entries.append({**mutation.as_dict(), "status": status, "first_difference": difference,
                        "miter": proof})
    return {"mutants": entries, "sim_seconds": round(sim_seconds, 1),
            "miter_seconds": round(time.perf_counter() - start - sim_seconds, 1),
            "proof_seconds": round(sum(proof["seconds"] for proof in proofs.values()), 1)}
