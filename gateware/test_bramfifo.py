"""BufferedFIFO behaves as SyncFIFOBuffered, cycle for cycle."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import fifo
from amaranth.sim import Simulator

from qnu.gateware.bramfifo import BufferedFIFO


@pytest.mark.parametrize("depth", [2, 3, 8, 32])
def test_matches_sync_fifo_buffered(depth):
    m = Module()
    ours = m.submodules.ours = BufferedFIFO(width=12, depth=depth)
    ref = m.submodules.ref = fifo.SyncFIFOBuffered(width=12, depth=depth)
    rng = random.Random(depth)

    async def bench(ctx):
        for cycle in range(3000):
            # phases of mostly writing and mostly reading, so it fills and drains
            bias = 0.8 if (cycle // 200) % 2 else 0.2
            w_en, r_en, data = rng.random() < bias, rng.random() > bias, rng.randrange(4096)
            for f in (ours, ref):
                ctx.set(f.w_en, w_en)
                ctx.set(f.w_data, data)
                ctx.set(f.r_en, r_en)
            for name in ("w_rdy", "w_level", "r_rdy", "r_level", "level"):
                assert ctx.get(getattr(ours, name)) == ctx.get(getattr(ref, name)), (cycle, name)
            if ctx.get(ref.r_rdy):
                assert ctx.get(ours.r_data) == ctx.get(ref.r_data), cycle
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
