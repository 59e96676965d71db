"""The options of a hardware-mode HALP run, shared by ``simulate`` and ``verify``."""

from __future__ import annotations

from halp_hw.golden.glm import LOSSES
from halp_hw.golden.hardware import HardwareConfig, HardwareRun
from halp_hw.golden.memory import SAMPLE_ORDERS, MemoryTiming

_BUILD = HardwareConfig()
_MEMORY = MemoryTiming()


def add_memory_options(parser) -> None:
    """Add the off-chip memory's timing (latency, bandwidth, burst size)."""
    parser.add_argument("--mem-latency", type=int, default=_MEMORY.latency, metavar="CYCLES",
                        help="off-chip memory read latency in core cycles (default "
                             f"{_MEMORY.latency}: DDR3-1600 with a soft controller, ~200 ns at "
                             "100 MHz; see docs/datapath.md)")
    parser.add_argument("--mem-bytes-per-cycle", type=int, default=_MEMORY.bytes_per_cycle,
                        metavar="B",
                        help=f"off-chip memory bandwidth (default {_MEMORY.bytes_per_cycle}: a "
                             "64-bit port at the core's clock)")
    parser.add_argument("--mem-burst-bytes", type=int, default=_MEMORY.burst_bytes,
                        metavar="BYTES",
                        help=f"longest burst; each pays the latency (default "
                             f"{_MEMORY.burst_bytes}, the AXI4 limit)")


def memory_from_args(args) -> MemoryTiming:
    """The :class:`MemoryTiming` of the ``--mem-*`` options."""
    return MemoryTiming(latency=args.mem_latency, bytes_per_cycle=args.mem_bytes_per_cycle,
                        burst_bytes=args.mem_burst_bytes)


def add_full_gradient_options(parser) -> None:
    """Add who computes the full gradient, and the widths of the epoch on chip."""
    from halp_hw.golden.epoch import FULL_GRADIENT_SOURCES

    parser.add_argument("--full-gradient", choices=FULL_GRADIENT_SOURCES, default="host",
                        help="who computes each epoch's full gradient, scale and center: the "
                             "float64 host (default) or the accelerator (a pass over the "
                             "quantized data, the center on chip; docs/numeric-contract.md)")
    parser.add_argument("--gradient-data-bits", type=int, default=_BUILD.gradient_data_bits,
                        metavar="BITS",
                        help="width of the data copy the accelerator's full-gradient pass "
                             "reads, 2..24 (default 0: the inner loop's --data-bits)")
    parser.add_argument("--center-bits", type=int, default=_BUILD.center_bits, metavar="BITS",
                        help=f"width of the on-chip center (default {_BUILD.center_bits})")
    parser.add_argument("--center-exponent", type=int, metavar="E",
                        help="LSB exponent of the on-chip center (default: its range covers "
                             "4 max|w*| and the targets fit)")


def add_run_options(parser, *, lanes: int, epochs: int) -> None:
    """Add the build (bits, lanes, ...) and hyperparameter (T, alpha, mu) options."""
    parser.add_argument("--problem", choices=LOSSES, default="linreg",
                        help="the training problem, which the core is built for: least squares "
                             "(default), logistic regression (a sigmoid unit in the core) or "
                             "the L2-SVM (a hinge stage)")
    parser.add_argument("--l2", type=float, default=0.0,
                        help="L2 weight lambda >= 0 (default 0); logistic and SVM cores apply "
                             "it in every inner update")
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
    parser.add_argument("--order", choices=SAMPLE_ORDERS, default="xorshift",
                        help="sample order: the on-chip xorshift32 stream (default) or a "
                             "host-given permutation per epoch read from memory")
    add_memory_options(parser)
    add_full_gradient_options(parser)
    parser.add_argument("--mu", type=float,
                        help="HALP's strong-convexity parameter (default from the Hessian at "
                             "the optimum, as `halp-hw golden`)")


def run_from_args(args, problem):
    """The accelerator build sized to ``problem`` and the run's hyperparameters.

    The default step size is ``halp-hw golden``'s, lowered if needed to the largest that the
    hardware step coefficient holds for the data's scale.
    """
    from halp_hw.golden.hardware import largest_step_size, quantize_data
    from halp_hw.golden.defaults import default_epoch_length, default_mu, default_step_size

    config = HardwareConfig(bits=args.bits, data_bits=args.data_bits, frac_bits=args.frac_bits,
                            lanes=args.lanes, d_max=problem.d, n_max=problem.n,
                            center_bits=args.center_bits,
                            gradient_data_bits=args.gradient_data_bits, problem=problem.name)
    step_size = args.step_size
    if step_size is None and problem.name != "linreg":  # a normalized mantissa: any step fits
        step_size = default_step_size(problem)
    elif step_size is None:
        exponent = quantize_data(problem.X, config.data_bits)[1]
        step_size = min(default_step_size(problem), largest_step_size(exponent, config.frac_bits))
    run = HardwareRun(
        step_size=step_size, mu=default_mu(problem, config.bits) if args.mu is None else args.mu,
        epoch_length=(default_epoch_length(problem, step_size) if args.epoch_length is None
                      else args.epoch_length),
        epochs=args.epochs, seed=args.seed, order=args.order, full_gradient=args.full_gradient,
        center_exponent=args.center_exponent)
    return config, run
