"""The peer link's transmitter and receiver against the line code's reference (qnu/sync.py)."""

import dataclasses
import random

import pytest
from amaranth.sim import Simulator

from qnu.gateware.sync import PeerRx, PeerTx
from qnu.gateware.sync.peer_link import TX_CRC_CYCLES
from qnu.sync import (FRAME_BITS, FRAME_BYTES, IDLE_BITS, Message, decode_line, encode_frame, line_samples)

START = 1000        # the time of the first word


def random_message(rng, **fixed):
    fields = dict(seq=rng.randrange(256), status=rng.randrange(1 << 16), departure=rng.randrange(1 << 64),
                  echo_departure=rng.randrange(1 << 64), echo_arrival=rng.randrange(1 << 64))
    fields.update(fixed)
    return Message(**fields)


def messy_line(rng, bit_ticks, frames):
    """A line with ``frames`` good frames, some with a flipped bit, some cut short,
    and bursts of noise between them; the ticks and bytes of what was sent."""
    frame_ticks = FRAME_BITS * bit_ticks
    t, sent, noise = rng.randrange(0, 40), [], []
    for _ in range(frames):
        frame = bytearray(encode_frame(random_message(rng)))
        kind = rng.choice(["good", "good", "flip", "cut", "noise"])
        if kind == "flip":
            frame[rng.randrange(FRAME_BYTES)] ^= 1 << rng.randrange(8)
        if kind == "noise":
            noise.append((t, [rng.randrange(2) for _ in range(rng.randrange(1, 80))]))
            t += 80 + rng.randrange(IDLE_BITS * bit_ticks)
            continue
        sent.append((t, bytes(frame)))
        t += frame_ticks + IDLE_BITS * bit_ticks + rng.randrange(3 * bit_ticks)
        if kind == "cut":       # the line drops mid-frame: the cable pulled, then put back
            cut = sent[-1][0] + rng.randrange(frame_ticks)
            noise.append((cut, [0] * (frame_ticks + sent[-1][0] - cut)))
    line = line_samples(sent, bit_ticks, t + 100)
    for at, bits in noise:
        line[at:at + len(bits)] = bits[:len(line) - at]
    return line


def run_rx(line, n, bit_ticks):
    """What the receiver delivers and counts, fed ``line`` a word a cycle."""
    dut = PeerRx(samples_per_cycle=n, bit_ticks=bit_ticks)
    words = [sum(b << i for i, b in enumerate(line[k:k + n])) for k in range(0, len(line) - n + 1, n)]
    seen = {"frames": [], "crc": 0, "framing": 0, "overrun": 0}

    async def bench(ctx):
        ctx.set(dut.received.ready, 1)
        for k, word in enumerate(words + [0] * 4):
            ctx.set(dut.samples, word)
            ctx.set(dut.now, START + k * n)
            await ctx.tick()
            if ctx.get(dut.received.valid):
                got = ctx.get(dut.received.payload)
                msg = got.message
                seen["frames"].append((got.arrival - START, Message(
                    kind=msg.kind, seq=msg.seq, status=msg.status, departure=msg.departure,
                    echo_departure=msg.echo_departure, echo_arrival=msg.echo_arrival)))

    async def counters(ctx):
        async for _, _, crc, framing, overrun in ctx.tick().sample(dut.crc_error_inc, dut.framing_error_inc,
                                                                 dut.overrun_inc):
            seen["crc"] += crc
            seen["framing"] += framing
            seen["overrun"] += overrun

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.add_process(counters)
    sim.run()
    return seen


