"""The gearboxes in Amaranth's simulator, at several phases between the two clocks.

Reference: each channel's sample stream. Whatever the phase and whichever side
leaves reset first, the output stream must be the input stream from some word
boundary on, with no sample lost, repeated or reordered, one word every output
cycle once ``valid`` rises (hence a constant latency), and ``error`` low.
"""

import random

import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from qnu.gateware.phy.gearbox import SampleNarrower, SampleWidener

SYNC_NS = 10.0
# sclk phase offsets (ns) against sync, and how many cycles each domain stays in reset
PHASES = [(0.0, 0, 0), (0.7, 3, 0), (2.5, 1, 0), (4.2, 0, 2), (4.99, 6, 0), (5.0, 2, 1),
          (7.3, 5, 0), (9.9, 1, 0), (3.3, 40, 0), (6.1, 0, 30)]


def _bench(dut, phase_ns, ratio):
    m = Module()
    m.submodules.dut = dut
    m.domains.sync = sync = ClockDomain()
    m.domains.sclk = sclk = ClockDomain()
    sim = Simulator(m)
    sim.add_clock(SYNC_NS * 1e-9, domain="sync")
    sim.add_clock(SYNC_NS / ratio * 1e-9, phase=phase_ns * 1e-9, domain="sclk")
    return sim, sync, sclk


def _channel_streams(words, channels, width):
    """Per channel, the concatenated samples of a list of flat words (bit 0 first)."""
    return [[(w >> (c * width + j)) & 1 for w in words for j in range(width)]
            for c in range(channels)]


def _assert_continues(out, inp, width):
    """out must equal inp from some multiple of `width` on."""
    assert len(out) > 100
    for start in range(0, len(inp) - len(out) + 1, width):
        if inp[start:start + len(out)] == out:
            return start
    raise AssertionError("output stream is not a contiguous run of the input stream")


