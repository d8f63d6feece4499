import numpy as np
import pytest
from amaranth.sim import Simulator

from qnu.gateware import TimingCore
from qnu.gateware.node import Node
from qnu.sim import scenarios
from qnu.sim.amaranth_bench import run_core
from qnu.sim.model import expected_events
from qnu.sim.scoreboard import check_lossless, check_lossy

CLOCK_HZ = 100_000_000
# the small-board core: flat merger, 32-bit pulse phase, no fast steps
SMALL = Node.small_core_args()
CORES = {"large": {}, "small": SMALL}


@pytest.mark.parametrize("name,n,channels,size", [
    *[(name, 2, 3, "large") for name in scenarios.SCENARIOS if name != "limits"],
    ("limits", 8, 8, "large"),
    ("every_position", 16, 3, "large"),     # the ULX3S: 16 samples per core cycle
    ("poisson", 16, 3, "large"),
    *[(name, 2, 4, "small") for name in scenarios.SCENARIOS if name != "limits"],
    # the longest delay at N=2 takes 32768 cycles: a minute in the simulator
    pytest.param("limits", 2, 4, "small", marks=pytest.mark.slow),
])
def test_core_scenario(name, n, channels, size):
    bin_ps = 10 ** 12 // (CLOCK_HZ * n)
    core = TimingCore(channels=channels, samples_per_cycle=n, clock_hz=CLOCK_HZ, **CORES[size])
    sc = scenarios.make(name, seed=7, channels=channels, samples_per_cycle=n, bin_ps=bin_ps, scale=0.5)
    run = run_core(core, sc.waveforms, sc.settings, cycles=sc.cycles, bin_ps=bin_ps,
                   ready=sc.ready, drain=sc.drain)
    expected = expected_events(sc.waveforms, sc.settings, bin_ps=bin_ps, samples_per_cycle=n,
                               start_tick=run.first_tick)
    assert expected
    if sc.lossy:
        delivered, lost = check_lossy(run.events, expected, event_counts=run.event_counts,
                                      lost_counts=run.lost_counts)
        assert delivered and lost
    else:
        check_lossless(run.events, expected, event_counts=run.event_counts, lost_counts=run.lost_counts)


