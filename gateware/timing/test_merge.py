from collections import deque

import numpy as np
import pytest
from amaranth.sim import Simulator

from qnu.gateware.timing.merge import EventMerger
from qnu.gateware.timing.event import EventKind

LATENCY = 4     # cycles from an event's tick to its entry being offered
# so every entry not yet offered at cycle m has a key of at least (m - LATENCY + 1) * n:
# the horizon is (LATENCY - 1) * n, as tight as it may be (TimingCore's is too)


def random_ready(rng, cycle):
    return rng.random() < 0.9


random_ready.rate = 0.6         # events per cycle, all channels together


def stalling_ready(rng, cycle):
    # long stalls (the keys age by up to 150 cycles) with bursts in between,
    # so every leaf and skid register fills and drains
    return cycle % 250 >= 150


stalling_ready.rate = 0.3


@pytest.mark.parametrize("channels,n,ready_fn", [(1, 4, random_ready), (5, 2, random_ready),
                                              (16, 8, random_ready), (16, 2, stalling_ready),
                                              (3, 4, stalling_ready)])
def test_merger_orders_every_entry(channels, n, ready_fn):
    rng = np.random.default_rng(channels)
    key_width = 12                  # small, so the keys wrap many times during the test
    dut = EventMerger(channels=channels, key_width=key_width, horizon=(LATENCY - 1) * n, ticks_per_cycle=n)
    delays = rng.integers(0, 60 * n, size=channels)
    cycles = 3000
    queues = [deque() for _ in range(channels)]
    sent, got = [], []

    async def bench(ctx):
        pending = [deque() for _ in range(channels)]
        for cycle in range(cycles + 400):
            local = cycle * n
            # new events this cycle
            if cycle < cycles:
                for c in range(channels):
                    if rng.random() < ready_fn.rate / channels:
                        tick = local + int(rng.integers(n))
                        # kind and lost vary per entry: they must leave with their own key
                        kind = [EventKind.RISING, EventKind.FALLING, EventKind.OVERFLOW][int(rng.integers(3))]
                        lost = int(rng.integers(2 ** 32))
                        entry = (tick + int(delays[c]), kind, lost)
                        pending[c].append((cycle + LATENCY, entry))
                        sent.append((entry[0], c, kind, lost))
            for c in range(channels):
                while pending[c] and pending[c][0][0] <= cycle:
                    queues[c].append(pending[c].popleft()[1])
                port = dut.inputs[c]
                ctx.set(port.valid, bool(queues[c]))
                if queues[c]:
                    ctx.set(port.payload.key, queues[c][0][0] % 2 ** key_width)
                    ctx.set(port.payload.timestamp, queues[c][0][0])
                    ctx.set(port.payload.kind, queues[c][0][1])
                    ctx.set(port.payload.lost, queues[c][0][2])
            ctx.set(dut.local, local % 2 ** key_width)
            ctx.set(dut.events.ready, ready_fn(rng, cycle))
            _, _, *sampled = await ctx.tick().sample(
                dut.events.valid, dut.events.ready, dut.events.payload,
                *[p.ready for p in dut.inputs])
            valid, ready, payload, *popped = sampled
            if valid and ready:
                got.append((payload.timestamp, payload.channel, payload.kind, payload.lost))
            for c in range(channels):
                if popped[c] and queues[c]:     # a transfer: valid (a head offered) and ready
                    queues[c].popleft()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(sent) > 800
    assert got == sorted(sent)


@pytest.mark.parametrize("channels", [1, 2, 5, 16])
def test_merger_latency(channels):
    """A lone entry, offered as soon as it is final, leaves after ``depth`` cycles,
    whichever channel it comes from; the FIFO pop never waits for the tree."""
    n = 4
    dut = EventMerger(channels=channels, key_width=32, horizon=(LATENCY - 1) * n, ticks_per_cycle=n)
    assert dut.depth == 2 + (channels - 1).bit_length()

    async def bench(ctx):
        ctx.set(dut.events.ready, 1)
        for c in range(channels):
            cycle = 20 + 30 * c
            for t in range(cycle - 20, cycle + 20):
                ctx.set(dut.local, t * n)
                offered = t == cycle
                # the newest key that can be offered now: the last tick of
                # the word LATENCY cycles ago
                ctx.set(dut.inputs[c].valid, offered)
                ctx.set(dut.inputs[c].payload.key, (cycle - LATENCY) * n + n - 1)
                ctx.set(dut.inputs[c].payload.timestamp, 1000 + c)
                if offered:
                    assert ctx.get(dut.inputs[c].ready)     # taken at once
                valid, payload = ctx.get(dut.events.valid), ctx.get(dut.events.payload)
                if valid:
                    assert t - cycle == dut.depth
                    assert (payload.timestamp, payload.channel) == (1000 + c, c)
                    await ctx.tick()
                    break
                await ctx.tick()
            else:
                raise AssertionError(f"channel {c}: no output")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
