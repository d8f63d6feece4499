import random

import pytest
from amaranth.sim import Simulator

from qnu.gateware.hostlink.counters import CounterFile


@pytest.mark.parametrize("count,seed,slow", [(2, 1, 0), (5, 2, 0), (18, 3, 0), (14, 4, 10), (3, 5, 1)])
def test_every_read_is_exact(count, seed, slow):
    """Counters against plain Python counts: some counting every cycle, some rarely,
    read at random, in bursts as long as the file allows, every one exact. The
    ``slow`` last ones count at most once every 16 cycles, and as often as that."""
    rng = random.Random(seed)
    dut = CounterFile(count, max_stall=32, slow=slow)
    assert not slow or dut.slow_low_width < dut.low_width
    rates = [1.0, 0.5] + [rng.choice([0.0, 0.01, 0.3, 1.0]) for _ in range(count - 2)]
    counts = [0] * count
    checked = 0

    async def bench(ctx):
        nonlocal checked
        burst, rest = 0, 0
        cooldown = [0] * count
        previous = [0] * count
        for _ in range(3000):
            # reads in bursts of up to 32 consecutive cycles, at least `count` cycles apart
            if burst == 0 and rest == 0 and rng.random() < 0.05:
                burst = rng.randint(1, 32)
            reading, addr = burst > 0, rng.randrange(count)
            if reading:
                burst -= 1
                rest = count if burst == 0 else 0
            elif rest:
                rest -= 1
            incs = [rng.random() < rates[i] for i in range(count)]
            for i in range(count - slow, count):        # every 16th cycle, or a little later
                incs[i] = cooldown[i] == 0 and rng.random() < 0.9
                cooldown[i] = 15 if incs[i] else max(0, cooldown[i] - 1)
            ctx.set(dut.read, reading)
            ctx.set(dut.addr, addr)
            ctx.set(dut.inc, sum(b << i for i, b in enumerate(incs)))
            asked = counts[addr]                # the increments up to the previous cycle
            await ctx.tick()
            if reading:
                assert ctx.get(dut.data) == asked, f"counter {addr}"
                checked += 1
            for i, b in enumerate(previous):
                counts[i] += b
            previous = incs
        ctx.set(dut.inc, 0)
        for i, b in enumerate(previous):
            counts[i] += b
        await ctx.tick()
        for i in range(count):                  # the end: every counter
            ctx.set(dut.read, 1)
            ctx.set(dut.addr, i)
            await ctx.tick()
            assert ctx.get(dut.data) == counts[i]

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert checked > 300


def test_a_single_counter_is_refused():
    with pytest.raises(ValueError, match="at least two"):
        CounterFile(1)
