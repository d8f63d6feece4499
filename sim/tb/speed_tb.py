"""cocotb side of the simulation-speed benchmark (bench/sim_speed.py).

``free_running`` lets the clock run with the inputs still: the simulator's own
speed. ``driven`` feeds Poisson clicks on every channel and drains the event
stream through the same driver and sink as the tests: the speed a testbench
sees. Each writes {"mode", "cycles", "seconds"} to ``QNU_REPORT``.
"""

import json
import os
import time

import cocotb
from cocotb.triggers import ClockCycles

from qnu.sim import stimulus
from qnu.sim.scenarios import GUARD_CYCLES
from qnu.sim.tb.core_tb import CHANNELS, N, TICKS, SCALE, SEED, reset, configure
from qnu.sim.tb.drivers import SampleDriver, StreamSink
from qnu.sim.model import ChannelSettings

import numpy as np


def _report(**fig):
    with open(os.environ["QNU_REPORT"], "a") as f:
        f.write(json.dumps(fig) + "\n")


@cocotb.test()
async def free_running(dut):
    await reset(dut)
    cycles = int(200_000 * SCALE)
    t0 = time.perf_counter()
    await ClockCycles(dut.clk, cycles)
    _report(mode="free_running", cycles=cycles, seconds=time.perf_counter() - t0)


@cocotb.test()
async def driven(dut):
    await reset(dut)
    cycles = int(20_000 * SCALE)
    rng = np.random.default_rng(SEED)
    cycle_ps = int(TICKS.bin_ps * N)
    rate = 0.3 / CHANNELS * 1e12 / cycle_ps
    wfs = {c: stimulus.poisson(rng, rate, cycles * cycle_ps, start_ps=GUARD_CYCLES * cycle_ps,
                               width_ps=cycle_ps) for c in range(CHANNELS)}
    configure(dut, {c: ChannelSettings() for c in range(CHANNELS)})
    sink = StreamSink(dut, "events").start()
    driver = SampleDriver(dut, N)
    words = None

    def make_words(first):
        nonlocal words
        words = stimulus.word_stream(wfs, CHANNELS, bin_ps=TICKS.bin_ps, samples_per_cycle=N,
                                     first_tick=first, cycles=cycles)
        return words

    t0 = time.perf_counter()
    await driver.run(make_words)
    seconds = time.perf_counter() - t0
    sink.stop()
    _report(mode="driven", cycles=cycles, seconds=seconds, events=len(sink.records))
