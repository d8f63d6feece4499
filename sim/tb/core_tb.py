"""cocotb tests of the timing core's Verilog, scored by the reference model.

Run from pytest (tests/test_core_cocotb.py) through cocotb's runner. The
design's parameters arrive in the environment variable ``QNU_CORE`` (JSON:
channels, samples_per_cycle, clock_hz, counter_width, seed, scale); figures
worth reporting are written as JSON lines to the file named by ``QNU_REPORT``.
"""

import json
import os

import cocotb
import numpy as np
from amaranth.lib import data
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

from qnu.gateware.timing.event import ChannelConfig, event_layout
from qnu.units import TickClock
from qnu.sim import scenarios
from qnu.sim.model import Event, Waveform, ChannelSettings, expected_events, RISING, FALLING, OVERFLOW
from qnu.sim.scoreboard import check_lossless, check_lossy
from qnu.sim.stimulus import word_stream
from qnu.sim.tb.drivers import Fields, SampleDriver, StreamSink, pack_config, unpack_array

PARAMS = json.loads(os.environ.get("QNU_CORE", "{}"))
CHANNELS = PARAMS.get("channels", 4)
N = PARAMS.get("samples_per_cycle", 4)
CLOCK_HZ = PARAMS.get("clock_hz", 100_000_000)
TICKS = TickClock(CLOCK_HZ, N)
COUNTER_WIDTH = PARAMS.get("counter_width", 32)
SEED = PARAMS.get("seed", 1)
SCALE = PARAMS.get("scale", 1.0)

KINDS = {0: RISING, 1: FALLING, 2: OVERFLOW}
EVENT = Fields({name: f.width for name, f in event_layout(CHANNELS)})
CONFIG = Fields({name: f.width for name, f in data.Layout.cast(ChannelConfig)})


def report(**figures):
    path = os.environ.get("QNU_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(figures) + "\n")


async def reset(dut):
    period_ns = 1e9 / CLOCK_HZ
    cocotb.start_soon(Clock(dut.clk, period_ns, unit="ns").start())
    dut.rst.value = 1
    dut.samples.value = 0
    dut.events__ready.value = 0
    dut.load__valid.value = 0
    dut.load__payload.value = 0
    dut.adjust__valid.value = 0
    dut.adjust__payload.value = 0
    dut.pulse_period.value = CLOCK_HZ * N
    dut.channel_config.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await FallingEdge(dut.clk)


def configure(dut, settings):
    configs = []
    for c in range(CHANNELS):
        s = settings.get(c, ChannelSettings(enable=False))
        configs.append(dict(enable=s.enable, rising=s.rising, falling=s.falling,
                            delay=s.delay, dead_time=s.dead_time))
    dut.channel_config.value = pack_config(CONFIG, configs)


def decode(records):
    out = []
    for raw in records:
        f = EVENT.unpack(raw)
        out.append(Event(f["timestamp"], f["channel"], KINDS[f["kind"]], f["lost"]))
    return out


async def run(dut, waveforms, settings, cycles, *, ready=None, drain=200):
    """Drive the waveforms, drain the stream; return (first_tick, events, counts, losts)."""
    await reset(dut)
    configure(dut, settings)
    sink = StreamSink(dut, "events", ready=ready).start()
    driver = SampleDriver(dut, N)
    await driver.run(lambda first: word_stream(waveforms, CHANNELS, bin_ps=TICKS.bin_ps,
                                               samples_per_cycle=N, first_tick=first, cycles=cycles))
    await sink.wait_idle(drain)
    sink.stop()
    counts = unpack_array(int(dut.event_counts.value), COUNTER_WIDTH, CHANNELS)
    losts = unpack_array(int(dut.lost_counts.value), COUNTER_WIDTH, CHANNELS)
    return driver.first_tick, decode(sink.records), counts, losts


async def run_scenario(dut, name):
    sc = scenarios.make(name, seed=SEED, channels=CHANNELS, samples_per_cycle=N,
                        bin_ps=TICKS.bin_ps, scale=SCALE)
    first, events, counts, losts = await run(dut, sc.waveforms, sc.settings, sc.cycles,
                                             ready=sc.ready, drain=sc.drain)
    expected = expected_events(sc.waveforms, sc.settings, bin_ps=TICKS.bin_ps,
                               samples_per_cycle=N, start_tick=first)
    assert expected, "the scenario produced no events"
    if sc.lossy:
        delivered, lost = check_lossy(events, expected, event_counts=counts, lost_counts=losts)
        assert delivered > 0 and lost > 0, f"no overflow happened: {delivered} delivered, {lost} lost"
        assert delivered + lost == len(expected)
        report(test=name, injected=len(expected), delivered=delivered, lost=lost,
               markers=sum(e.kind == OVERFLOW for e in events))
    else:
        check_lossless(events, expected, event_counts=counts, lost_counts=losts)
        report(test=name, events=len(expected))


@cocotb.test()
async def poisson_streams(dut):
    await run_scenario(dut, "poisson")


@cocotb.test()
async def bursts(dut):
    await run_scenario(dut, "bursts")


@cocotb.test()
async def edges_on_every_sample_position(dut):
    await run_scenario(dut, "every_position")


@cocotb.test()
async def simultaneous_edges_on_all_channels(dut):
    await run_scenario(dut, "simultaneous")


@cocotb.test()
async def glitches_shorter_than_a_sample(dut):
    await run_scenario(dut, "glitches")


@cocotb.test()
async def delay_and_dead_time_limits(dut):
    await run_scenario(dut, "limits")


@cocotb.test()
async def overflow_under_tenfold_overload(dut):
    await run_scenario(dut, "overflow")


@cocotb.test()
async def timestamp_accuracy(dut):
    """Edges at known picosecond times, random phase to the clock."""
    rng = np.random.default_rng(SEED)
    count = int(2000 * SCALE)
    cycle_ps = int(TICKS.bin_ps * N)
    spacing = 4                                   # cycles between pulses
    start = scenarios.GUARD_CYCLES * cycle_ps
    edges = start + np.arange(count) * spacing * cycle_ps + rng.integers(0, spacing * cycle_ps // 2, size=count)
    wf = Waveform.from_pulses(edges, np.full(count, cycle_ps))
    cycles = scenarios.GUARD_CYCLES + count * spacing + 50
    _, events, _, _ = await run(dut, {0: wf}, {0: ChannelSettings()}, cycles)
    assert len(events) == count, f"{len(events)} tags for {count} edges"
    measured = TICKS.to_ps(np.array([e.timestamp for e in events], dtype=np.int64))
    error = measured - edges
    bin_ps = float(TICKS.bin_ps)
    mean, rms = float(error.mean()), float(np.sqrt((error.astype(float) ** 2).mean()))
    limit = bin_ps / np.sqrt(12)
    report(test="timestamp_accuracy", bin_ps=bin_ps, edges=count, mean_ps=mean, rms_ps=rms,
           quantization_limit_ps=limit, max_abs_ps=float(np.abs(error).max()))
    assert np.abs(error).max() <= bin_ps / 2, "an error beyond half a bin"
    # zero mean within 5 standard errors, RMS within 5 standard errors of the limit
    assert abs(mean) < 5 * limit / np.sqrt(count), f"mean error {mean} ps"
    assert abs(rms / limit - 1) < 5 * 0.447 / np.sqrt(count), f"RMS {rms} ps vs {limit} ps"
