"""The options of a hardware-mode HALP run, shared by ``simulate`` and ``verify``."""

from __future__ import annotations

from halp_hw.golden.hardware import HardwareConfig, HardwareRun

_BUILD = HardwareConfig()


def add_run_options(parser, *, lanes: int, epochs: int) -> None:
    """Add the build (bits, lanes, ...) and hyperparameter (T, alpha, mu) options."""
    parser.add_argument("--problem", choices=("linreg",), default="linreg",
                        help="the training problem (the hardware mode implements least squares)")
    defaults = {"bits": _BUILD.bits, "data_bits": _BUILD.data_bits,
                "frac_bits": _BUILD.frac_bits, "seed": 0, "lanes": lanes, "epochs": epochs}
    for name, help_text in (("bits", "width of the offset z (the paper's b)"),
                            ("lanes", "MACC lanes L"), ("epochs", "outer iterations"),
                            ("data-bits", "width of the quantized data x"),
                            ("frac-bits", "fraction bits of the update (random bits per lane)"),
                            ("seed", "seed of the data, the sample order and the rounding")):
        key = name.replace("-", "_")
        parser.add_argument(f"--{name}", type=int, default=defaults[key],
                            help=f"{help_text} (default {defaults[key]})")
    parser.add_argument("--epoch-length", type=int,
                        help="inner steps per epoch T (default from the problem, as "
                             "`halp-hw golden`)")
    parser.add_argument("--step-size", type=float,
                        help="alpha (default 1/(4 L), as `halp-hw golden`, within what the "
                             "step coefficient holds)")
    parser.add_argument("--mu", type=float,
                        help="HALP's strong-convexity parameter (default from the Hessian at "
                             "the optimum, as `halp-hw golden`)")


def run_from_args(args, problem):
    """The accelerator build sized to ``problem`` and the run's hyperparameters.

    The default step size is ``halp-hw golden``'s, lowered if needed to the largest that the
    hardware step coefficient holds for the data's scale.
    """
    from halp_hw.golden.hardware import largest_step_size, quantize_data
    from halp_hw.golden.solvers import default_epoch_length, default_mu, default_step_size

    config = HardwareConfig(bits=args.bits, data_bits=args.data_bits, frac_bits=args.frac_bits,
                            lanes=args.lanes, d_max=problem.d, n_max=problem.n)
    step_size = args.step_size
    if step_size is None:
        exponent = quantize_data(problem.X, config.data_bits)[1]
        step_size = min(default_step_size(problem), largest_step_size(exponent, config.frac_bits))
    run = HardwareRun(
        step_size=step_size, mu=default_mu(problem, config.bits) if args.mu is None else args.mu,
        epoch_length=(default_epoch_length(problem, step_size) if args.epoch_length is None
                      else args.epoch_length),
        epochs=args.epochs, seed=args.seed)
    return config, run
