"""Drive one valid/ready pipeline unit in the Amaranth simulator, with back-pressure."""

from amaranth.sim import Simulator


def stream_through(dut, payloads, ready_pattern, *, constants=(), read=None):
    """Offer ``payloads`` on ``dut.i`` one after another while ``ready_pattern(cycle)`` drives
    ``dut.o.ready``; return the outputs in order and the cycle of the first.

    ``constants`` lists ``(port, value)`` pairs of static inputs; ``read(ctx, payload)`` turns an
    output payload into the value kept (default: ``ctx.get``).
    """
    outputs, first = [], []

    async def testbench(ctx):
        for port, value in constants:
            ctx.set(port, value)
        sent, cycle = 0, 0
        while len(outputs) < len(payloads):
            ctx.set(dut.i.valid, sent < len(payloads))
            ctx.set(dut.i.payload, payloads[min(sent, len(payloads) - 1)])
            ctx.set(dut.o.ready, ready_pattern(cycle))
            await ctx.delay(1e-9)  # let the combinational ready settle before sampling
            accepted = sent < len(payloads) and ctx.get(dut.i.ready)
            if ctx.get(dut.o.valid) and ctx.get(dut.o.ready):
                outputs.append(read(ctx, dut.o.payload) if read else ctx.get(dut.o.payload))
                first.append(cycle)
            await ctx.tick()
            sent += accepted
            cycle += 1

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return outputs, first[0]
