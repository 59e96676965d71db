"""The logistic residual of the full-gradient pass: a row's margin at the center, written back
next to the row for the inner loop, and ``sigmoid(margin) - label``.

Golden: :func:`halp_hw.golden.logistic_pass.pass_margins` and
:func:`~halp_hw.golden.logistic_pass.logistic_residuals`; cycles:
:data:`halp_hw.golden.epoch_timing.PASS_LOSS_LATENCY` (``docs/numeric-contract.md``, "The epoch
on the accelerator").
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from halp_hw.golden.epoch_timing import PASS_LOSS_LATENCY
from halp_hw.golden.full_gradient import PassWidths
from halp_hw.golden.logistic_pass import (PASS_MARGIN_SHIFT_BITS, check_logistic_pass,
                                          label_bits)
from halp_hw.golden.validation import HalpInputError

from .lane import check_config
from .logistic import margin_to_input
from .rounder import saturate
from .rows import row_address_shape
from .sigmoid import SigmoidUnit

__all__ = ["LogisticPassResidual"]


class LogisticPassResidual(wiring.Component):
    """``A = clamp(rshift(dot, s), margin_bits)``, its write to the row's value words, and
    ``r = sigmoid(clamp((A + 2**(G-1)) >> G, I)) - label``.

    Stage 1 registers the margin ``A`` (the shift ``s`` clamped to
    ``-margin_bits .. dot_width + 1`` first, which changes no result: beyond it every nonzero
    dot saturates, or every dot rounds to 0; ``rshift(v, s) = ((v >> (s - 1)) + 1) >> 1`` for
    ``s > 0``); stage 2 the sigmoid input, while ``A`` is written to the data memory at the
    row's value words (word ``i * (row_words + sample_words) + row_words`` for the ``i``-th row
    since ``start``, two's complement of ``margin_bits``, lowest word first, one word per
    cycle); then the :class:`SigmoidUnit` (5 stages, its output always ready). The label, the
    low ``sigmoid_out_bits + 2`` bits of the target, is delayed alongside.

    Latency: ``residual_valid`` is high ``PASS_LOSS_LATENCY["logreg"]`` = 7 cycles after
    ``valid``, with ``residual`` in that cycle (not registered). Throughput: one row per cycle
    through the sigmoid; the margin writes need ``sample_words`` cycles per row (the build is
    refused unless rows come at least that far apart:
    :func:`~halp_hw.golden.logistic_pass.check_logistic_pass`).

    Parameters
    ----------
    config : halp_hw.golden.hardware.HardwareConfig
        The build (``problem`` logreg): the pass's widths, the margin and sigmoid formats.

    Attributes
    ----------
    valid : In(1)
        ``dot`` and ``target`` are a row's.
    dot : In(signed(dot_width))
        The row's ``xg_i . wc`` (pass widths).
    target : In(signed(dot_width))
        The row's target word, ``y_i 2**sigmoid_out_bits``.
    shift : In(signed(PASS_MARGIN_SHIFT_BITS))
        ``s``; static.
    start : In(1)
        A pass starts: the next row is row 0.
    row_words : In(range(words_per_row + 1))
        Data words per row in the data memory, ``ceil(d/L)``; static.
    residual : Out(signed(sigmoid_out_bits + 3))
        ``sigmoid(in) - label``, LSB ``2**-sigmoid_out_bits``.
    residual_valid : Out(1)
        ``residual`` is the next row's.
    margin_wr_addr, margin_wr_data, margin_wr_en : Out
        The write of ``A`` into the data memory (``lanes * data_bits``-bit words).
    """

    def __init__(self, *, config):
        self.config = cfg = check_config(config)
        if cfg.problem != "logreg":
            raise HalpInputError(f"LogisticPassResidual needs a logreg build, not {cfg.problem}")
        check_logistic_pass(cfg)
        self.widths = widths = PassWidths.of(cfg)
        super().__init__({
            "valid": In(1),
            "dot": In(signed(widths.dot_width)),
            "target": In(signed(widths.dot_width)),
            "shift": In(signed(PASS_MARGIN_SHIFT_BITS)),
            "start": In(1),
            "row_words": In(range(cfg.words_per_row + 1)),
            "residual": Out(signed(cfg.sigmoid_out_bits + 3)),
            "residual_valid": Out(1),
            "margin_wr_addr": Out(row_address_shape(cfg)),
            "margin_wr_data": Out(cfg.lanes * cfg.data_bits),
            "margin_wr_en": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, widths = self.config, self.widths
        m.submodules.sigmoid = sigmoid = SigmoidUnit(config=cfg)
        low, high = -cfg.margin_bits, widths.dot_width + 1

        # The static shift, clamped and split into a left amount and a right amount minus one.
        to_left = Signal()
        left = Signal(range(-low + 1))
        right = Signal(range(high))
        m.d.sync += [to_left.eq(self.shift <= 0),
                     left.eq(Mux(self.shift < low, -low, Mux(self.shift <= 0, -self.shift, 0))),
                     right.eq(Mux(self.shift > high, high - 1,
                                  Mux(self.shift > 0, self.shift - 1, 0)))]

        # Stage 1: the margin; stage 2: the sigmoid input.
        rounded = ((self.dot >> right) + 1) >> 1
        margin = Signal(signed(cfg.margin_bits))
        sigmoid_input = Signal(signed(cfg.sigmoid_in_bits))
        valid_margin, valid_input = Signal(), Signal()
        m.d.sync += [margin.eq(saturate(Mux(to_left, self.dot << left, rounded),
                                        cfg.margin_bits)[0]),
                     sigmoid_input.eq(margin_to_input(margin, cfg)),
                     valid_margin.eq(self.valid), valid_input.eq(valid_margin)]
        m.d.comb += [sigmoid.i.valid.eq(valid_input), sigmoid.i.payload.eq(sigmoid_input),
                     sigmoid.o.ready.eq(1)]

        # The label, delayed to the sigmoid's output.
        delay = PASS_LOSS_LATENCY["logreg"]
        labels = [Signal(signed(label_bits(cfg)), name=f"label{k}") for k in range(delay)]
        m.d.sync += [labels[0].eq(self.target[:label_bits(cfg)].as_signed()),
                     *(labels[k].eq(labels[k - 1]) for k in range(1, delay))]
        m.d.comb += [self.residual_valid.eq(sigmoid.o.valid),
                     self.residual.eq(sigmoid.o.payload - labels[-1])]

        self._write_margin(m, margin, valid_margin)
        return m

    def _write_margin(self, m, margin, valid_margin):
        """The margin's ``sample_words`` words at the row's value words, from stage 2 on."""
        cfg = self.config
        word_bits, value_words = cfg.lanes * cfg.data_bits, cfg.sample_words
        row_addr = Signal.like(self.margin_wr_addr)  # the value words of the next row
        raw = margin.as_unsigned()
        with m.If(self.start):
            m.d.sync += row_addr.eq(self.row_words)
        with m.If(valid_margin):
            m.d.sync += row_addr.eq(row_addr + self.row_words + value_words)
        if value_words == 1:
            m.d.comb += [self.margin_wr_en.eq(valid_margin), self.margin_wr_addr.eq(row_addr),
                         self.margin_wr_data.eq(raw)]
            return
        left = Signal(range(value_words))  # words still to write after this cycle's
        addr = Signal.like(self.margin_wr_addr)
        rest = Signal(unsigned(value_words * word_bits))
        with m.If(valid_margin):
            m.d.comb += [self.margin_wr_en.eq(1), self.margin_wr_addr.eq(row_addr),
                         self.margin_wr_data.eq(raw)]
            m.d.sync += [left.eq(value_words - 1), addr.eq(row_addr + 1),
                         rest.eq(raw >> word_bits)]
        with m.Elif(left != 0):
            m.d.comb += [self.margin_wr_en.eq(1), self.margin_wr_addr.eq(addr),
                         self.margin_wr_data.eq(rest[:word_bits])]
            m.d.sync += [left.eq(left - 1), addr.eq(addr + 1), rest.eq(rest >> word_bits)]