@pytest.mark.parametrize("size", CORES)
def test_events_stay_in_order_across_time_loads_and_steps(size):
    """Events are ordered by when they happened, and stamped with the time then in force."""
    n, channels = 4, 3
    rng = np.random.default_rng(3)
    delays = [0, 13, 40]
    core = TimingCore(channels=channels, samples_per_cycle=n, **CORES[size])
    expected, got = [], []

    async def bench(ctx):
        for c in range(channels):
            ctx.set(core.channel_config[c].enable, 1)
            ctx.set(core.channel_config[c].rising, 1)
            ctx.set(core.channel_config[c].delay, delays[c])
        ctx.set(core.events.ready, 1)
        high = [False] * channels
        for cycle in range(1200):
            ctx.set(core.load.valid, cycle == 300)
            ctx.set(core.load.payload, 5)
            ctx.set(core.adjust.valid, cycle == 700)
            ctx.set(core.adjust.payload, -37)
            now = ctx.get(core.now)
            word = 0
            for c in range(channels):
                if not high[c] and cycle < 1100 and rng.random() < 0.2:
                    p = int(rng.integers(n))
                    word |= (((1 << n) - 1) ^ ((1 << p) - 1)) << (c * n)
                    expected.append((cycle * n + p + delays[c], c, now + p + delays[c]))
                    high[c] = True
                else:
                    high[c] = False
            ctx.set(core.samples.as_value(), word)
            _, _, valid, payload = await ctx.tick().sample(core.events.valid, core.events.payload)
            if valid:
                got.append((payload.channel, payload.timestamp))

    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    expected.sort()
    assert got == [(c, ts) for _, c, ts in expected]
    assert any(ts < 1000 for _, ts in got[len(got) // 3:]), "the load never showed"


def test_pulse_output_marks_each_second():
    n, clock_hz = 4, 1_000_000          # a 1 MHz core: one second is 4e6 ticks
    core = TimingCore(channels=1, samples_per_cycle=n, clock_hz=clock_hz)

    async def bench(ctx):
        ctx.set(core.load.valid, 1)
        ctx.set(core.load.payload, 3 * n * clock_hz - 500 * n + 3)
        await ctx.tick()
        ctx.set(core.load.valid, 0)
        seen = []
        for _ in range(1000):
            if ctx.get(core.pulse):
                seen.append(ctx.get(core.now) + ctx.get(core.pulse_offset))
            await ctx.tick()
        assert seen == [3 * n * clock_hz]

    sim = Simulator(core)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("n,channels,size", [(1, 2, "large"), (8, 2, "large"), (16, 2, "large"), (4, 16, "large"), (2, 5, "large"),
                                            (2, 4, "small"), (1, 2, "small")])
def test_latency(n, channels, size):
    core = TimingCore(channels=channels, samples_per_cycle=n, **CORES[size])

    async def bench(ctx):
        ctx.set(core.channel_config[1].enable, 1)
        ctx.set(core.channel_config[1].rising, 1)
        ctx.set(core.events.ready, 1)
        await ctx.tick().repeat(10)
        ctx.set(core.samples[1], 1 << (n - 1))
        for cycles in range(1, 40):
            await ctx.tick()
            ctx.set(core.samples[1], 0)
            if ctx.get(core.events.valid):
                break
        assert cycles == core.latency

    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("size", CORES)
def test_sustains_one_event_per_cycle(size):
    """Four channels, each firing every fourth cycle in turn: one event every cycle, none lost."""
    n, channels, cycles = 2, 4, 400
    core = TimingCore(channels=channels, samples_per_cycle=n, **CORES[size])
    valid_cycles = []

    async def bench(ctx):
        for c in range(channels):
            ctx.set(core.channel_config[c].enable, 1)
            ctx.set(core.channel_config[c].rising, 1)
        ctx.set(core.events.ready, 1)
        for cycle in range(cycles + 40):
            c = cycle % channels
            word = (0b11 << (c * n)) if cycle < cycles else 0      # rising at sample 0, high one cycle
            ctx.set(core.samples.as_value(), word)
            _, _, valid = await ctx.tick().sample(core.events.valid)
            valid_cycles.append(valid)

    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert sum(valid_cycles) == cycles
    first = valid_cycles.index(1)
    assert all(valid_cycles[first:first + cycles]), "a bubble in the stream"


def test_late_stamps_keep_the_time_of_each_generation_and_report_a_busy_one():
    """Late stamps: events queued across a load keep the time they were tagged
    under, and ``time_busy`` is high exactly while the previous generation
    still has entries queued (the node then refuses another time change)."""
    n, channels = 2, 2
    core = TimingCore(channels=channels, samples_per_cycle=n, fifo_depth=4, **SMALL)
    expected, got, busy = [], [], {}

    async def bench(ctx):
        for c in range(channels):
            ctx.set(core.channel_config[c].enable, 1)
            ctx.set(core.channel_config[c].rising, 1)
        for cycle in range(400):
            ctx.set(core.load.valid, cycle == 120)
            ctx.set(core.load.payload, 1_000_000)
            ctx.set(core.events.ready, cycle >= 200)       # held back: entries wait in the queues
            fire = cycle % 10 == 0 and (cycle < 100 or 130 <= cycle < 170)
            c = cycle // 10 % 2
            ctx.set(core.samples.as_value(), 0b10 << (c * n) if fire else 0)
            if fire:
                expected.append((c, ctx.get(core.now) + 1))
            busy[cycle] = ctx.get(core.time_busy)
            _, _, valid, payload = await ctx.tick().sample(core.events.valid, core.events.payload)
            if valid and cycle >= 200:
                got.append((payload.channel, payload.timestamp))

    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == expected
    assert expected[9][1] < 1000 and expected[10][1] > 1_000_000     # both generations are in there
    assert not any(busy[c] for c in range(121)), "busy before any time change"
    assert all(busy[c] for c in range(122, 200)), "not busy while entries from before the load wait"
    assert not busy[399], "still busy after the queues drained"
