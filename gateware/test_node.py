"""The node end to end in Amaranth's simulator: bytes through the real UART."""

import struct

from amaranth.sim import Simulator

from qnu import wire
from qnu.gateware.node import Node
from qnu.regmap import register_map

DIVISOR = 4
N, CHANNELS = 2, 2


class UartHost:
    """Bit-bangs the node's UART from a testbench and collects what it sends."""

    def __init__(self, dut):
        self.dut = dut
        self.decoder = wire.SlipDecoder()
        self.bodies = []

    async def send(self, ctx, data):
        for byte in data:
            for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                ctx.set(self.dut.uart_rx, bit)
                await ctx.tick().repeat(DIVISOR)

    async def listen(self, ctx):
        line = []
        async for _, _, tx in ctx.tick().sample(self.dut.uart_tx):
            line.append(tx)
            # a whole character: start bit seen 10 bit times ago
            if len(line) >= 10 * DIVISOR and line[-10 * DIVISOR] == 0 and getattr(self, "_busy", 0) <= 0:
                bits = [line[-10 * DIVISOR + DIVISOR // 2 + k * DIVISOR] for k in range(10)]
                byte = sum(b << k for k, b in enumerate(bits[1:9]))
                self.bodies += self.decoder.feed([byte])
                self._busy = 9 * DIVISOR + DIVISOR // 2
            self._busy = getattr(self, "_busy", 0) - 1

    async def reply(self, ctx, limit=40_000):
        for _ in range(limit):
            if self.bodies:
                return wire.parse_body(self.bodies.pop(0))
            await ctx.tick()
        raise TimeoutError("no reply")


def run(bench, samples=None, *, monitors=(), **node_args):
    """Simulate a Node (this module's defaults, overridden by ``node_args``) with ``bench(ctx,
    dut, host)`` as the main testbench; ``samples(dut)`` and each ``monitor(dut)`` give
    background testbenches."""
    args = dict(channels=CHANNELS, samples_per_cycle=N, clock_hz=10_000_000, uart_divisor=DIVISOR,
                build_id=0xB01D)
    dut = Node(**{**args, **node_args})
    host = UartHost(dut)

    async def main(ctx):
        await ctx.tick().repeat(5)
        await bench(ctx, dut, host)

    sim = Simulator(dut)
    sim.add_clock(1e-7)
    sim.add_testbench(main)
    sim.add_testbench(host.listen, background=True)
    for background in ([samples] if samples else []) + list(monitors):
        sim.add_testbench(background(dut), background=True)
    sim.run()


async def request(ctx, host, command, seq, payload=b""):
    await host.send(ctx, wire.build_frame(command, seq, payload))
    return await host.reply(ctx)


def test_identify():
    async def bench(ctx, dut, host):
        kind, seq, payload = await request(ctx, host, wire.Command.IDENTIFY, 9)
        assert (kind, seq) == (wire.Reply.OK, 9)
        info = wire.IdentifyInfo.unpack(payload)
        assert (info.magic, info.protocol_version, info.build_id, info.channels, info.samples_per_cycle,
                info.clock_hz) == (wire.MAGIC, wire.PROTOCOL_VERSION, 0xB01D, CHANNELS, N, 10_000_000)
    run(bench)


def test_registers_and_refusals():
    regs = register_map(CHANNELS)

    def read(addr, count=1):
        return struct.pack("<HB", addr, count)

    async def bench(ctx, dut, host):
        scratch, delay = regs["scratch"].address, regs["ch1_delay"].address
        ok = await request(ctx, host, wire.Command.WRITE, 1, struct.pack("<HBI", scratch, 1, 0xDEADBEEF))
        assert ok[:2] == (wire.Reply.OK, 1) and ok[2] == b""
        kind, _, payload = await request(ctx, host, wire.Command.READ, 2, read(regs["magic"].address, 5))
        assert kind == wire.Reply.OK
        magic, build, config, clock, scratch_value = struct.unpack("<5I", payload)
        assert (magic, build, clock, scratch_value) == (wire.MAGIC, 0xB01D, 10_000_000, 0xDEADBEEF)
        # a burst touching a read-only register is refused whole: delay keeps its value
        bad = struct.pack("<HB2I", delay, 2, 77, 5)          # ch1_delay, then ch1_dead_time... fine
        await request(ctx, host, wire.Command.WRITE, 3, bad)
        refused = struct.pack("<HB3I", regs["ch1_dead_time"].address, 3, 1, 2, 3)   # then ch1_events (ro)
        kind, seq, payload = await request(ctx, host, wire.Command.WRITE, 4, refused)
        assert (kind, seq) == (wire.Reply.ERROR, 4)
        assert payload == struct.pack("<BH", wire.ErrorCode.READ_ONLY, regs["ch1_events"].address)
        kind, _, payload = await request(ctx, host, wire.Command.READ, 5, read(delay, 2))
        assert struct.unpack("<2I", payload) == (77, 5)     # dead time still 5, not 1
        # unknown address, unknown command, bad CRC, bad length
        kind, _, payload = await request(ctx, host, wire.Command.READ, 6, read(0x0FF0))
        assert payload == struct.pack("<BH", wire.ErrorCode.BAD_ADDRESS, 0x0FF0)
        kind, _, payload = await request(ctx, host, 0x77, 7)
        assert payload == struct.pack("<BH", wire.ErrorCode.UNKNOWN_COMMAND, 0x77)
        corrupt = bytearray(wire.build_frame(wire.Command.IDENTIFY, 8))
        corrupt[2] ^= 0x01
        await host.send(ctx, b"\x55\x13" + bytes(corrupt))        # garbage first, then a bad CRC
        errors = [await host.reply(ctx), await host.reply(ctx)]
        assert [p[0] for _, _, p in errors] == [wire.ErrorCode.BAD_LENGTH, wire.ErrorCode.BAD_CRC]
        kind, _, payload = await request(ctx, host, wire.Command.READ, 9, read(delay, 40))
        assert payload[0] == wire.ErrorCode.BAD_LENGTH
        kind, _, payload = await request(ctx, host, wire.Command.WRITE, 10,
                                         struct.pack("<HBI", regs["time_cmd"].address, 1, 3))
        assert payload == struct.pack("<BH", wire.ErrorCode.BAD_VALUE, regs["time_cmd"].address)
        # every refusal counted
        first = regs["err_framing"].address
        kind, _, payload = await request(ctx, host, wire.Command.READ, 11, read(first, 10))
        counters = dict(zip(["framing", "crc", "length", "command", "address", "read_only", "frames_ok",
                             "records_sent", "value", "overrun"], struct.unpack("<10I", payload)))
        # frames_ok: the two writes and two reads before; this READ counts once its snapshot is taken
        assert counters == dict(framing=0, crc=1, length=2, command=1, address=1, read_only=1,
                                frames_ok=4, records_sent=0, value=1, overrun=0)
    run(bench)


def test_phy_status_reports_the_front_end():
    """The register follows the board's front-end flags; a front end that drives none reads running."""
    address = register_map(CHANNELS)["phy_status"].address
    read = struct.pack("<HB", address, 1)

    async def bench(ctx, dut, host):
        kind, _, payload = await request(ctx, host, wire.Command.READ, 1, read)
        assert (kind, struct.unpack("<I", payload)[0]) == (wire.Reply.OK, 0b0011)
        ctx.set(dut.phy_status.inputs_running, 1)
        ctx.set(dut.phy_status.outputs_running, 0)
        ctx.set(dut.phy_status.input_error, 1)
        kind, _, payload = await request(ctx, host, wire.Command.READ, 2, read)
        assert struct.unpack("<I", payload)[0] == 0b0101
        ctx.set(dut.phy_status.as_value(), 0b1010)
        kind, _, payload = await request(ctx, host, wire.Command.READ, 3, read)
        assert struct.unpack("<I", payload)[0] == 0b1010
    run(bench)


def edge_every_50_cycles(dut):
    """Channel 0: a rising edge at sample 1 every 50 cycles (a background testbench)."""
    async def drive(ctx):
        cycle = 0
        while True:
            ctx.set(dut.samples[0], 0b10 if cycle % 50 == 0 else (0b11 if cycle % 50 < 3 else 0))
            await ctx.tick()
            cycle += 1
    return drive


def test_events_read_back():
    regs = register_map(CHANNELS)

    async def bench(ctx, dut, host):
        ctrl = regs["ch0_ctrl"].address
        await request(ctx, host, wire.Command.WRITE, 1, struct.pack("<HBI", ctrl, 1, 0b011))
        await ctx.tick().repeat(2000)
        kind, seq, payload = await request(ctx, host, wire.Command.READ_EVENTS, 3)
        assert (kind, seq) == (wire.Reply.EVENTS_READ, 3)
        first_index, = struct.unpack_from("<I", payload)
        records = wire.decode_records(payload[4:])
        assert first_index == 0 and len(records) >= 10
        stamps = [r.timestamp for r in records]
        assert all(r.channel == 0 and r.kind == "rising" for r in records)
        assert all(b - a == 50 * N for a, b in zip(stamps, stamps[1:]))
        assert all(t % (50 * N) == 1 for t in stamps)
    run(bench, edge_every_50_cycles)


def test_read_events_while_streaming_is_matched_by_seq():
    """Polled while streaming, READ_EVENTS is answered by an EVENTS_READ frame echoing its seq;
    the streamed EVENTS frames around it count on without a gap, and the records of both kinds
    make one stream: every index follows the previous frame's, every tag 50 cycles apart."""
    regs = register_map(CHANNELS)

    async def bench(ctx, dut, host):
        ctrl = regs["ch0_ctrl"].address
        await request(ctx, host, wire.Command.WRITE, 1, struct.pack("<HBI", ctrl, 1, 0b011))
        frames = []

        async def until(command, seq, payload, reply_kind):
            await host.send(ctx, wire.build_frame(command, seq, payload))
            while not frames or frames[-1][:2] != (reply_kind, seq):
                frames.append(await host.reply(ctx))

        await until(wire.Command.STREAM, 2, b"\x01", wire.Reply.OK)
        await ctx.tick().repeat(2000)
        await until(wire.Command.READ_EVENTS, 0x42, b"", wire.Reply.EVENTS_READ)
        await ctx.tick().repeat(2000)
        await until(wire.Command.STREAM, 3, b"\x00", wire.Reply.OK)
        await ctx.tick().repeat(3000)
        while host.bodies:
            frames.append(wire.parse_body(host.bodies.pop(0)))
        frames = [f for f in frames if f[0] != wire.Reply.OK]
        read = [seq for kind, seq, _ in frames if kind == wire.Reply.EVENTS_READ]
        streamed = [seq for kind, seq, _ in frames if kind == wire.Reply.EVENTS]
        assert read == [0x42] and streamed == list(range(len(streamed))) and len(streamed) >= 2, frames
        expected_index, stamps = 0, []
        for _, _, payload in frames:
            index, = struct.unpack_from("<I", payload)
            records = wire.decode_records(payload[4:])
            assert index == expected_index
            expected_index += len(records)
            stamps += [r.timestamp for r in records]
        assert len(stamps) >= 5 and all(b - a == 50 * N for a, b in zip(stamps, stamps[1:]))
    run(bench, edge_every_50_cycles, flush_cycles=64)


def small_board(**overrides):
    """Node.small_board_args(), but a 10 MHz clock and a fast UART, so the simulation is short."""
    return {**Node.small_board_args(), "clock_hz": 10_000_000, **overrides}


def test_small_board_protocol_and_period_limit():
    regs = register_map(2)

    async def bench(ctx, dut, host):
        kind, _, payload = await request(ctx, host, wire.Command.IDENTIFY, 1)
        info = wire.IdentifyInfo.unpack(payload)
        assert (kind, info.channels, info.samples_per_cycle) == (wire.Reply.OK, 2, 2)
        # the 28-bit pulse phase: a period of 2**28 ticks or more is refused, not truncated
        hi, lo = regs["pulse_period_hi"].address, regs["pulse_period_lo"].address
        kind, _, payload = await request(ctx, host, wire.Command.WRITE, 2, struct.pack("<HBI", hi, 1, 1))
        assert (kind, payload) == (wire.Reply.ERROR, struct.pack("<BH", wire.ErrorCode.BAD_VALUE, hi))
        kind, _, payload = await request(ctx, host, wire.Command.WRITE, 3, struct.pack("<HBI", lo, 1, 1 << 28))
        assert (kind, payload) == (wire.Reply.ERROR, struct.pack("<BH", wire.ErrorCode.BAD_VALUE, lo))
        kind, _, _ = await request(ctx, host, wire.Command.WRITE, 4, struct.pack("<HBI", lo, 1, (1 << 28) - 1))
        assert kind == wire.Reply.OK
        kind, _, payload = await request(ctx, host, wire.Command.READ, 5, struct.pack("<HB", lo, 2))
        assert struct.unpack("<2I", payload) == ((1 << 28) - 1, 0)
    run(bench, **small_board())


async def drain_events(ctx, host, seq):
    """READ_EVENTS (seq, seq + 1, ...) until a frame comes back empty: the records, and the next seq."""
    records = []
    while True:
        kind, reply_seq, payload = await request(ctx, host, wire.Command.READ_EVENTS, seq)
        assert (kind, reply_seq) == (wire.Reply.EVENTS_READ, seq)
        got = wire.decode_records(payload[4:])
        records += got
        seq += 1
        if not got:
            return records, seq


def pulses_on_channel_1(pulses, period):
    """Samples: once the bench sets ``dut._go`` (the channel is enabled), ``pulses``
    rising edges on channel 1 at sample 1, one every ``period`` cycles."""
    def samples(dut):
        async def drive(ctx):
            while not getattr(dut, "_go", False):
                await ctx.tick()
            for k in range(pulses * period):
                ctx.set(dut.samples[1], {0: 0b10, 1: 0b01}.get(k % period, 0))
                await ctx.tick()
            ctx.set(dut.samples[1], 0)
        return drive
    return samples


def test_small_board_overflow_is_accounted_exactly():
    """Small board, queues of 4 and a FIFO of 4: events pile up while nobody reads, most are lost,
    and every one is either delivered with its exact time or counted in a marker at its place."""
    regs = register_map(2)
    pulses, period = 60, 4                      # channel 1: a rising edge at sample 1 every 4 cycles

    samples = pulses_on_channel_1(pulses, period)

    async def bench(ctx, dut, host):
        ctrl = regs["ch1_ctrl"].address
        assert (await request(ctx, host, wire.Command.WRITE, 1, struct.pack("<HBI", ctrl, 1, 0b011)))[0] == \
            wire.Reply.OK
        dut._go = True
        await ctx.tick().repeat(pulses * period + 100)
        records, seq = await drain_events(ctx, host, 2)
        kind, _, payload = await request(ctx, host, wire.Command.READ, seq,
                                         struct.pack("<HB", regs["ch1_events"].address, 2))
        events, lost = struct.unpack("<2I", payload)
        markers = [r for r in records if r.kind == "overflow"]
        assert markers and all(r.channel == 1 for r in records)
        assert events == pulses and lost == sum(r.lost for r in markers)
        # walk the stream: every event is there, in order, delivered or inside a marker
        step = period * N
        expected = records[0].timestamp
        assert expected % N == 1                 # sample 1 of its word
        for r in records:
            assert r.timestamp == expected, r
            expected += step * (r.lost if r.kind == "overflow" else 1)
        assert expected == records[0].timestamp + pulses * step
    run(bench, samples, **small_board(channel_depth=4, fifo_depth=4))


def test_small_board_refuses_a_time_change_while_the_previous_generation_is_queued():
    """Late stamps: after a load, a second time change is refused (BAD_VALUE, nothing
    applied) until the events tagged before the load have left the queues."""
    regs = register_map(2)
    pulses, period = 12, 4

    samples = pulses_on_channel_1(pulses, period)

    def time_cmd(arg, cmd):
        return struct.pack("<HB3I", regs["time_arg_lo"].address, 3, arg & 0xFFFF_FFFF, arg >> 32, cmd)

    async def bench(ctx, dut, host):
        ctrl = regs["ch1_ctrl"].address
        await request(ctx, host, wire.Command.WRITE, 1, struct.pack("<HBI", ctrl, 1, 0b011))
        dut._go = True
        await ctx.tick().repeat(pulses * period + 50)       # all tagged, most still queued: nobody reads
        assert (await request(ctx, host, wire.Command.WRITE, 2, time_cmd(1 << 40, 1)))[0] == wire.Reply.OK
        kind, _, payload = await request(ctx, host, wire.Command.WRITE, 3, time_cmd(5, 2))
        assert (kind, payload) == (wire.Reply.ERROR,
                                   struct.pack("<BH", wire.ErrorCode.BAD_VALUE, regs["time_cmd"].address))
        records, seq = await drain_events(ctx, host, 4)
        # every event from before the load, stamped with the time before it
        stamps = [r.timestamp for r in records]
        assert len(stamps) == pulses and all(b - a == period * N for a, b in zip(stamps, stamps[1:]))
        assert stamps[-1] < 1 << 40
        kind, _, _ = await request(ctx, host, wire.Command.WRITE, seq, time_cmd(5, 2))
        assert kind == wire.Reply.OK, "still refused once the queues drained"
        kind, _, payload = await request(ctx, host, wire.Command.READ, seq + 1,
                                         struct.pack("<HB", regs["time_lo"].address, 2))
        lo, hi = struct.unpack("<2I", payload)
        assert 0 < (hi << 32 | lo) - (1 << 40) < 10_000_000
    run(bench, samples, **small_board(channel_depth=8, fifo_depth=4))