def _run(dut, *, fast_in, phase_ns, sclk_reset_cycles, sync_reset_cycles=0, slow_cycles=160,
         seed=0):
    ratio, channels = dut.ratio, dut.channels
    in_width = dut.samples_in if fast_in else dut.samples_in * ratio
    out_width = dut.samples_in * ratio if fast_in else dut.samples_in
    in_domain, out_domain = ("sclk", "sync") if fast_in else ("sync", "sclk")
    late = max(sclk_reset_cycles, sync_reset_cycles)        # give a late start room
    in_cycles = (slow_cycles + late) * (ratio if fast_in else 1)
    out_cycles = (slow_cycles + late) * (1 if fast_in else ratio)
    sim, sync, sclk = _bench(dut, phase_ns, ratio)
    rng = random.Random(seed)
    sent = [rng.getrandbits(in_width * channels) for _ in range(in_cycles + 10)]
    got, flags = [], {"valid_fell": False, "error": False, "first_out": None}
    i_port = dut.narrow if fast_in else dut.wide
    o_port = dut.wide if fast_in else dut.narrow

    def reset(domain, cycles):
        async def process(ctx):
            ctx.set(domain.rst, 1)
            for _ in range(cycles + 1):
                await ctx.tick(domain.name)
            ctx.set(domain.rst, 0)
        return process

    async def source(ctx):
        for word in sent:
            ctx.set(i_port.as_value(), word)
            await ctx.tick(in_domain)

    async def sink(ctx):
        started = False
        for cycle in range(out_cycles):
            await ctx.tick(out_domain)
            valid = ctx.get(dut.valid)
            flags["error"] |= bool(ctx.get(dut.error))
            if started and not valid:
                flags["valid_fell"] = True
            if valid:
                if not started:
                    flags["first_out"] = cycle
                started = True
                got.append(ctx.get(o_port.as_value()))

    sim.add_testbench(reset(sclk, sclk_reset_cycles))
    sim.add_testbench(reset(sync, sync_reset_cycles))
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    assert not flags["error"] and not flags["valid_fell"]
    ins = _channel_streams(sent, channels, in_width)
    outs = _channel_streams(got, channels, out_width)
    starts = {_assert_continues(outs[c], ins[c], in_width) for c in range(channels)}
    assert len(starts) == 1, "all channels delayed alike"
    # latency, in ns, from the input edge that took the first word out to the
    # output edge that presents it: a few slow-clock cycles
    slow_ns, fast_ns = SYNC_NS, SYNC_NS / ratio
    in_ns, out_ns = (fast_ns, slow_ns) if fast_in else (slow_ns, fast_ns)
    latency = (flags["first_out"] + 1) * out_ns - (starts.pop() // in_width + 1) * in_ns
    assert 0 < latency < 12 * slow_ns, latency
    return latency


@pytest.mark.parametrize("phase_ns,sclk_reset_cycles,sync_reset_cycles", PHASES)
def test_widener_keeps_every_sample_in_order(phase_ns, sclk_reset_cycles, sync_reset_cycles):
    _run(SampleWidener(channels=3), fast_in=True, phase_ns=phase_ns, seed=int(phase_ns * 100),
         sclk_reset_cycles=sclk_reset_cycles, sync_reset_cycles=sync_reset_cycles)


@pytest.mark.parametrize("phase_ns,sclk_reset_cycles,sync_reset_cycles", PHASES)
def test_narrower_keeps_every_sample_in_order(phase_ns, sclk_reset_cycles, sync_reset_cycles):
    _run(SampleNarrower(channels=3), fast_in=False, phase_ns=phase_ns, seed=int(phase_ns * 100) + 1,
         sclk_reset_cycles=sclk_reset_cycles, sync_reset_cycles=sync_reset_cycles)


def test_other_ratios():
    _run(SampleWidener(channels=2, samples_in=2, ratio=4), fast_in=True, phase_ns=1.1,
         sclk_reset_cycles=2, slow_cycles=120)
    _run(SampleNarrower(channels=2, samples_in=2, ratio=4), fast_in=False, phase_ns=1.1,
         sclk_reset_cycles=2, slow_cycles=120)
    # the ULX3S: 4 samples per 200 MHz SCLK cycle, 16 per 50 MHz core cycle
    _run(SampleWidener(channels=3, samples_in=4, ratio=4), fast_in=True, phase_ns=2.7,
         sclk_reset_cycles=3, slow_cycles=120)
    _run(SampleNarrower(channels=2, samples_in=4, ratio=4), fast_in=False, phase_ns=1.3,
         sclk_reset_cycles=1, sync_reset_cycles=2, slow_cycles=120)


def test_bad_arguments():
    with pytest.raises(ValueError):
        SampleWidener(channels=0)
    with pytest.raises(ValueError):
        SampleNarrower(channels=2, ratio=0)


@pytest.mark.parametrize("dut,fast_in,sclk_ns", [
    (lambda: SampleWidener(channels=2), True, 5.2),      # input clock too slow: the FIFO drains
    (lambda: SampleWidener(channels=2), True, 4.8),      # too fast: it fills
    (lambda: SampleNarrower(channels=2), False, 5.2),    # output clock too slow: it fills
    (lambda: SampleNarrower(channels=2), False, 4.8),    # too fast: it drains
])
def test_a_broken_clock_ratio_is_reported(dut, fast_in, sclk_ns):
    """Clocks not exactly 2:1 (a PLL out of lock) must raise ``error``, not
    silently drop or repeat samples."""
    dut = dut()
    m = Module()
    m.submodules.dut = dut
    m.domains.sync = ClockDomain()
    m.domains.sclk = ClockDomain()
    sim = Simulator(m)
    sim.add_clock(SYNC_NS * 1e-9, domain="sync")
    sim.add_clock(sclk_ns * 1e-9, phase=1e-9, domain="sclk")
    seen = {"valid": False, "error": False}

    async def watch(ctx):
        for _ in range(600):
            await ctx.tick("sync")
            seen["valid"] |= bool(ctx.get(dut.valid)) if fast_in else False
            seen["error"] |= bool(ctx.get(dut.error)) if fast_in else False

    async def watch_sclk(ctx):
        for _ in range(1200):
            await ctx.tick("sclk")
            if not fast_in:
                seen["valid"] |= bool(ctx.get(dut.valid))
                seen["error"] |= bool(ctx.get(dut.error))

    sim.add_testbench(watch)
    sim.add_testbench(watch_sclk)
    sim.run()
    assert seen["valid"], "the gearbox started"
    assert seen["error"], "the broken ratio went unreported"


def test_widener_reader_reset_while_running_places_itself_again():
    """The widener's writer runs from configuration; resetting the reading side
    mid-stream stops the output, and it starts again, in order, at one latency."""
    dut = SampleWidener(channels=2, samples_in=4, ratio=4)
    sim, sync, _ = _bench(dut, 1.7, 4)
    rng = random.Random(5)
    sent = [rng.getrandbits(8) for _ in range(4 * 400)]
    runs = [[], []]                 # output words before and after the reset

    async def source(ctx):
        for word in sent:
            ctx.set(dut.narrow.as_value(), word)
            await ctx.tick("sclk")

    async def sink(ctx):
        for cycle in range(380):
            if cycle == 150:
                ctx.set(sync.rst, 1)
            if cycle == 155:
                ctx.set(sync.rst, 0)
            await ctx.tick("sync")
            if ctx.get(dut.valid):
                runs[cycle > 150].append(ctx.get(dut.wide.as_value()))
            assert not ctx.get(dut.error)

    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    ins = _channel_streams(sent, 2, 4)
    for run in runs:
        outs = _channel_streams(run, 2, 16)
        assert len({_assert_continues(outs[c], ins[c], 4) for c in range(2)}) == 1
