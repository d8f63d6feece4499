"""Outputs through a whole Node: SCHEDULE frames and registers over the real
UART, trigger words at the node's port scored against the reference model."""

import random

from qnu import wire
from qnu.gateware.test_node import request, run as run_node
from qnu.regmap import Features, OutputSource, register_map, StopReason
from qnu.sim.sequencer_model import SequencerModel, AttemptModel, PatternPulse, words
from qnu.wire import OutputAction as A, OutputEvent, Command, Reply, ErrorCode


N, CHANNELS, OUTPUTS = 2, 2, 4
FEATURES = Features(outputs=OUTPUTS, sequencer=True, attempts=True)
REGS = register_map(CHANNELS, FEATURES)


def run(bench, **node_args):
    """Run ``bench`` on a Node with the outputs; the trace of (now, [word per output]) per cycle."""
    trace = []

    def record(dut):
        async def monitor(ctx):
            async for _, _, now, *outs in ctx.tick().sample(dut.core.now, *(dut.triggers[k] for k in range(OUTPUTS))):
                trace.append((now, outs))
        return monitor
    run_node(bench, monitors=[record], **{"features": FEATURES, "queue_depth": 16, "build_id": 0, **node_args})
    return trace


async def write(ctx, host, seq, **values):
    regs = sorted((REGS[name] for name in values), key=lambda r: r.address)
    reply = await request(ctx, host, Command.WRITE, seq,
                          wire.pack_write(regs[0].address, [values[r.name] for r in regs]))
    return reply


async def read(ctx, host, seq, name, count=1):
    kind, _, payload = await request(ctx, host, Command.READ, seq, wire.pack_read(REGS[name].address, count))
    assert kind == Reply.OK
    return wire.unpack_words(payload)


def scored_words(trace, waveforms, outputs=OUTPUTS):
    for k in range(outputs):
        seen = [outs[k] for _, outs in trace]
        want = words(waveforms.get(k, []), [now for now, _ in trace], N)
        assert seen == want, f"output {k}: first difference at cycle {next(i for i in range(len(seen)) if seen[i] != want[i])}"


def test_scheduled_events_play_to_the_tick_and_late_ones_are_named():
    rng = random.Random(7)
    base = 30_000
    events = sorted((OutputEvent(base + rng.randrange(0, 400), rng.randrange(OUTPUTS), A.PULSE,
                                 rng.randrange(1, 9)) for _ in range(9)), key=lambda e: e.time)
    late = OutputEvent(100, 2, A.RISE)
    results = {}

    async def bench(ctx, dut, host):
        for k in range(OUTPUTS):
            assert (await write(ctx, host, k, **{f"out{k}_ctrl": int(OutputSource.SEQUENCER)}))[0] == Reply.OK
        kind, _, _ = await request(ctx, host, Command.SCHEDULE, 9, wire.pack_schedule(events))
        assert kind == Reply.OK
        kind, _, _ = await request(ctx, host, Command.SCHEDULE, 10, wire.pack_schedule([late]))
        assert kind == Reply.OK
        while ctx.get(dut.core.now) < base + 600:
            await ctx.tick()
        results["played"], results["late"] = await read(ctx, host, 11, "seq_played", 2)
        results["latch"] = await read(ctx, host, 12, "seq_late_output", 4)

    trace = run(bench)
    # the model sees the events as played where the trace is (they were queued far ahead)
    expect = SequencerModel(OUTPUTS, N).run([(0, e) for e in events], [0] + [now for now, _ in trace])
    assert not expect.late
    scored_words([t for t in trace if t[0] > 20_000], expect.waveforms)
    assert (results["played"], results["late"]) == (len(events), 1), results
    valid_output, time_lo, time_hi, late_by = results["latch"]
    assert valid_output == 1 | 2 << 1 and time_lo | time_hi << 32 == 100 and late_by > 0


def test_simultaneous_edges_leave_in_the_same_sample_on_every_output():
    tick = 20_001

    async def bench(ctx, dut, host):
        await write(ctx, host, 1, out0_ctrl=1)
        events = [OutputEvent(tick, k, A.RISE) for k in range(OUTPUTS)]
        assert (await request(ctx, host, Command.SCHEDULE, 2, wire.pack_schedule(events)))[0] == Reply.OK
        while ctx.get(dut.core.now) < tick + 10:
            await ctx.tick()

    # (output 0 carries the pulse per second, from tick 0, until it is switched over)
    trace = [t for t in run(bench) if t[0] > 10_000]
    assert all(len(set(outs)) == 1 for _, outs in trace)       # zero skew
    now, outs = next(t for t in trace if t[1][0])
    assert now + min(b for b in range(N) if outs[0] >> b & 1) == tick


