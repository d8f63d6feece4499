"""cocotb tests of the output sequencer's Verilog, scored by its reference model
(:class:`qnu.sim.sequencer_model.SequencerModel`).

Run from pytest (tests/test_sequencer_cocotb.py) through cocotb's runner. The
design's parameters arrive in ``QNU_CORE`` (JSON: outputs, samples_per_cycle,
depth, seed). A :class:`TimebaseDriver` drives ``now`` one cycle at a time
from a list, an :class:`EventPusher` offers events on the ``push`` stream and
records the cycle each was taken in, a :class:`WordMonitor` records every
output word; the scoreboard replays the taken events through the model and
compares every word, the played and late counts and the first-late latch.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from qnu.sim.sequencer_model import LEAD_CYCLES, QUEUE_LATENCY_CYCLES, SequencerModel, words
from qnu.sim.tb.drivers import Fields, unpack_array
from qnu.wire import OutputAction, OutputEvent

PARAMS = json.loads(os.environ.get("QNU_CORE", "{}"))
OUTPUTS = PARAMS.get("outputs", 4)
N = PARAMS.get("samples_per_cycle", 4)
DEPTH = PARAMS.get("depth", 16)
SEED = PARAMS.get("seed", 1)
WIDTH_BITS = 16
PUSH = Fields({"time": 64, "output": 4, "action": 2, "width": WIDTH_BITS})
LATE = Fields({"valid": 1, "output": 4, "time": 64, "late_by": 32})


class Bench:
    """One run: ``now`` per cycle, events offered in order (each from its cycle on)."""

    def __init__(self, dut, now, offers):
        self.dut, self.now = dut, now
        self.offers = sorted(offers, key=lambda o: o[0])
        self.taken = []         # (cycle, OutputEvent)
        self.words = []         # per cycle, the output words

    async def run(self):
        dut = self.dut
        waiting = list(self.offers)
        for c, t in enumerate(self.now):
            await FallingEdge(dut.clk)
            dut.now.value = t
            offer = waiting[0] if waiting and waiting[0][0] <= c else None
            dut.push__valid.value = offer is not None
            if offer is not None:
                e = offer[1]
                dut.push__payload.value = PUSH.pack(time=e.time, output=e.output, action=int(e.action),
                                                    width=e.width)
            await ReadOnly()
            self.words.append(unpack_array(int(dut.samples.value), N, OUTPUTS))
            if offer is not None and int(dut.push__ready.value):
                self.taken.append((c, offer[1]))
                waiting.pop(0)
        await FallingEdge(dut.clk)
        dut.push__valid.value = 0
        await ReadOnly()
        return waiting

    def score(self):
        dut = self.dut
        model = SequencerModel(OUTPUTS, N)
        expect = model.run(self.taken, self.now)
        plan = model.plan_ticks(self.now)
        # the word seen in cycle c was decided in cycle c - (LEAD_CYCLES - 1), for its planned span
        lag = LEAD_CYCLES - 1
        first = lag + 1
        for k in range(OUTPUTS):
            want = words(expect.waveforms[k], [plan[c - lag] for c in range(first, len(self.now))], N)
            seen = [self.words[c][k] for c in range(first, len(self.now))]
            if seen != want:
                bad = next(i for i in range(len(want)) if seen[i] != want[i])
                raise AssertionError(f"output {k}, cycle {bad + first}: word {seen[bad]:#x}, "
                                     f"the model says {want[bad]:#x}")
        assert int(dut.played_count.value) == len(expect.played), (int(dut.played_count.value), len(expect.played))
        assert int(dut.late_count.value) == len(expect.late), (int(dut.late_count.value), len(expect.late))
        latch = LATE.unpack(int(dut.first_late.value))
        if expect.late:
            e, by = expect.late[0]
            assert (latch["valid"], latch["output"], latch["time"]) == (1, e.output, e.time), latch
            assert latch["late_by"] == min(by, 2 ** 32 - 1)
        else:
            assert latch["valid"] == 0
        return expect


async def start(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.now.value = 0
    dut.push__valid.value = 0
    dut.push__payload.value = 0
    dut.clear_late.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0


def steady(cycles, first=0):
    return [first + N * c for c in range(cycles)]


def random_event(rng, time, output=None):
    action = rng.choice(list(OutputAction))
    width = rng.randint(1, 3 * N) if action == OutputAction.PULSE else 0
    return OutputEvent(time, rng.randrange(OUTPUTS) if output is None else output, action, width)


@cocotb.test()
async def random_schedules(dut):
    """Random events, in time order per output, offered from their cycle on: most
    play at their tick, some arrive too late and are counted."""
    await start(dut)
    rng = random.Random(SEED)
    now = steady(600, first=1000)
    offers = []
    next_tick = {k: 1000 + N * 6 for k in range(OUTPUTS)}
    for c in range(0, 500, 2):
        k = rng.randrange(OUTPUTS)
        next_tick[k] += rng.randint(1, 6 * N)
        offers.append((c, random_event(rng, next_tick[k], k)))
    bench = Bench(dut, now, offers)
    await bench.run()
    expect = bench.score()
    assert expect.played and expect.late


@cocotb.test()
async def every_sample_position_and_all_outputs_at_once(dut):
    """Pulses on every sample position of the word, and the same tick on every output."""
    await start(dut)
    now = steady(120 + 8 * N)
    offers, c = [], 0
    for i in range(4 * N):
        tick = N * (40 + 3 * i) + i % N
        for k in range(OUTPUTS):
            offers.append((c, OutputEvent(tick, k, OutputAction.PULSE, 1 + (i % 3))))
            c += 1
    bench = Bench(dut, now, offers)
    await bench.run()
    expect = bench.score()
    assert len(expect.played) == len(offers) and not expect.late


@cocotb.test()
async def exactly_on_time_and_one_tick_late(dut):
    """An event offered in cycle p reaches the head in p + QUEUE_LATENCY_CYCLES and is compared with that
    cycle's span: its first tick plays, one tick earlier is late."""
    await start(dut)
    now = steady(80, first=5000)
    p = 20
    earliest = now[p + QUEUE_LATENCY_CYCLES - 1] + N * (LEAD_CYCLES + 1)
    offers = [(p, OutputEvent(earliest, 0, OutputAction.RISE)),
              (p, OutputEvent(earliest - 1, 1, OutputAction.RISE))]
    bench = Bench(dut, now, offers)
    await bench.run()
    expect = bench.score()
    assert [e.output for e in expect.played] == [0] and [e.output for e, _ in expect.late] == [1]