def want_from(line, bit_ticks, n):
    got = decode_line(line[:len(line) // n * n], bit_ticks)
    return ([(t, m) for t, m in got if isinstance(m, Message)],
            sum(m == "crc" for _, m in got), sum(m == "framing" for _, m in got))


@pytest.mark.parametrize("n, bit_ticks", [(1, 4), (4, 2), (4, 4), (4, 8), (8, 4), (16, 4), (16, 2 * 16)])
def test_the_receiver_finds_what_the_reference_finds_in_a_messy_line(n, bit_ticks):
    if IDLE_BITS * bit_ticks < 2 * n:
        pytest.skip("bits too short for these words (the receiver refuses them)")
    line = messy_line(random.Random(f"rx {n} {bit_ticks}"), bit_ticks, frames=10)
    frames, crc, framing = want_from(line, bit_ticks, n)
    seen = run_rx(line, n, bit_ticks)
    assert seen["frames"] == frames
    assert (seen["crc"], seen["framing"], seen["overrun"]) == (crc, framing, 0)
    assert frames and crc + framing > 0         # (the line had both)


def test_a_frame_on_a_line_that_was_not_idle_long_enough_is_not_taken():
    bit_ticks, n = 4, 4
    frame = encode_frame(Message(seq=7))
    idle = IDLE_BITS * bit_ticks
    early = line_samples([(idle - 4, frame)], bit_ticks, idle + FRAME_BITS * bit_ticks + 40)
    late = line_samples([(idle + 4, frame)], bit_ticks, idle + FRAME_BITS * bit_ticks + 40)
    assert run_rx(early, n, bit_ticks)["frames"] == []
    assert run_rx(late, n, bit_ticks)["frames"] == [(idle + 4, Message(seq=7))]


def test_a_good_frame_that_finds_the_output_full_is_counted_as_an_overrun():
    bit_ticks, n = 4, 4
    starts = [100, 100 + FRAME_BITS * bit_ticks + IDLE_BITS * bit_ticks + 8]
    line = line_samples([(t, encode_frame(Message(seq=i))) for i, t in enumerate(starts)], bit_ticks, starts[1] + 1400)
    dut = PeerRx(samples_per_cycle=n, bit_ticks=bit_ticks)
    overruns = []

    async def bench(ctx):           # (``received`` never read)
        for k in range(len(line) // n):
            ctx.set(dut.samples, sum(b << i for i, b in enumerate(line[k * n:k * n + n])))
            await ctx.tick()
            overruns.append(ctx.get(dut.overrun_inc))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert sum(overruns) == 1


def run_tx(messages, n, bit_ticks, cycles, lead=2, steps=()):
    """The line the transmitter makes from ``messages`` (offered back to back),
    and the time of each of its samples; ``steps``: (cycle, ticks) time steps."""
    dut = PeerTx(samples_per_cycle=n, bit_ticks=bit_ticks, lead=lead)
    line, times = [], []
    steps = dict(steps)

    async def bench(ctx):
        pending = list(messages)
        now = START
        for k in range(cycles):
            now += steps.get(k, 0)
            ctx.set(dut.now, now)
            ctx.set(dut.messages.valid, bool(pending))
            if pending:
                ctx.set(dut.messages.payload, {f: getattr(pending[0], f) for f in
                                                ("kind", "seq", "status", "departure", "echo_departure",
                                                 "echo_arrival")})
            word = ctx.get(dut.samples)
            line.extend(word >> i & 1 for i in range(n))
            times.extend(now + lead * n + i for i in range(n))
            taken = ctx.get(dut.messages.ready) and pending
            await ctx.tick()
            if taken:
                pending.pop(0)
            now += n

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return line, times


@pytest.mark.parametrize("n, bit_ticks", [(1, 4), (4, 4), (8, 2), (16, 4), (4, 16)])
def test_the_transmitter_sends_each_message_at_the_departure_it_carries(n, bit_ticks):
    rng = random.Random(f"tx {n} {bit_ticks}")
    messages = [random_message(rng) for _ in range(3)]
    frame_cycles = FRAME_BITS * bit_ticks // n + IDLE_BITS * bit_ticks // n + TX_CRC_CYCLES + 8
    line, times = run_tx(messages, n, bit_ticks, cycles=3 * frame_cycles + 20)
    got = decode_line(line, bit_ticks)
    assert [m.departure for _, m in got] == [times[i] for i, _ in got]
    assert [dataclasses.replace(m, departure=0) for _, m in got] == \
           [dataclasses.replace(m, departure=0) for m in messages]
    gaps = [b - a for (a, _), (b, _) in zip(got, got[1:])]
    assert all(g >= (FRAME_BITS + IDLE_BITS) * bit_ticks for g in gaps)


def test_steps_of_the_time_around_a_departure_leave_it_the_time_of_the_first_edge():
    """The servo's adjustments (a tick) and steps, in every cycle near the frames' starts."""
    n, bit_ticks = 4, 4
    rng = random.Random("tx steps")
    steps = [(k, rng.choice([-1, 1, 1000, -7])) for k in range(0, 1200) if rng.random() < 0.3]
    line, times = run_tx([Message(seq=s) for s in range(3)], n, bit_ticks, cycles=1200, steps=steps)
    got = decode_line(line, bit_ticks)
    assert [m.seq for _, m in got] == [0, 1, 2]
    assert [m.departure for _, m in got] == [times[i] for i, _ in got]


@pytest.mark.parametrize("n, bit_ticks", [(4, 4), (16, 4)])
def test_a_frame_goes_from_the_transmitter_to_the_receiver_and_keeps_its_times(n, bit_ticks):
    """TX and RX on one clock, the line delayed ``delay`` ticks: arrival = departure + delay."""
    rng = random.Random(f"loop {n}")
    tx = PeerTx(samples_per_cycle=n, bit_ticks=bit_ticks, lead=0)
    rx = PeerRx(samples_per_cycle=n, bit_ticks=bit_ticks)
    messages = [random_message(rng) for _ in range(3)]
    delay = 37
    got = []

    async def bench(ctx):
        line = [0] * delay
        ctx.set(rx.received.ready, 1)
        pending = list(messages)
        for k in range(3 * (FRAME_BITS + IDLE_BITS) * bit_ticks // n + 200):
            now = START + k * n
            ctx.set(tx.now, now)
            ctx.set(rx.now, now)
            ctx.set(tx.messages.valid, bool(pending))
            if pending:
                ctx.set(tx.messages.payload.seq, pending[0].seq)
            word = ctx.get(tx.samples)
            line.extend(word >> i & 1 for i in range(n))
            ctx.set(rx.samples, sum(b << i for i, b in enumerate(line[:n])))
            del line[:n]
            taken = ctx.get(tx.messages.ready) and pending
            await ctx.tick()
            if taken:
                pending.pop(0)
            if ctx.get(rx.received.valid):
                p = ctx.get(rx.received.payload)
                got.append((p.message.seq, p.message.departure, p.arrival))

    from amaranth.hdl import Module
    top = Module()
    top.submodules.tx, top.submodules.rx = tx, rx
    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert [s for s, _, _ in got] == [m.seq for m in messages]
    assert all(arrival == departure + delay for _, departure, arrival in got)
