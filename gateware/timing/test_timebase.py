import random

import pytest
from amaranth.sim import Simulator

from qnu.gateware.timing.timebase import Timebase, MIN_PERIOD
from qnu.gateware.timing.event import TIME_WIDTH

RESYNC_CYCLES = TIME_WIDTH + 2     # the divider's steps, its final sum and its reduction


class TimebaseModel:
    """The timebase's specification, cycle by cycle. ``fast_steps=False``: every
    step resynchronises, as a load does (a small board's timebase)."""

    def __init__(self, n, period, fast_steps=True):
        self.n, self.period, self.time = n, period, 0
        self.fast_steps = fast_steps
        # a small board's phase runs a cycle ahead (its pulse is a register): one cycle more
        self.resync_cycles = RESYNC_CYCLES + (not fast_steps)
        self.resync_left = 0            # cycles of suppressed pulses still to come
        self.resync_start = None        # time of the first suppressed cycle
        self.missed = 0

    def outputs(self):
        """(pulse, offset) in the current cycle."""
        if self.resync_left:
            return 0, None
        offset = (-self.time) % self.period
        return (1, offset) if offset < self.n else (0, None)

    def step(self, load=None, adjust=None, period=None):
        """Advance one cycle with this cycle's inputs. A time change during a
        resynchronisation restarts it, and its window is not scored."""
        busy = self.resync_left > 0
        period_changed = period != self.period
        if load is not None:
            self.time = load
            restart = True
        elif adjust is not None:
            self.time += self.n + adjust
            restart = not self.fast_steps or abs(adjust) >= self.period or busy or period_changed
        else:
            self.time += self.n
            restart = period_changed
            if busy and not restart:
                self.resync_left -= 1
                if self.resync_left == 0 and (-self.resync_start) % self.period < self.resync_cycles * self.n:
                    self.missed += 1
        self.period = period
        if restart:
            self.resync_left = self.resync_cycles
            self.resync_start = self.time


def run_against_model(dut, model, inputs, cycles):
    """Drive ``dut`` for ``cycles`` cycles with ``inputs(cycle)`` -> (load, adjust,
    period), checking every output against ``model`` each cycle; the pulses seen."""
    pulses_seen = 0

    async def bench(ctx):
        nonlocal pulses_seen
        for cycle in range(cycles):
            load, adjust, new_period = inputs(cycle)
            ctx.set(dut.load.valid, load is not None)
            ctx.set(dut.load.payload, load or 0)
            ctx.set(dut.adjust.valid, adjust is not None)
            ctx.set(dut.adjust.payload, adjust or 0)
            ctx.set(dut.period, new_period)

            assert ctx.get(dut.time) == model.time, f"cycle {cycle}"
            pulse, offset = model.outputs()
            assert ctx.get(dut.pulse) == pulse, f"cycle {cycle}: time {model.time}, period {model.period}"
            if pulse:
                pulses_seen += 1
                assert ctx.get(dut.pulse_offset) == offset
            assert ctx.get(dut.pulses_missed) == model.missed
            model.step(load, adjust, new_period)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return pulses_seen


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
def test_timebase_against_model(n):
    rng = random.Random(n)
    period = rng.randrange(MIN_PERIOD, 2 * MIN_PERIOD)
    dut = Timebase(n, default_period=period)
    model = TimebaseModel(n, period)

    def inputs(cycle):
        op = rng.random()
        load = adjust = None
        new_period = model.period
        if cycle == 0 or op < 0.004:    # loads keep the time far from zero
            load = rng.randrange(2 ** 36, 2 ** 40)
        elif op < 0.02:
            adjust = rng.randrange(-model.period + 1, model.period)
        elif op < 0.024:
            adjust = rng.choice([-1, 1]) * rng.randrange(model.period, 10 * model.period)
        elif op < 0.027:
            new_period = rng.randrange(MIN_PERIOD, 2 * MIN_PERIOD)
        return load, adjust, new_period

    assert run_against_model(dut, model, inputs, 8000) >= 3


