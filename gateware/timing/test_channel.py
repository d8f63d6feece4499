import numpy as np
import pytest
from amaranth.sim import Simulator

from qnu.gateware.timing.channel import TaggerChannel
from qnu.gateware.timing.event import EventKind
from qnu.sim.model import ChannelSettings, Waveform, expected_events, RISING, FALLING
from qnu.sim.stimulus import word_stream

KIND = {EventKind.RISING: RISING, EventKind.FALLING: FALLING, EventKind.OVERFLOW: "overflow"}


def simulate(n, settings, words, *, depth=8, ready=lambda cycle: True, extra=100, time0=1000,
             config_changes=None):
    """Drive a lone channel; return its queue's entries as (key, timestamp, kind, lost)."""
    dut = TaggerChannel(samples_per_cycle=n, depth=depth)
    out = []
    counts = {}

    def apply(ctx, s):
        ctx.set(dut.config.enable, s.enable)
        ctx.set(dut.config.rising, s.rising)
        ctx.set(dut.config.falling, s.falling)
        ctx.set(dut.config.delay, s.delay)
        ctx.set(dut.config.dead_time, s.dead_time)

    async def bench(ctx):
        apply(ctx, settings)
        for cycle in range(len(words) + extra):
            if config_changes and cycle in config_changes:
                apply(ctx, config_changes[cycle])
            ctx.set(dut.samples, words[cycle] if cycle < len(words) else 0)
            ctx.set(dut.time, time0 + cycle * n)
            ctx.set(dut.local, (7 + cycle * n) % 2**32)
            ctx.set(dut.events.ready, ready(cycle))
            _, _, valid, rdy, payload = await ctx.tick().sample(dut.events.valid, dut.events.ready,
                                                                 dut.events.payload)
            if valid and rdy:
                out.append((payload.key, payload.timestamp, KIND[payload.kind], payload.lost))
        counts["events"] = ctx.get(dut.event_count)
        counts["lost"] = ctx.get(dut.lost_count)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out, counts


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
def test_channel_matches_model(n):
    rng = np.random.default_rng(n)
    bin_ps = 1000
    for trial in range(4):
        settings = ChannelSettings(rising=bool(trial != 1), falling=bool(trial >= 1),
                                   delay=int(rng.integers(0, 40)), dead_time=int(rng.integers(0, 3 * n)))
        starts = np.sort(rng.choice(np.arange(10_000, 600 * n * bin_ps), size=120, replace=False))
        wf = Waveform.from_pulses(starts, rng.integers(1, 3 * n * bin_ps, size=120))
        words = word_stream({0: wf}, 1, bin_ps=bin_ps, samples_per_cycle=n, first_tick=1000, cycles=700)
        out, counts = simulate(n, settings, words, depth=64)
        want = expected_events({0: wf}, {0: settings}, bin_ps=bin_ps, samples_per_cycle=n, start_tick=1000)
        assert [(t, k) for _, t, k, _ in out] == [(e.timestamp, e.kind) for e in want]
        # keys follow the local count, which runs 1000 - 7 ticks behind the time
        assert [key for key, *_ in out] == [t - 993 for _, t, _, _ in out]
        assert counts == {"events": len(want), "lost": 0}


def test_full_queue_loses_nothing_silently():
    n, depth = 4, 4
    # a rising edge every 2 cycles
    words = [0b0001 if c % 2 == 0 else 0 for c in range(200)]
    out, counts = simulate(n, ChannelSettings(), words, depth=depth,
                           ready=lambda cycle: cycle > 150, extra=300)
    delivered = [e for e in out if e[2] == RISING]
    markers = [e for e in out if e[2] == "overflow"]
    assert len(delivered) + sum(m[3] for m in markers) == 100 == counts["events"]
    assert counts["lost"] == sum(m[3] for m in markers) > 0
    # the marker sits where the gap is and carries the first lost timestamp
    expected_ts = [1000 + 8 * i for i in range(100)]
    pos = 0
    for key, ts, kind, lost in out:
        assert ts == expected_ts[pos]
        pos += lost if kind == "overflow" else 1
    assert pos == 100


def test_delay_decrease_waits_for_a_long_enough_pause():
    n = 2
    # rising edges every 4 cycles (8 ticks) until cycle 100, then every 40 cycles
    words = [0b01 if (c % 4 == 0 if c < 100 else c % 40 == 0) else 0 for c in range(300)]
    # lower the delay by 50 ticks at cycle 20, while events are queued
    out, _ = simulate(n, ChannelSettings(delay=100), words, depth=64,
                      ready=lambda cycle: not 10 <= cycle < 60,
                      config_changes={20: ChannelSettings(delay=50)})
    stamps = [ts - 1000 for _, ts, _, _ in out]
    assert stamps == sorted(stamps), "the queue went out of order"
    detected = [c * n for c in range(300) if words[c]]
    # old delay while the gaps are 8 ticks; the new one after the first 50-tick pause
    first_new = next(i for i, t in enumerate(detected) if t - detected[i - 1] >= 50)
    assert stamps == [t + 100 for t in detected[:first_new]] + [t + 50 for t in detected[first_new:]]


@pytest.mark.parametrize("cycles_apart", [8191, 8192])
def test_largest_delay_decrease_needs_the_full_pause(cycles_apart):
    """The pause counter saturates (it must not wrap as a tick difference
    would); a decrease by the largest step applies once the pause from the
    last event to the start of a word reaches the step, not a word sooner."""
    n, step = 8, 2 ** 16 - 1
    first, second = 10, 10 + cycles_apart          # words with a rising edge at sample 0
    words = [0] * first + [1] + [0] * (cycles_apart - 1) + [0xFF] * 20
    out, _ = simulate(n, ChannelSettings(delay=step), words, depth=8, extra=20,
                      config_changes={first + 5: ChannelSettings(delay=0)})
    stamps = [ts - 1000 for _, ts, _, _ in out]
    new_delay = 0 if cycles_apart * n >= step else step
    assert stamps == [first * n + step, second * n + new_delay]
