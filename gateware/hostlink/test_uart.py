import random

import pytest
from amaranth.sim import Simulator

from qnu.gateware.hostlink.uart import UARTTransmitter, UARTReceiver


def uart_bits(byte, stop=1):
    return [0] + [(byte >> i) & 1 for i in range(8)] + [stop]


@pytest.mark.parametrize("divisor", [4, 7, 33])
def test_transmitter_waveform(divisor):
    dut = UARTTransmitter(divisor)
    data = [0x55, 0x00, 0xFF, 0xC0, 0x3A]
    line = []

    async def send(ctx):
        for b in data:
            ctx.set(dut.data.valid, 1)
            ctx.set(dut.data.payload, b)
            await ctx.tick().until(dut.data.ready)
        ctx.set(dut.data.valid, 0)

    async def watch(ctx):
        async for _, _, tx in ctx.tick().sample(dut.tx):
            line.append(tx)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(send)
    sim.add_testbench(watch, background=True)
    sim.run_until(1e-8 * divisor * 10 * (len(data) + 2))
    # decode the line at mid-bit, as a receiver would
    got, i = [], 0
    while i < len(line):
        if line[i] == 0:
            bits = [line[i + divisor // 2 + k * divisor] for k in range(10)]
            assert bits[0] == 0 and bits[9] == 1
            got.append(sum(b << k for k, b in enumerate(bits[1:9])))
            i += divisor * 10 - divisor // 2
        else:
            i += 1
    assert got == data


@pytest.mark.parametrize("divisor", [4, 9, 33])
def test_receiver_bytes_and_framing_errors(divisor):
    dut = UARTReceiver(divisor)
    rng = random.Random(divisor)
    frames = [(rng.randrange(256), rng.random() > 0.2) for _ in range(40)]
    got, errors = [], []

    async def drive(ctx):
        await ctx.tick().repeat(5)
        for byte, good in frames:
            # a sender whose clock is off by up to 3 %
            bit_time = divisor + (rng.choice([-1, 0, 1]) if divisor >= 30 else 0)
            for bit in uart_bits(byte, stop=int(good)):
                ctx.set(dut.rx, bit)
                await ctx.tick().repeat(bit_time)
            ctx.set(dut.rx, 1)
            await ctx.tick().repeat(rng.randrange(1, 3 * divisor))

    async def watch(ctx):
        async for _, _, valid, payload, fe in ctx.tick().sample(dut.data.valid, dut.data.payload,
                                                                dut.framing_error):
            if valid:
                got.append(payload)
            if fe:
                errors.append(1)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_testbench(watch, background=True)
    sim.run()
    assert got == [b for b, good in frames if good]
    assert len(errors) == sum(not good for _, good in frames)


def test_receiver_survives_a_line_held_low():
    dut = UARTReceiver(8)
    got = []

    async def drive(ctx):
        ctx.set(dut.rx, 0)                  # cable pulled: line low for a long time
        await ctx.tick().repeat(500)
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(20)
        for bit in uart_bits(0xA5):
            ctx.set(dut.rx, bit)
            await ctx.tick().repeat(8)
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(20)

    async def watch(ctx):
        async for _, _, valid, payload in ctx.tick().sample(dut.data.valid, dut.data.payload):
            if valid:
                got.append(payload)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_testbench(watch, background=True)
    sim.run()
    assert got == [0xA5]


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_divisor_must_allow_mid_bit_sampling():
    with pytest.raises(ValueError, match="divisor"):
        UARTReceiver(2)