@cocotb.test()
async def time_load_and_step_with_events_queued(dut):
    """Events keep their absolute ticks: a step back makes them wait, a load past them
    makes them late; nothing plays twice."""
    await start(dut)
    t0 = 10_000
    # 60 cycles, then a step back by 30 cycles' worth, 60 more, then a load far ahead.
    # (No event lies in the ticks the step back revisits: the model's waveform is in
    # absolute ticks, so a pulse played there would be expected twice.)
    now = steady(60, first=t0) + steady(60, first=t0 + 30 * N) + steady(40, first=t0 + 200 * N)
    ticks = [t0 + N * (20 + 2 * i) + i % N for i in range(4)] + \
            [t0 + N * (66 + 4 * i) + i % N for i in range(12)]
    offers = [(2 + i, OutputEvent(t, i % OUTPUTS, OutputAction.PULSE, 2)) for i, t in enumerate(ticks)]
    bench = Bench(dut, now, offers)
    await bench.run()
    expect = bench.score()
    played = {e.time for e in expect.played}
    assert len(played) == len(expect.played)                    # nothing played twice
    assert any(e.time < t0 + 60 * N for e in expect.played)     # before the step
    assert any(e.time >= t0 + 62 * N for e in expect.played)    # waited across the step back
    assert expect.late                                          # passed by the load


@cocotb.test()
async def full_queue_holds_the_writer(dut):
    """A queue takes DEPTH events and then refuses (ready low) until one plays: none is dropped."""
    await start(dut)
    now = steady(DEPTH * 4 + 200, first=0)
    far = N * (DEPTH + 80)
    offers = [(0, OutputEvent(far + 4 * N * i, 0, OutputAction.PULSE, 1)) for i in range(DEPTH + 4)]
    bench = Bench(dut, now, offers)
    left = await bench.run()
    expect = bench.score()
    assert not left and len(expect.played) == DEPTH + 4
    taken_cycles = [c for c, _ in bench.taken]
    assert taken_cycles[DEPTH] > taken_cycles[DEPTH - 1] + 10     # held until the first played