def test_refusals_leave_nothing_queued():
    async def bench(ctx, dut, host):
        full = [OutputEvent(10 ** 9 + i, 0, A.PULSE, 1) for i in range(10)]
        assert (await request(ctx, host, Command.SCHEDULE, 1, wire.pack_schedule(full)))[0] == Reply.OK
        # 16 entries: 10 queued, 6 free; 7 more on output 0 are refused whole
        kind, _, payload = await request(ctx, host, Command.SCHEDULE, 2, wire.pack_schedule(full[:7]))
        assert kind == Reply.ERROR and wire.unpack_error(payload) == (ErrorCode.QUEUE_FULL, 6)
        # on another output they fit
        other = [OutputEvent(10 ** 9, 1, A.RISE)] * 7
        assert (await request(ctx, host, Command.SCHEDULE, 3, wire.pack_schedule(other)))[0] == Reply.OK
        bad = wire.pack_schedule([OutputEvent(5, 0, A.RISE), OutputEvent(5, 0, A.PULSE, 1)])
        bad_output = bytearray(bad)
        bad_output[3 + 12 + 8] = 9          # event 1's output: 9, which the node lacks
        kind, _, payload = await request(ctx, host, Command.SCHEDULE, 4, bytes(bad_output))
        assert wire.unpack_error(payload) == (ErrorCode.BAD_VALUE, 1)
        no_width = bytearray(bad)
        no_width[3 + 12 + 8 + 2:3 + 12 + 8 + 4] = b"\0\0"
        kind, _, payload = await request(ctx, host, Command.SCHEDULE, 5, bytes(no_width))
        assert wire.unpack_error(payload) == (ErrorCode.BAD_VALUE, 1)
        reserved = b"\x01" + bad[1:]
        kind, _, payload = await request(ctx, host, Command.SCHEDULE, 6, reserved)
        assert wire.unpack_error(payload) == (ErrorCode.BAD_VALUE, 0)
        kind, _, payload = await request(ctx, host, Command.SCHEDULE, 7, bad[:-1])
        assert wire.unpack_error(payload)[0] == ErrorCode.BAD_LENGTH
        free = [(await read(ctx, host, 8 + k, f"out{k}_free"))[0] for k in range(2)]
        assert free == [6, 9]
        assert (await read(ctx, host, 12, "seq_refused")) == [7]
        # sources the node lacks, and a pulse period the timebase cannot run
        kind, _, payload = await write(ctx, host, 13, out1_ctrl=int(OutputSource.HERALD))
        assert wire.unpack_error(payload) == (ErrorCode.BAD_VALUE, REGS["out1_ctrl"].address)
        kind, _, payload = await write(ctx, host, 14, pulse_period_lo=1000, pulse_period_hi=0)
        assert wire.unpack_error(payload)[0] == ErrorCode.BAD_VALUE

    run(bench)


def test_attempt_loop_through_registers_stops_on_its_input():
    period, start = 60, 40_000
    pattern = [PatternPulse(0, 0, 4), PatternPulse(1, 10, 3), PatternPulse(2, 7, 5, on_success=True)]
    edge = start + 4 * period + 17
    results = {}

    def ctrl(p):
        return p.output | 1 << 4 | p.on_success << 5 | p.width << 16


    async def bench(ctx, dut, host):
        for k in range(3):
            await write(ctx, host, k, **{f"out{k}_ctrl": 1})
        regs = {"att_start_lo": start, "att_start_hi": 0, "att_period": period, "att_count": 0,
                "att_stop": 1 | 1 << 8}
        for i, p in enumerate(pattern):
            regs[f"att_pat{i}_offset"] = p.offset
            regs[f"att_pat{i}_ctrl"] = ctrl(p)
        assert (await write(ctx, host, 5, **{k: v for k, v in regs.items() if k.startswith("att_pat")}))[0] == Reply.OK
        assert (await write(ctx, host, 6, **{k: v for k, v in regs.items() if not k.startswith("att_pat")}))[0] == Reply.OK
        assert (await write(ctx, host, 7, att_ctrl=1))[0] == Reply.OK
        assert ctx.get(dut.core.now) < start - 1000     # (the UART is slow: started well ahead)
        # the herald: channel 1 goes high at tick `edge`
        while True:
            now = ctx.get(dut.core.now)
            ctx.set(dut.samples[1], sum(1 << i for i in range(N) if now + i >= edge))
            if now > edge + 400:
                break

            await ctx.tick()
        results["status"], results["attempts"] = await read(ctx, host, 8, "att_status", 2)

    trace = run(bench)
    expect = AttemptModel(OUTPUTS, N).run(now0=0, start_cycle=0, start_time=start, period=period, count=0,
                                          pattern=pattern, stop_edge=edge)
    assert results["attempts"] == len(expect.starts) == 5
    assert results["status"] >> 4 == StopReason.INPUT and results["status"] & 3 == 0
    scored_words([t for t in trace if t[0] > start - 100], expect.waveforms)
