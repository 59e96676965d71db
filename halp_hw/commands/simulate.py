"""``halp-hw simulate``: HALP end to end on the accelerator, with the performance model."""

from __future__ import annotations

from pathlib import Path

from ._data_options import add_data_options, load_problem
from ._run_options import add_run_options, memory_from_args, run_from_args

DEFAULTS = {"n": 1000, "d": 100}


def register(subparsers) -> None:
    from halp_hw.models.perf import DEFAULT_CLOCK_MHZ
    from halp_hw.runtime.backends import BACKENDS

    parser = subparsers.add_parser(
        "simulate",
        help="run HALP on the accelerator (golden model or RTL) and report cycles and speed",
        description="Run HALP end to end on the accelerator: the host loop in float64 and the "
                    "inner loops on the chosen backend (model = the golden hardware mode, fast; "
                    "verilator/icarus/amaranth = the RTL). Writes DIR/results.json (per epoch "
                    "rel_subopt, cycles, saturations and z; totals; the configuration; the "
                    "performance model with the memory bound; the CPU baseline) and "
                    "DIR/convergence.png, DIR/cycles.png, DIR/roofline.png.",
    )
    add_data_options(parser, **DEFAULTS)
    add_run_options(parser, lanes=8, epochs=20)
    parser.add_argument("--backend", choices=BACKENDS, default="model",
                        help="the accelerator: model (default) or an RTL simulator")
    clock = parser.add_mutually_exclusive_group()
    clock.add_argument("--clock-mhz", type=float,
                       help=f"clock of the modeled wall time (default {DEFAULT_CLOCK_MHZ:g} MHz)")
    clock.add_argument("--synth-json", type=Path, metavar="FILE",
                       help="take the clock from the fmax_mhz of a `halp-hw synth` synth.json")
    parser.add_argument("--out", type=Path, default=Path("simulate-out"), metavar="DIR",
                        help="output directory (default simulate-out)")
    parser.add_argument("--build-dir", type=Path, metavar="DIR",
                        help="where Verilator/Icarus builds go, one per design, reused when "
                             "unchanged (default OUT/build)")
    parser.set_defaults(handler=handle)


def _load_problem(args):
    """The problem and a one-line description of where its data came from."""
    from ._checks import check_hardware_size

    problem, source = load_problem(args, args.problem, args.l2)
    check_hardware_size(problem.n, problem.d)
    return problem, source


def _clock(args, config) -> tuple[float, str]:
    from halp_hw.golden.validation import check_positive

    from halp_hw.models.perf import DEFAULT_CLOCK_MHZ

    from ._checks import synth_clock

    if args.synth_json is not None:
        return synth_clock(args.synth_json, config), f"fmax_mhz of {args.synth_json}"
    if args.clock_mhz is not None:
        return check_positive("--clock-mhz", args.clock_mhz), "--clock-mhz"
    return DEFAULT_CLOCK_MHZ, "default"


def _partial_results(args, problem, config, run, hosts: list) -> dict:
    """What a stopped run finished: its settings and the epochs the host recorded."""
    import dataclasses

    trace = hosts[0].trace.completed() if hosts else None
    epochs = [] if trace is None else [
        {"epoch": k, "rel_subopt": trace.rel_subopt[k], "subopt": trace.subopt[k],
         "dist": trace.dist[k], "scale": trace.scale[k], "saturations": trace.saturations[k],
         "cycles": (trace.cycles or [None] * (k + 1))[k]}
        for k in range(1, len(trace.rel_subopt))]
    return {"configuration": {"problem": problem.name, "n": problem.n, "d": problem.d,
                              "backend": args.backend, **dataclasses.asdict(config),
                              **dataclasses.asdict(run)},
            "epochs": epochs}


def handle(args) -> int:
    import sys

    from halp_hw.runtime.simulate import simulate, write_report

    from ._checks import check_backend, check_hardware_run
    from ._partial import keep_partial_results

    check_backend(args.backend)
    memory = memory_from_args(args)
    problem, source = _load_problem(args)
    config, run = run_from_args(args, problem)
    clock_mhz, clock_source = _clock(args, config)
    check_hardware_run(problem, config, run, source, step_given=args.step_size is not None)
    print(f"{problem.name} on {source}")
    hosts = []
    with keep_partial_results(args.out / "results.json",
                              lambda: _partial_results(args, problem, config, run, hosts)):
        outcome = simulate(problem, config, run, backend=args.backend, clock_mhz=clock_mhz,
                           clock_source=clock_source, work_dir=args.build_dir or args.out / "build",
                           on_host=hosts.append, memory=memory)
        outcome.results["complete"] = True
        paths = write_report(outcome, args.out)
    results = outcome.results
    _print_summary(results, paths)
    for finding in results["diagnosis"]:
        print(f"halp-hw simulate: warning: {finding['message']}", file=sys.stderr)
    totals, model = results["totals"], results["performance"]
    if not totals["cycles_match_model"]:
        print(f"halp-hw simulate: error: the {args.backend} backend counted {totals['cycles']} "
              f"cycles, the performance model predicts {model['cycles_total']}", file=sys.stderr)
        return 1
    if results["diverged"]:
        print(f"halp-hw simulate: error: the run diverged (see the warning); results in "
              f"{paths[0]}", file=sys.stderr)
        return 1
    return 0


