"""``halp-hw golden``: run the five solvers of the HALP paper and plot their convergence.

On the paper's synthetic least-squares problem (or a synthetic classification one, a
scikit-learn data set, or the user's own data) it runs SGD, SVRG, LP-SGD, LP-SVRG and HALP with
one shared step size, epoch length and seed, then writes ``DIR/results.json`` and
``DIR/convergence.png`` and prints a summary. With ``--hardware`` it also runs HALP in the
bit-exact hardware numeric mode of the accelerator (key ``halp_hw``) with the same
hyperparameters.
"""

from __future__ import annotations

from pathlib import Path

from ._data_options import add_data_options, load_problem

HELP = "run SGD, SVRG, LP-SGD, LP-SVRG and HALP on one problem; write results.json and a plot"
#: The threshold the summary table reports epochs to (the paper figure's float64-level accuracy).
REPORT_THRESHOLD = 1e-12
DEFAULT_N, DEFAULT_D = 1000, 100
#: The widths of ``z`` an accelerator build holds (``HardwareConfig.bits``).
MIN_HARDWARE_BITS, MAX_HARDWARE_BITS = 2, 16


def register(subparsers) -> None:
    parser = subparsers.add_parser("golden", help=HELP, description=HELP + ".")
    parser.add_argument("--problem", choices=("linreg", "logreg", "svm"), default="linreg",
                        help="least squares, logistic regression or the L2-SVM (squared hinge) "
                             "(default: linreg)")
    add_data_options(parser, n=DEFAULT_N, d=DEFAULT_D)
    parser.add_argument("--bits", type=int, default=8,
                        help="precision b of LP-SGD, LP-SVRG and HALP, 2..32 (default: 8)")
    parser.add_argument("--epochs", type=int, default=40, help="epochs E >= 1 (default: 40)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the data, the sample order and the rounding (default: 0)")
    parser.add_argument("--step-size", type=float,
                        help="step size alpha > 0 (default: 1 / (4 L), L the largest "
                             "per-sample smoothness, at most 2x the mean)")
    parser.add_argument("--epoch-length", type=int,
                        help="inner steps per epoch T (default: 1 / (2 alpha mu_min) rounded to "
                             "1 to 4 whole passes over the data)")
    parser.add_argument("--mu", type=float,
                        help="HALP's mu > 0 (default: from the Hessian's eigenvalues at w*: 2x "
                             "their mean, at most 16x the smallest, at least 4x the largest / "
                             "(2^(b-1) - 1))")
    parser.add_argument("--l2", type=float, default=0.0, help="L2 weight >= 0 (default: 0)")
    parser.add_argument("--lp-scale", type=float,
                        help="fixed grid spacing of LP-SGD/LP-SVRG > 0 (default: HALP's "
                             "first-epoch scale)")
    parser.add_argument("--target", type=float, default=REPORT_THRESHOLD,
                        help="the rel_subopt the summary reports epochs to, and the plot marks "
                             f"(default: {REPORT_THRESHOLD:g})")
    parser.add_argument("--hardware", action="store_true",
                        help="also run HALP in the accelerator's bit-exact hardware numeric mode "
                             "(8-bit data, 16 fraction bits, the build of --problem; --bits "
                             f"{MIN_HARDWARE_BITS}..{MAX_HARDWARE_BITS}) with the same step "
                             "size, T, mu and seed, drawn and summarized as halp_hw")
    parser.add_argument("--out", type=Path, default=Path("golden-results"),
                        help="output directory (default: ./golden-results)")
    parser.set_defaults(handler=run)


def _check_arguments(args) -> None:
    """The cheap checks, so that a typo fails before any data is generated."""
    from halp_hw.golden.fixedpoint import MAX_BITS, MIN_BITS
    from halp_hw.golden.validation import check_int, check_positive

    check_int("bits", args.bits, MIN_BITS, MAX_BITS)
    if args.hardware:
        check_int("bits (with --hardware)", args.bits, MIN_HARDWARE_BITS, MAX_HARDWARE_BITS)
    check_int("epochs", args.epochs, 1)
    check_int("seed", args.seed, 0, 2**32 - 1)
    check_positive("target", args.target)
    for name, value in (("step size", args.step_size), ("mu", args.mu),
                        ("lp scale", args.lp_scale)):
        if value is not None:
            check_positive(name, value)
    if args.epoch_length is not None:
        check_int("epoch length", args.epoch_length, 1)


