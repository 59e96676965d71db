"""The epoch on chip in RTL (Amaranth simulator): bit for bit and cycle for cycle against the
golden EpochAcceleratorModel, and nothing of it in the default core."""

import dataclasses

import pytest
from amaranth.back import rtlil

from halp_hw.golden.data import paper_linreg, synthetic_logreg
from halp_hw.golden.epoch_timing import epoch_cost, pass_cycles
from halp_hw.golden.full_gradient import PassWidths
from halp_hw.golden.hardware import HardwareConfig, HardwareRun
from halp_hw.golden.memory import MemoryTiming
from halp_hw.golden.validation import HalpInputError
from halp_hw.hdl.core import HALPCore
from halp_hw.hdl.epoch_unit import HOST_PORTS, LOGISTIC_PORTS
from halp_hw.hdl.host import pass_region_words, unpack_words
from halp_hw.runtime.backends import run_backend


def _runs(n, d, lanes, *, l2=0.0, memory=MemoryTiming(latency=5, bytes_per_cycle=4),
          epochs=3, epoch_length=6):
    problem = paper_linreg(n, d, 1, l2=l2)
    config = HardwareConfig(lanes=lanes, d_max=16, n_max=64, row_slots=4)
    run = HardwareRun(step_size=0.02, mu=1.0, epoch_length=epoch_length, epochs=epochs, seed=3,
                      full_gradient="accelerator")
    golden = run_backend("model", problem, config, run, memory=memory)
    rtl = run_backend("amaranth", problem, config, run, memory=memory)
    return golden, rtl, (problem, config, run, memory)


@pytest.mark.parametrize("n, d, lanes, l2, memory", [
    (10, 7, 4, 0.0, MemoryTiming(latency=5, bytes_per_cycle=4)),
    (10, 7, 1, 0.0, MemoryTiming(latency=5, bytes_per_cycle=4)),
    (9, 13, 3, 0.1, MemoryTiming(latency=3, bytes_per_cycle=1, burst_bytes=16)),
    (12, 16, 8, 0.01, MemoryTiming(latency=1, bytes_per_cycle=64, burst_bytes=8)),
])
def test_rtl_epoch_equals_the_golden_epoch(n, d, lanes, l2, memory):
    golden, rtl, (problem, config, run, _) = _runs(n, d, lanes, l2=l2, memory=memory)
    assert rtl.loop.z == golden.loop.z  # z after every epoch
    assert rtl.trace.scale == golden.trace.scale  # the exponent computed on chip
    assert rtl.trace.rel_subopt == golden.trace.rel_subopt  # the center read back
    assert rtl.trace.saturations == golden.trace.saturations
    # every epoch costs the cycles of the golden cycle model, stalls included
    cost = epoch_cost(config, memory, n, d, run.epoch_length)
    assert rtl.trace.cycles[1:] == [cost.cycles] * run.epochs
    assert any(any(value != 0 for value in z) for z in rtl.loop.z)
    assert rtl.trace.rel_subopt[-1] < rtl.trace.rel_subopt[0]


@pytest.mark.parametrize("n, d, lanes, memory", [
    (10, 7, 4, MemoryTiming(latency=5, bytes_per_cycle=4)),
    (10, 7, 1, MemoryTiming(latency=5, bytes_per_cycle=4)),  # margins of 4 words
    (9, 13, 3, MemoryTiming(latency=3, bytes_per_cycle=1, burst_bytes=16)),
    (12, 4, 8, MemoryTiming(latency=1, bytes_per_cycle=64, burst_bytes=8)),  # rows of 2 words
    (12, 16, 8, MemoryTiming(latency=1, bytes_per_cycle=64, burst_bytes=64)),
])
def test_rtl_logistic_epoch_equals_the_golden_epoch(n, d, lanes, memory):
    """The logistic pass (margins written next to the rows, the row buffer's values read
    again), bit for bit and cycle for cycle; T = 12 steps keeps rows of two epochs in the
    row buffer across each FULL_GRADIENT."""
    problem = synthetic_logreg(n, d, 2, l2=0.05)
    config = HardwareConfig(lanes=lanes, d_max=16, n_max=64, row_slots=8, problem="logreg")
    run = HardwareRun(step_size=0.1, mu=0.5, epoch_length=12, epochs=3, seed=3,
                      full_gradient="accelerator")
    golden = run_backend("model", problem, config, run, memory=memory)
    rtl = run_backend("amaranth", problem, config, run, memory=memory)
    assert rtl.loop.z == golden.loop.z
    assert rtl.trace.scale == golden.trace.scale
    assert rtl.trace.rel_subopt == golden.trace.rel_subopt
    assert rtl.trace.saturations == golden.trace.saturations
    cost = epoch_cost(config, memory, n, d, run.epoch_length)
    assert rtl.trace.cycles[1:] == [cost.cycles] * run.epochs
    # the sigmoid's 7 cycles are in the pass, and only there
    linreg = dataclasses.replace(config, problem="linreg")
    assert cost.full_gradient == pass_cycles(linreg, memory, n, d) + 7
    assert len({tuple(z) for z in rtl.loop.z}) == run.epochs and any(rtl.loop.z[0])
    assert rtl.trace.rel_subopt[-1] < rtl.trace.rel_subopt[0]


@pytest.mark.usefixtures("discards_elaboratables")
def test_default_core_has_no_epoch_logic():
    config = HardwareConfig(lanes=4, d_max=12, n_max=32)
    plain = HALPCore(config=config)
    assert not any(hasattr(plain, name) for name in HOST_PORTS)
    assert "epoch" not in {name for name, _ in plain.elaborate(None)._named_submodules.items()}
    with_epoch = HALPCore(config=config, full_gradient=True)
    assert all(hasattr(with_epoch, name) for name in HOST_PORTS)
    assert not any(hasattr(with_epoch, name) for name in LOGISTIC_PORTS)
    assert len(rtlil.convert(plain)) < len(rtlil.convert(with_epoch))
    logistic = HALPCore(config=dataclasses.replace(config, problem="logreg"), full_gradient=True)
    assert all(hasattr(logistic, name) for name in HOST_PORTS + LOGISTIC_PORTS)


@pytest.mark.usefixtures("discards_elaboratables")
def test_full_gradient_core_refuses_bad_parameters():
    with pytest.raises(HalpInputError, match="full_gradient must be True or False, not 1"):
        HALPCore(config=HardwareConfig(), full_gradient=1)
    with pytest.raises(HalpInputError, match="least squares and logistic regression .* not svm"):
        HALPCore(config=HardwareConfig(problem="svm"), full_gradient=True)


def test_pass_region_layout():
    """Row i: ceil(d/L) words of L values, then its target in target_words words."""
    config = HardwareConfig(lanes=2, d_max=4, n_max=4, data_bits=4, center_bits=16)
    widths = PassWidths.of(config)
    image = pass_region_words(config, [[1, -2, 3], [-8, 7, 0]], [-5, 1 << 20])
    stride = widths.row_words(2)
    assert len(image) == 2 * stride
    assert unpack_words(image[:2], lanes=2, width=4, count=3) == [1, -2, 3]
    assert unpack_words(image[stride:stride + 2], lanes=2, width=4, count=3) == [-8, 7, 0]
    assert widths.target_words == 3  # 22-bit targets in 8-bit words

    def target(row):
        words = image[row * stride + 2:(row + 1) * stride]
        return sum(word << (k * widths.word_bits) for k, word in enumerate(words))

    assert target(0) - (1 << widths.dot_width) == -5 and target(1) == 1 << 20
