import random

import pytest
from amaranth.sim import Simulator

from qnu.gateware.outputs.pulse_shaper import PulseShaper


def ideal_waveform(starts, width, ticks):
    """The output, fine tick by fine tick: high for ``width`` ticks from each
    start (a later start extends it)."""
    wave = [0] * ticks
    for start in starts:
        for t in range(start, min(start + width, ticks)):
            wave[t] = 1
    return wave


@pytest.mark.parametrize("n,width", [(1, 1), (2, 1), (2, 5), (4, 3), (4, 4), (8, 1), (8, 21), (16, 1), (16, 37)])
def test_pulse_lands_on_its_tick(n, width):
    rng = random.Random(n * 100 + width)
    cycles = 200
    # pulses at random ticks, some closer together than the width
    pulse_cycles = sorted(rng.sample(range(cycles - 10), 25))
    pulses = {c: rng.randrange(n) for c in pulse_cycles}
    starts = [c * n + o for c, o in pulses.items()]
    dut = PulseShaper(n, width)
    got = []

    async def bench(ctx):
        for cycle in range(cycles):
            ctx.set(dut.pulse, cycle in pulses)
            ctx.set(dut.offset, pulses.get(cycle, 0))
            word = ctx.get(dut.samples)
            got.extend((word >> i) & 1 for i in range(n))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == ideal_waveform(starts, width, cycles * n)


def test_width_must_be_positive():
    with pytest.raises(ValueError, match="at least one"):
        PulseShaper(4, 0)