def _print_accuracy(accuracy: dict) -> None:
    if "floor" in accuracy:
        floor = accuracy["floor"]
        print(f"  floor of {floor['data_bits']}-bit data (the full gradient's): rel_subopt "
              f"{floor['rel_subopt']:.3g}; final {accuracy['final_rel_subopt']:.3g} = "
              f"{accuracy['final_over_floor']:.3g}x the floor; on the quantized problem "
              f"{accuracy['quantized_problem_final_rel_subopt']:.3g}")
    for target, reach in accuracy["time_to_rel_subopt"].items():
        accelerator, cpu = reach["accelerator_seconds"], reach["compiled_float32_seconds"]
        print(f"  to rel_subopt {target}: accelerator "
              + ("not reached" if accelerator is None else f"{accelerator * 1e3:.3g} ms")
              + ", compiled float32 SVRG "
              + ("not reached" if cpu is None else f"{cpu * 1e3:.3g} ms")
              + ("" if reach["speedup"] is None else f"; modeled speedup {reach['speedup']:.3g}x"))


def _print_summary(results: dict, paths) -> None:
    config, totals = results["configuration"], results["totals"]
    model, base = results["performance"], results["baseline"]
    print(f"HALP on {config['backend']}: {config['problem']} N={config['n']} d={config['d']}, "
          f"{config['bits']}-bit, {config['lanes']} lanes, T={config['epoch_length']}, "
          f"alpha={config['step_size']:.3g}, mu={config['mu']:.3g}, {config['epochs']} epochs")
    test = totals["test_metric"]
    print(f"  rel_subopt: final {totals['final_rel_subopt']:.3g}, best "
          f"{totals['best_rel_subopt']:.3g}; saturations {totals['saturations']}"
          + (f"; test {test['name']} {test['final']:.4g}" if test else ""))
    bounds, memory = model["step_bounds"], model["memory"]
    print(f"  cycles: {model['cycles_per_inner_step']} per inner step, {model['bound']}-bound "
          f"(pipeline {bounds['compute']} = {model['beats_per_inner_step']} beats + "
          f"{model['pipeline_latency']}, row fetch {bounds['fetch']}, next row address "
          f"{bounds['index']}; memory: latency {memory['latency']}, "
          f"{memory['bytes_per_cycle']} B/cycle); {totals['cycles']} counted, model "
          f"{model['cycles_total']}; MAC utilization {model['mac_utilization']:.1%}")
    if model["epoch_phases"] is None:
        host_work = (f" + host per-epoch work {model['host_seconds'] * 1e3:.3g} ms "
                     f"({model['host_seconds_per_epoch'] * 1e3:.3g} ms x {config['epochs']})")
    else:
        phases = model["epoch_phases"]
        host_work = (f" (whole epoch on chip: {model['cycles_per_epoch']} cycles = pass "
                     f"{phases['full_gradient']} + finish {phases['finish']} + inner "
                     f"{phases['inner']} + update {phases['update']})")
    print(f"  at {model['clock_mhz']:g} MHz ({config['clock_source']}): "
          f"{model['inner_steps_per_second']:.3g} inner steps/s, accelerator "
          f"{model['modeled_seconds'] * 1e3:.3g} ms{host_work}; host data load "
          f"{model['host_load_seconds'] * 1e3:.3g} ms (once, not in the modeled time)")
    _print_accuracy(results["accuracy"])
    if base["speedup_over_float64_run"] is None:
        speedup = "no speedup: the run diverged"
    else:
        speedup = (f"modeled speedup {base['speedup_over_float64_run']:.3g}x end to end, "
                   f"{base['speedup_over_float64_inner_steps']:.3g}x in inner steps/s")
    print(f"  CPU SVRG (NumPy, this machine): float64 {base['float64']['seconds'] * 1e3:.3g} ms "
          f"({base['float64']['inner_steps_per_second']:.3g} steps/s), float32 "
          f"{base['float32']['seconds'] * 1e3:.3g} ms; {speedup}")
    compiled = base["compiled"]
    print(f"  CPU SVRG (numba, one core): float64 {compiled['float64']['seconds'] * 1e3:.3g} ms "
          f"({compiled['float64']['inner_steps_per_second']:.3g} steps/s), float32 "
          f"{compiled['float32']['seconds'] * 1e3:.3g} ms "
          f"({compiled['float32']['inner_steps_per_second']:.3g} steps/s)"
          + ("" if base["speedup_over_compiled_float32_run"] is None else
             f"; modeled speedup over float32 {base['speedup_over_compiled_float32_run']:.3g}x "
             "end to end"))
    print("  wrote " + ", ".join(str(path) for path in paths))