class _Run:
    """The solvers of one ``golden`` run and their traces, finished or in progress."""

    def __init__(self, problem, source: str, args):
        self.problem, self.source, self.args = problem, source, args
        self.solvers: dict = {}
        self.runs: dict = {}
        self.traces: dict = {}

    def prepare(self) -> None:
        """The solvers with their hyperparameters, and the hardware build (``--hardware``),
        checked before any of them runs."""
        from functools import partial

        from halp_hw.golden.hardware import run_halp_hardware
        from halp_hw.golden.solvers import make_solvers

        args = self.args
        self.solvers = make_solvers(self.problem, step_size=args.step_size,
                                    epoch_length=args.epoch_length, bits=args.bits, mu=args.mu,
                                    lp_scale=args.lp_scale)
        self.runs = {key: partial(solver.run, self.problem, args.epochs, args.seed)
                     for key, solver in self.solvers.items()}
        if args.hardware:
            self.runs["halp_hw"] = partial(run_halp_hardware, self.problem,
                                           *self.hardware_build(self.solvers["halp"]))

    def execute(self) -> None:
        """The five traces (six with ``--hardware``), with one progress bar (stderr) over
        solvers x epochs."""
        from tqdm import tqdm

        runs = self.runs
        with tqdm(total=len(runs) * self.args.epochs, unit="epoch", desc="golden") as progress:
            for key, run in runs.items():
                progress.set_description(key)

                def on_epoch(k, trace, key=key):
                    self.traces[key] = trace  # the trace so far, kept if the run stops
                    progress.update()

                self.traces[key] = run(on_epoch=on_epoch)

    def hardware_build(self, halp) -> tuple:
        """The accelerator build and the hardware-mode run with ``halp``'s hyperparameters.

        Checked before any solver runs: a step size the step coefficient cannot hold for the
        data's scale is an input error.
        """
        from halp_hw.golden.hardware import HalpHost, HardwareConfig, HardwareRun

        problem, args = self.problem, self.args
        config = HardwareConfig(bits=args.bits, problem=problem.name, n_max=problem.n,
                                d_max=problem.d)
        run = HardwareRun(step_size=halp.step_size, mu=halp.mu,
                          epoch_length=halp.epoch_length or problem.n, epochs=args.epochs,
                          seed=args.seed)
        HalpHost(problem, config, run)
        return config, run

    def findings(self, traces: dict) -> dict:
        """:func:`~halp_hw.golden.diagnosis.diagnose` of every trace (SVRG the reference)."""
        from halp_hw.golden.diagnosis import diagnose

        reference = traces.get("svrg")
        return {key: diagnose(trace, self.problem.d, reference) for key, trace in traces.items()}

    def results(self) -> dict:
        """The content of ``results.json``: problem, shared settings, one trace per solver."""
        import numpy as np

        problem, args = self.problem, self.args
        low, high = problem.hessian_extremes
        settings = {"bits": args.bits, "epochs": args.epochs, "seed": args.seed}
        if self.solvers:
            halp = self.solvers["halp"]
            settings.update(step_size=halp.step_size,
                            epoch_length=halp.epoch_length or problem.n, mu=halp.mu,
                            lp_scale=self.solvers["lp_sgd"].format.scale)
        traces = {key: trace.completed() for key, trace in self.traces.items()}
        findings = self.findings(traces)
        return {
            "problem": {
                "name": problem.name, "source": self.source, "n": problem.n, "d": problem.d,
                "l2": problem.l2, "optimal_loss": problem.optimal_loss,
                "initial_subopt": problem.suboptimality(np.zeros(problem.d)),
                "hessian_eigenvalues": {"min": low, "max": high},
            },
            "settings": settings,
            "solvers": {key: {**trace.to_dict(),
                              "diagnosis": [item.to_dict() for item in findings[key]]}
                        for key, trace in traces.items()},
            "warnings": [item.message for items in findings.values() for item in items],
        }


def _print_summary(traces: dict, target: float) -> None:
    from halp_hw.golden.solvers import epochs_to_reach

    metric = next(iter(traces.values())).test_metric
    test = f"  {'test ' + metric['name']:>13}" if metric else ""
    print(f"{'solver':<8} {'final rel_subopt':>16} {f'epochs to {target:g}':>15} "
          f"{'saturations':>11}{test}")
    for key, trace in traces.items():
        reached = epochs_to_reach(trace, target)
        value = f"  {trace.test_metric['values'][-1]:>13.4g}" if metric else ""
        print(f"{key:<8} {trace.rel_subopt[-1]:>16.3e} "
              f"{'-' if reached is None else reached:>15} {sum(trace.saturations):>11}{value}")


def run(args) -> int:
    import sys
    import textwrap

    from halp_hw.golden.diagnosis import any_diverged
    from halp_hw.plots import plot_convergence

    from ._partial import keep_partial_results, write_json

    _check_arguments(args)
    problem, source = load_problem(args, args.problem, args.l2)
    out, state = args.out, _Run(problem, source, args)
    state.prepare()
    print(f"{problem.name} on {source}")
    with keep_partial_results(out / "results.json", state.results):
        state.execute()
        results = {**state.results(), "complete": True}
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "results.json", results)
        settings = results["settings"]
        plot_convergence(state.traces, out / "convergence.png",
                         textwrap.fill(f"{problem.name} on {source}", 80)
                         + f"\n{args.bits}-bit, alpha={settings['step_size']:.3g}, "
                         f"T={settings['epoch_length']}, mu={settings['mu']:.3g}, "
                         f"l2={problem.l2:g}, seed={args.seed}",
                         reference=args.target)
    _print_summary(state.traces, args.target)
    print(f"wrote {out / 'results.json'} and {out / 'convergence.png'}")
    for message in results["warnings"]:
        print(f"halp-hw golden: warning: {message}", file=sys.stderr)
    diverged = [key for key, items in state.findings(state.traces).items() if any_diverged(items)]
    if diverged:
        print(f"halp-hw golden: error: {', '.join(diverged)} diverged (see the warnings); "
              f"results in {out / 'results.json'}", file=sys.stderr)
        return 1
    return 0
