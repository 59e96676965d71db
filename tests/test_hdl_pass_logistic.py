"""The logistic residual of the full-gradient pass in RTL (Amaranth simulator), bit for bit
against the golden logistic pass: margins, their writes next to the rows, residuals, latency."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from halp_hw.golden.epoch_timing import PASS_LOSS_LATENCY
from halp_hw.golden.fixedpoint import int_range
from halp_hw.golden.full_gradient import PassWidths
from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.logistic_pass import logistic_residuals, pass_margins
from halp_hw.golden.validation import HalpInputError
from halp_hw.hdl.host import value_words
from halp_hw.hdl.pass_logistic import LogisticPassResidual

#: One margin word per row (4 lanes of 8 bits hold the 32-bit margin).
CONFIG = HardwareConfig(problem="logreg", lanes=4, d_max=10, n_max=64)
#: Four margin words per row (1 lane of 8 bits); the target takes 6 words, so rows are 7+ long.
CONFIG_WORDS = HardwareConfig(problem="logreg", lanes=1, d_max=10, n_max=64)


def run_unit(config, shift, dots, targets, *, row_words, gap):
    """Feed row ``k`` ``gap * k`` cycles after the start; returns the residuals with their
    cycle, and the margin writes ``(cycle, addr, data)``."""
    dut = LogisticPassResidual(config=config)
    residuals, writes = [], []

    async def bench(ctx):
        ctx.set(dut.shift, shift)
        ctx.set(dut.row_words, row_words)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        await ctx.tick()  # the static shift is registered
        for cycle in range(gap * len(dots) + 20):
            row, offset = divmod(cycle, gap)
            feeding = offset == 0 and row < len(dots)
            ctx.set(dut.valid, feeding)
            if feeding:
                ctx.set(dut.dot, int(dots[row]))
                ctx.set(dut.target, int(targets[row]))
            if ctx.get(dut.residual_valid):
                residuals.append((cycle, ctx.get(dut.residual)))
            if ctx.get(dut.margin_wr_en):
                writes.append((cycle, ctx.get(dut.margin_wr_addr), ctx.get(dut.margin_wr_data)))
            await ctx.tick()

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(bench)
    simulator.run()
    return residuals, writes


def rows_for(config, count, rng):
    """Dots at both ends of the pass's dot width, near 0 and random; targets the labels 0 and
    2**O, and any dot_width-bit word (the pass reads its low O + 2 bits)."""
    low, high = int_range(PassWidths.of(config).dot_width)
    special = [low, high, 0, 1, -1, 2, -2, 3, 1 << 20, -(1 << 20), (1 << 30) + 5]
    dots = np.array(special + rng.integers(low, high + 1, count - len(special)).tolist(),
                    dtype=np.int64)
    dots[len(special) + count // 3:] >>= rng.integers(0, 40, count - len(special) - count // 3)
    labels = rng.integers(0, 2, count) << config.sigmoid_out_bits
    targets = np.where(rng.random(count) < 0.8, labels, rng.integers(low, high + 1, count))
    return dots, targets


@pytest.mark.parametrize("shift", [-128, -40, -33, -32, -31, -5, 0, 1, 2, 5, 17, 30, 46, 47,
                                   48, 49, 127])
def test_unit_equals_the_golden_pass(shift):
    rng = np.random.default_rng(shift + 500)
    dots, targets = rows_for(CONFIG, 60, rng)
    residuals, writes = run_unit(CONFIG, shift, dots, targets, row_words=3, gap=2)
    margins = pass_margins(dots, shift, CONFIG)
    expected = logistic_residuals(margins, targets, CONFIG)
    latency = PASS_LOSS_LATENCY["logreg"]
    assert residuals == [(2 * k + latency, int(r)) for k, r in enumerate(expected)]
    # each row's margin at its value word (row stride 3 + 1 words), in the cycle after its dot
    assert writes == [(2 * k + 1, 4 * k + 3, value_words(CONFIG, margin)[0])
                      for k, margin in enumerate(margins)]
    if shift == -40:  # the margin saturates at both ends
        assert {int(m) for m in margins} >= set(int_range(CONFIG.margin_bits))
    assert len(set(expected.tolist())) > 2


def test_margins_of_several_words_are_written_lowest_first():
    config = CONFIG_WORDS
    assert config.sample_words == 4 and PassWidths.of(config).target_words == 6
    rng = np.random.default_rng(7)
    dots, targets = rows_for(config, 30, rng)
    residuals, writes = run_unit(config, 9, dots, targets, row_words=10, gap=7)
    margins = pass_margins(dots, 9, config)
    assert [r for _, r in residuals] == logistic_residuals(margins, targets, config).tolist()
    expected = [(7 * k + 1 + w, 14 * k + 10 + w, word) for k, margin in enumerate(margins)
                for w, word in enumerate(value_words(config, margin))]
    assert writes == expected


@pytest.mark.usefixtures("discards_elaboratables")
def test_unit_refuses_builds_it_cannot_serve():
    with pytest.raises(HalpInputError, match="needs a logreg build, not linreg"):
        LogisticPassResidual(config=HardwareConfig())
    # 1 lane of 8 bits: 4 margin words, but 24-bit pass data make rows of 1 + 2 words
    narrow = HardwareConfig(problem="logreg", lanes=1, gradient_data_bits=24, center_bits=16,
                            d_max=10, n_max=8)
    with pytest.raises(HalpInputError, match="writes 4 margin words per row, more than its "
                                             "shortest row of 3 words"):
        LogisticPassResidual(config=narrow)
