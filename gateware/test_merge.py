from collections import deque

import numpy as np
import pytest
from amaranth.sim import Simulator

from qnu.gateware.merge import EventMerger
from qnu.gateware.event import EventKind

LATENCY = 4     # cycles from an event's tick to its entry being offered


@pytest.mark.parametrize("channels,n", [(1, 4), (5, 2), (16, 8)])
def test_merger_orders_every_entry(channels, n):
    rng = np.random.default_rng(channels)
    key_width = 12                  # small, so the keys wrap many times during the test
    dut = EventMerger(channels=channels, key_width=key_width, horizon=(LATENCY + 1) * n, ticks_per_cycle=n)
    delays = rng.integers(0, 60 * n, size=channels)
    cycles = 3000
    queues = [deque() for _ in range(channels)]
    sent, got = [], []

    async def bench(ctx):
        pending = [deque() for _ in range(channels)]
        for cycle in range(cycles + 400):
            local = cycle * n
            # new events this cycle, about 0.6 per cycle in all
            if cycle < cycles:
                for c in range(channels):
                    if rng.random() < 0.6 / channels:
                        tick = local + int(rng.integers(n))
                        entry = (tick + int(delays[c]), cycle)
                        pending[c].append((cycle + LATENCY, entry))
                        sent.append((entry[0], c))
            for c in range(channels):
                while pending[c] and pending[c][0][0] <= cycle:
                    queues[c].append(pending[c].popleft()[1])
                port = dut.inputs[c]
                ctx.set(port.valid, bool(queues[c]))
                if queues[c]:
                    ctx.set(port.payload.key, queues[c][0][0] % 2 ** key_width)
                    ctx.set(port.payload.timestamp, queues[c][0][0])
                    ctx.set(port.payload.kind, EventKind.RISING)
            ctx.set(dut.local, local % 2 ** key_width)
            ctx.set(dut.events.ready, rng.random() < 0.9)
            _, _, *sampled = await ctx.tick().sample(
                dut.events.valid, dut.events.ready, dut.events.payload,
                *[p.ready for p in dut.inputs])
            valid, ready, payload, *popped = sampled
            if valid and ready:
                got.append((payload.timestamp, payload.channel))
            for c in range(channels):
                if popped[c]:
                    queues[c].popleft()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(sent) > 1000
    assert got == sorted(sent)
