"""The attempt loop against its reference model (sim/sequencer_model.py)."""

import random

import pytest
from amaranth.sim import Simulator

from qnu.gateware.outputs import AttemptLoop, AttemptState, StopReason
from qnu.sim.sequencer_model import AttemptModel, PatternPulse, words, LEAD_CYCLES

REASONS = {"count": StopReason.COUNT, "input": StopReason.INPUT, "late_start": StopReason.LATE_START,
           "host": StopReason.HOST}


def run_loop(outputs, n, *, now0, start_cycle, start_time, period, count, pattern, cycles,
             stop_channel=None, stop_edge=None, host_stop_cycle=None, channels=2, entries=12):
    dut = AttemptLoop(outputs, channels, n, entries=entries)
    got, starts = [], []
    final = {}

    async def bench(ctx):
        ctx.set(dut.start_time, start_time)
        ctx.set(dut.period, period)
        ctx.set(dut.count, count)
        for i, p in enumerate(pattern):
            ctx.set(dut.pattern[i], {"offset": p.offset, "output": p.output, "width": p.width, "enable": 1,
                                     "on_success": int(p.on_success)})
        if stop_channel is not None:
            ctx.set(dut.stop_enable, 1)
            ctx.set(dut.stop_channel, stop_channel)
        for c in range(cycles):
            now = now0 + n * c
            ctx.set(dut.now, now)
            ctx.set(dut.start, c == start_cycle)
            ctx.set(dut.stop, c == host_stop_cycle)
            if stop_edge is not None:
                # the stop input goes high at tick stop_edge and stays high
                word = sum(1 << i for i in range(n) if now + i >= stop_edge)
                ctx.set(dut.inputs[stop_channel], word)
            got.append([ctx.get(dut.samples[k]) for k in range(outputs)])
            if ctx.get(dut.attempt):
                starts.append(now + n * (LEAD_CYCLES + 1) - n + ctx.get(dut.attempt_offset))
            await ctx.tick()
        final.update(state=ctx.get(dut.state), reason=ctx.get(dut.reason), attempts=ctx.get(dut.attempts),
                     fits=ctx.get(dut.pattern_fits))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got, starts, final


def check(outputs, n, *, now0=0, start_cycle=5, cycles=400, **kw):
    host_stop = kw.get("host_stop_cycle")
    got, starts, final = run_loop(outputs, n, now0=now0, start_cycle=start_cycle, cycles=cycles, **kw)
    model_kw = {key: kw[key] for key in ("start_time", "period", "count", "pattern")}
    expect = AttemptModel(outputs, n).run(now0=now0, start_cycle=start_cycle, stop_edge=kw.get("stop_edge"),
                                          host_stop_cycle=host_stop, **model_kw)
    assert starts == expect.starts
    for k in range(outputs):
        # the block's word in cycle c is on the node's port in cycle c + 1, whose span starts there
        firsts = [now0 + n * (c + 1) for c in range(1, cycles)]
        want = words(expect.waveforms[k], firsts, n)
        seen = [got[c][k] for c in range(1, cycles)]
        assert seen == want, f"output {k}: first difference at cycle {next(i for i in range(len(want)) if seen[i] != want[i]) + 1}"
    assert final["attempts"] == len(expect.starts)
    if final["state"] == AttemptState.IDLE:
        assert final["reason"] == REASONS[expect.reason]
    return got, starts, final, expect


PATTERN = [PatternPulse(0, 0, 3), PatternPulse(1, 5, 2), PatternPulse(0, 9, 1), PatternPulse(2, 12, 7),
           PatternPulse(3, 1, 1), PatternPulse(1, 20, 4), PatternPulse(2, 30, 2), PatternPulse(3, 33, 3)]


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
def test_pattern_replays_every_period_for_count_attempts(n):
    start = 40 * n + n // 2 + 1
    _, starts, final, _ = check(4, n, start_time=start, period=40, count=6, pattern=PATTERN, cycles=400 // n + 60)
    assert len(starts) == 6 and final["reason"] == StopReason.COUNT
    assert all(b - a == 40 for a, b in zip(starts, starts[1:]))


@pytest.mark.parametrize("period", [16, 17, 41])
def test_periods_down_to_the_pattern_length(period):
    """Eight pulses on one output, back to back, the period just the pattern's length."""
    n = 4
    pattern = [PatternPulse(0, 2 * i, 2) for i in range(8)]
    check(1, n, start_time=100, period=period, count=5, pattern=pattern, cycles=120)


def test_random_patterns():
    rng = random.Random(3)
    for trial in range(6):
        n = rng.choice([2, 4, 8])
        period = rng.randrange(2 * n, 80)
        pattern = []
        for _ in range(rng.randrange(1, 10)):
            width = rng.randrange(1, 12)
            pattern.append(PatternPulse(rng.randrange(4), rng.randrange(0, max(1, period - width)), width))
        pattern = [p for p in pattern if p.offset + p.width <= period][:12]
        check(4, n, start_time=rng.randrange(20 * n, 40 * n), period=period, count=rng.randrange(1, 8),
              pattern=pattern, cycles=60 + 8 * period // n)


@pytest.mark.parametrize("phase", range(0, 40, 3))
def test_stop_input_at_every_phase_fires_the_success_pattern(phase):
    n, period = 4, 40
    pattern = PATTERN[:4] + [PatternPulse(3, 0, 5, on_success=True), PatternPulse(2, 6, 2, on_success=True)]
    start = 60
    edge = start + 2 * period + phase
    _, starts, final, expect = check(4, n, start_time=start, period=period, count=0, pattern=pattern,
                                     cycles=120, stop_channel=1, stop_edge=edge)
    assert final["reason"] == StopReason.INPUT and expect.reason == "input"
    # the documented bound: no attempt starting that long after the edge
    latency = AttemptLoop.stop_latency_ticks(n)
    assert all(s < edge + latency for s in starts)
    assert expect.success_at - edge <= latency


def test_late_start_plays_nothing():
    n = 4
    got, starts, final, expect = check(2, n, now0=1000, start_cycle=5, start_time=1000, period=20, count=3,
                                       pattern=PATTERN[:2], cycles=60)
    assert starts == [] and final["reason"] == StopReason.LATE_START
    assert not any(any(w) for w in got)


def test_host_stop_ends_the_run():
    n = 4
    _, starts, final, _ = check(2, n, start_time=80, period=20, count=0, pattern=PATTERN[:2], cycles=100,
                                host_stop_cycle=50)
    assert final["reason"] == StopReason.HOST and final["state"] == AttemptState.IDLE
    assert 0 < len(starts) < 10


def test_pattern_that_overruns_its_period_is_flagged():
    _, _, final, _ = check(1, 4, start_time=100, period=10, count=1, pattern=[PatternPulse(0, 8, 3)], cycles=60)
    assert not final["fits"]
    _, _, final, _ = check(1, 4, start_time=100, period=11, count=1, pattern=[PatternPulse(0, 8, 3)], cycles=60)
    assert final["fits"]
