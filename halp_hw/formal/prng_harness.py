"""Property: every xorshift32 stream of the design seeds and steps as the contract says."""

from __future__ import annotations

from amaranth import Signal
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert

from halp_hw.hdl.prng import Xorshift32
from halp_hw.hdl.rows import SampleRowSource
from halp_hw.hdl.vector import VectorUnit

from .harness import PropertyHarness, children_of_type, elaborate_block
from .spec import contract_stream_start, xorshift32

__all__ = ["LanePrngHarness", "SamplePrngHarness"]

#: The contract's stream of sample indices; lane ``l`` draws from stream ``1 + l``.
SAMPLE_STREAM_NUMBER = 0


def check_streams(m, generators, streams, *, seed, load, advance) -> list:
    """A spec state register per stream, started where seed 0 puts it, loaded with
    ``seed ^ key`` (or ``key``) and advanced by xorshift32; each block's ``state`` equals it in
    every cycle and its ``next_state`` is xorshift32 of it. Returns the spec state registers."""
    if len(generators) != len(streams):
        raise AssertionError(f"found {len(generators)} xorshift32 blocks, expected {len(streams)}")
    states = []
    for generator, stream in zip(generators, streams):
        expected = Signal(32, name=f"spec_state_{stream}",
                          init=contract_stream_start(0, stream))
        with m.If(load):
            m.d.sync += expected.eq(contract_stream_start(seed, stream))
        with m.Elif(advance):
            m.d.sync += expected.eq(xorshift32(expected))
        m.d.comb += [Assert(generator.state == expected, f"stream {stream}: state"),
                     Assert(generator.next_state == xorshift32(expected),
                            f"stream {stream}: next state")]
        states.append(expected)
    return states


class LanePrngHarness(PropertyHarness):
    """Each lane's stochastic-rounding source inside the vector unit is stream ``1 + l``.

    Seeds, loads and beats are free in every cycle; the vector unit's lane PRNGs are found in
    its elaborated fragment. k-induction closes at k = 1 (the states are compared directly).

    Parameters
    ----------
    config : HardwareConfig
        The build (its lane count).
    """

    def check(self, m, platform):
        vector = VectorUnit(config=self.config)
        fragment = elaborate_block(vector, platform)
        m.submodules.vector = fragment
        seed, load, valid = AnySeq(32), AnySeq(1), AnySeq(1)
        m.d.comb += [vector.seed.eq(seed), vector.load.eq(load), vector.valid.eq(valid)]
        check_streams(m, children_of_type(fragment, Xorshift32),
                      [1 + lane for lane in range(self.config.lanes)],
                      seed=seed, load=load, advance=valid)


class SamplePrngHarness(PropertyHarness):
    """The sample-order source draws from stream 0.

    The contract (``docs/datapath.md``): after a ``load`` and after each row address is taken
    from the ``rows`` stream, the next address is produced; with the xorshift32 order that
    advances stream 0 once, two cycles after the load or in the cycle after the take; a load
    in the cycle of the decision or of the draw wins. The seed, loads, the order choice, the
    stream's ``ready``, ``n``, ``row_words`` and the order memory are free in every cycle.
    k-induction closes at k = 3: the harness's registers of ``load`` and of the pending draw
    agree with the block's after the first two cycles of the window.

    Parameters
    ----------
    config : HardwareConfig
        The build.
    """

    def check(self, m, platform):
        rows = SampleRowSource(config=self.config)
        fragment = elaborate_block(rows, platform)
        m.submodules.rows = fragment
        seed, load, host_order = AnySeq(32), AnySeq(1), AnySeq(1)
        m.d.comb += [rows.seed.eq(seed), rows.load.eq(load), rows.host_order.eq(host_order),
                     rows.rows.ready.eq(AnySeq(1)), rows.n.eq(AnySeq(rows.n.shape())),
                     rows.row_words.eq(AnySeq(rows.row_words.shape())),
                     rows.order.request.ready.eq(AnySeq(1)),
                     rows.order.response.valid.eq(AnySeq(1)),
                     rows.order.response.payload.eq(AnySeq(rows.order.response.payload.shape()))]
        after_load, draw = Signal(), Signal()
        taken = rows.rows.valid & rows.rows.ready
        m.d.sync += [after_load.eq(load),
                     draw.eq((after_load | taken) & ~host_order & ~load)]
        check_streams(m, children_of_type(fragment, Xorshift32), [SAMPLE_STREAM_NUMBER],
                      seed=seed, load=load, advance=draw)
