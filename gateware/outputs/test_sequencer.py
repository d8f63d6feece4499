"""The sequencer against its reference model (sim/sequencer_model.py)."""

import random

import pytest
from amaranth.sim import Simulator

from qnu.gateware.outputs import Sequencer
from qnu.sim.sequencer_model import SequencerModel, words, QUEUE_LATENCY_CYCLES, LEAD_CYCLES
from qnu.wire import OutputAction, OutputEvent

A = OutputAction


def run_sequencer(outputs, n, pushes, now, depth=64):
    """Drive a Sequencer: ``pushes`` is (cycle, event) (an event waits while the
    queue is full), ``now`` the timebase per cycle. Returns the words seen per
    cycle (the sequencer's own register, one cycle after its decision), the
    cycles events were accepted in, the counters and the first-late latch."""
    dut = Sequencer(outputs, n, depth=depth)
    got, accepted = [], []
    final = {}

    async def bench(ctx):
        waiting = sorted(pushes, key=lambda p: p[0])
        for c, t in enumerate(now):
            ctx.set(dut.now, t)
            push = waiting[0] if waiting and waiting[0][0] <= c else None
            ctx.set(dut.push.valid, push is not None)
            if push:
                e = push[1]
                ctx.set(dut.push.payload, {"time": e.time, "output": e.output, "action": int(e.action),
                                           "width": e.width})
            got.append([ctx.get(dut.samples[k]) for k in range(outputs)])
            if push and ctx.get(dut.push.ready):
                accepted.append((c, push[1]))
                waiting.pop(0)
            await ctx.tick()
        final.update(played=ctx.get(dut.played_count), late=ctx.get(dut.late_count),
                     first_late=ctx.get(dut.first_late))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return got, accepted, final


def check(outputs, n, pushes, now, depth=64):
    got, accepted, final = run_sequencer(outputs, n, pushes, now, depth)
    model = SequencerModel(outputs, n)
    expect = model.run(accepted, now)
    plan = model.plan_ticks(now)
    # the word seen in cycle c was decided in cycle c - 2 (then registered twice), for its planned span
    firsts = [plan[c - 2] for c in range(3, len(now))]
    for k in range(outputs):
        want = words(expect.waveforms[k], firsts, n)
        seen = [got[c][k] for c in range(3, len(now))]
        assert seen == want, f"output {k}: first difference at cycle {next(i for i in range(len(want)) if seen[i] != want[i]) + 3}"
    assert final["played"] == len(expect.played)
    assert final["late"] == len(expect.late)
    if expect.late:
        first, by = expect.late[0]
        latch = final["first_late"]
        assert latch.valid and latch.output == first.output and latch.time == first.time
        assert latch.late_by == min(by, 2 ** 32 - 1)
    else:
        assert not final["first_late"].valid
    return expect, accepted


def steady(cycles, n, t0=0):
    return [t0 + n * c for c in range(cycles)]


def random_schedule(rng, outputs, n, cycles, count, start=40):
    """Events in time order on random outputs and samples, some simultaneous,
    some back to back, all queued early."""
    ticks = []
    t = start * n
    for _ in range(count):
        t += rng.choice([0, 0, 1, n, 2 * n, rng.randrange(1, 8 * n)])
        ticks.append(t)
    events = []
    for t in ticks:
        action = rng.choice(list(A))
        width = rng.randrange(1, 3 * n) if action == A.PULSE else 0
        events.append(OutputEvent(t, rng.randrange(outputs), action, width))
    return [(0, e) for e in events]


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
def test_random_schedules_play_as_the_model_says(n):
    rng = random.Random(n)
    outputs = 4
    pushes = random_schedule(rng, outputs, n, 600, 120)
    expect, _ = check(outputs, n, pushes, steady(700, n))
    # every event is played or late (two on one output within a cycle: the second is late)
    assert len(expect.played) + len(expect.late) == 120 and len(expect.played) > 30


def test_every_sample_position_on_every_output():
    n, outputs = 8, 4
    pushes = []
    for k in range(outputs):
        for offset in range(n):
            pushes.append((0, OutputEvent((60 + 3 * offset) * n + offset, k, A.PULSE, 1 + offset)))
    pushes.sort(key=lambda p: p[1].time)
    expect, _ = check(outputs, n, pushes, steady(200, n))
    assert len(expect.played) == outputs * n and not expect.late


def test_simultaneous_events_on_all_outputs_leave_in_the_same_sample():
    n, outputs = 4, 8
    tick = 50 * n + 3
    pushes = [(0, OutputEvent(tick, k, A.RISE)) for k in range(outputs)]
    got, accepted, final = run_sequencer(outputs, n, pushes, steady(80, n))
    assert final["played"] == outputs and final["late"] == 0
    # all outputs' words equal, every cycle: zero skew
    assert all(len(set(word)) == 1 for word in got)
    check(outputs, n, pushes, steady(80, n))


def test_back_to_back_events_on_one_output():
    n = 4
    pushes = [(0, OutputEvent((30 + c) * n + c % n, 0, A.PULSE, 1)) for c in range(40)]
    expect, _ = check(1, n, pushes, steady(120, n))
    assert len(expect.played) == 40


@pytest.mark.parametrize("slack", [-1, 0, 1])
def test_one_tick_late_and_exactly_on_time(slack):
    """Pushed into an idle sequencer in cycle p, an event is first compared in
    cycle p + QUEUE_LATENCY_CYCLES, against the span planned then."""
    n, p = 4, 10
    now = steady(60, n, t0=1000)
    earliest = now[p + QUEUE_LATENCY_CYCLES - 1] + n * (LEAD_CYCLES + 1)
    pushes = [(p, OutputEvent(earliest + slack, 0, A.PULSE, 2))]
    expect, _ = check(1, n, pushes, now)
    assert len(expect.late) == (1 if slack < 0 else 0)


def test_full_queue_holds_its_writer():
    n, depth = 2, 16
    pushes = [(0, OutputEvent(400 + 3 * i, i % 2, A.PULSE, 1)) for i in range(40)]
    got, accepted, final = run_sequencer(2, n, pushes, steady(400, n), depth=depth)
    # ready stayed low while full: the writer waited, nothing was lost
    assert len(accepted) == 40 and final["played"] + final["late"] == 40
    check(2, n, pushes, steady(400, n), depth=depth)


def test_time_load_and_step_with_events_queued():
    """A step forward makes the events it jumps over late; a step back makes
    queued events wait; none plays twice."""
    n = 4
    now = steady(60, n)
    now += [10_000 + n * c for c in range(60)]          # a load far ahead
    now += [now[-1] - 5_000 + n * c for c in range(200)]  # a step back
    ticks = [30 * n, 50 * n, 9_000, 10_000 + 40 * n, 6_000, 7_000, 20_000]
    pushes = [(0, OutputEvent(t, i % 3, A.PULSE, 2)) for i, t in enumerate(sorted(ticks))]
    expect, _ = check(3, n, pushes, now)
    played = {e.time for e in expect.played}
    late = {e.time for e, _ in expect.late}
    assert played.isdisjoint(late) and len(played) + len(late) < len(ticks) + 1
    assert 9_000 in late and 30 * n in played


def test_an_output_the_node_lacks_is_counted_not_wedged():
    n = 4
    pushes = [(0, OutputEvent(100, 7, A.PULSE, 1)), (0, OutputEvent(40 * n, 0, A.PULSE, 1))]
    expect, _ = check(2, n, pushes, steady(80, n))
    assert len(expect.late) == 1 and len(expect.played) == 1