@pytest.mark.parametrize("fast_steps", [True, False])
def test_small_timebase_against_model(fast_steps):
    """The 32-bit pulse phase (period_width=32) against the timebase's model, with periods
    of 2**31 ticks and more (their top bit set) and steps of nearly a period either way;
    with and without the small-step path (without it, every step resynchronises)."""
    n, rng = 2, random.Random(11)
    period = 2 ** 32 - 12_345
    dut = Timebase(n, default_period=period, period_width=32, fast_steps=fast_steps)
    model = TimebaseModel(n, period, fast_steps=fast_steps)

    def inputs(cycle):
        op, load, adjust = rng.random(), None, None
        new_period = model.period
        if cycle % 500 == 0:                # just before a boundary, past the resync
            load = rng.randrange(1, 2 ** 30) * model.period - rng.randrange(200, 600)
        elif cycle % 500 < 350:             # let the pulse come
            pass
        elif cycle % 500 == 350:            # a step of up to a period either way, to just before a boundary
            adjust = (-rng.randrange(20, 100) - model.time - n) % model.period
            adjust -= model.period * (rng.random() < 0.5 and adjust > 0)
        elif op < 0.036:
            adjust = rng.choice([-1, 1]) * rng.randrange(model.period, 4 * model.period)
        elif op < 0.04:
            new_period = rng.randrange(2 ** 31, 2 ** 32)
        return load, adjust, new_period

    assert run_against_model(dut, model, inputs, 6000) >= 5


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_timebase_rejects_bad_parameters():
    with pytest.raises(ValueError, match="samples_per_cycle"):
        Timebase(3, default_period=10_000)
    with pytest.raises(ValueError, match="period"):
        Timebase(4, default_period=100)


@pytest.mark.parametrize("fast_steps", [True, False])
@pytest.mark.parametrize("before,missed", [
    (40, 1),                        # a boundary 10 cycles after the load: inside the window
    (0, 1),                         # the load lands on a boundary: the window's first tick
    (-2, 1),                        # the window's last tick but one
    (+3, 0),                        # just after the window: pulsed on time
])
def test_pulse_due_during_resync_is_counted(fast_steps, before, missed):
    """The resync window is RESYNC_CYCLES, one more on a small board (its phase runs a cycle ahead)."""
    n, period = 4, 10_000
    window = (RESYNC_CYCLES + (not fast_steps)) * n
    if before < 0 or (before > 0 and before < 10):
        before += window
    dut = Timebase(n, default_period=period, fast_steps=fast_steps)

    async def bench(ctx):
        ctx.set(dut.load.valid, 1)
        ctx.set(dut.load.payload, 7 * period - before)
        await ctx.tick()
        ctx.set(dut.load.valid, 0)
        pulses = 0
        for _ in range(window // n):
            pulses += ctx.get(dut.pulse)
            await ctx.tick()
        assert pulses == 0
        assert ctx.get(dut.pulses_missed) == missed
        # and the next boundary is pulsed on time, at the right position
        while not ctx.get(dut.pulse):
            await ctx.tick()
        t = ctx.get(dut.time)
        assert t + ctx.get(dut.pulse_offset) == (7 + missed) * period

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_add3_is_a_modular_three_operand_sum():
    """The carry-save adder the timebase and the channel use, against Python's sum."""
    from amaranth.hdl import Module, Signal, signed
    from qnu.gateware.timing.event import add3
    width = 12
    a, b, c = Signal(9), Signal(signed(7)), Signal(signed(width))
    out = Signal(signed(width))
    m = Module()
    m.d.comb += out.eq(add3(a, b, c, width))
    m.d.comb += Signal().eq(add3(a, -5, 3, width) == 0)     # constants, negative ones too
    rng = random.Random(3)

    async def bench(ctx):
        for _ in range(500):
            va, vb, vc = rng.randrange(2 ** 9), rng.randrange(-64, 64), rng.randrange(-2048, 2048)
            ctx.set(a, va)
            ctx.set(b, vb)
            ctx.set(c, vc)
            expected = (va + vb + vc) % 2 ** width
            assert ctx.get(out) % 2 ** width == expected

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
