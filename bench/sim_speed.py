#!/usr/bin/env python3
"""Simulation speed of the timing core in Amaranth's simulator, Icarus and Verilator.

Prints cycles per second for the same design (the timing core, default 4
channels, 4 samples per cycle) in two modes: free-running (clock only, inputs
still) and driven (Poisson clicks on every channel through the testbench's
driver, events drained by its sink). Build time is not counted.

    python bench/sim_speed.py [--channels 4] [--samples-per-cycle 4] [--scale 1]
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from amaranth.sim import Simulator

from qnu.gateware import TimingCore
from qnu.sim import stimulus
from qnu.sim.runner import CoreBuild


def amaranth_speed(channels, n, clock_hz, scale):
    results = {}
    core = TimingCore(channels=channels, samples_per_cycle=n, clock_hz=clock_hz)
    cycles = int(20_000 * scale)
    sim = Simulator(core)
    sim.add_clock(1 / clock_hz)
    t0 = time.perf_counter()
    sim.run_until(cycles / clock_hz)
    results["free_running"] = cycles / (time.perf_counter() - t0)

    core = TimingCore(channels=channels, samples_per_cycle=n, clock_hz=clock_hz)
    cycles = int(4_000 * scale)
    bin_ps = 10 ** 12 // (clock_hz * n)
    rng = np.random.default_rng(1)
    rate = 0.3 / channels * clock_hz
    wfs = {c: stimulus.poisson(rng, rate, cycles * n * bin_ps, width_ps=n * bin_ps) for c in range(channels)}
    words = stimulus.word_stream(wfs, channels, bin_ps=bin_ps, samples_per_cycle=n, first_tick=n, cycles=cycles)
    events = 0

    async def bench(ctx):
        nonlocal events
        for c in range(channels):
            ctx.set(core.channel_config[c].enable, 1)
            ctx.set(core.channel_config[c].rising, 1)
        ctx.set(core.events.ready, 1)
        for w in words:
            ctx.set(core.samples.as_value(), w)
            _, _, valid = await ctx.tick().sample(core.events.valid)
            events += valid

    sim = Simulator(core)
    sim.add_clock(1 / clock_hz)
    sim.add_testbench(bench)
    t0 = time.perf_counter()
    sim.run()
    results["driven"] = cycles / (time.perf_counter() - t0)
    return results


def external_speed(simulator, channels, n, clock_hz, scale):
    build = CoreBuild(simulator, channels=channels, samples_per_cycle=n, clock_hz=clock_hz).build()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "speed.jsonl"
        for mode in ("free_running", "driven"):
            build.test(mode, test_module="qnu.sim.tb.speed_tb", scale=scale, report=report)
        for line in report.read_text().splitlines():
            fig = json.loads(line)
            results[fig["mode"]] = fig["cycles"] / fig["seconds"]
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--samples-per-cycle", type=int, default=4)
    parser.add_argument("--clock-hz", type=int, default=100_000_000)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the cycle counts")
    parser.add_argument("--simulators", default="amaranth,icarus,verilator")
    args = parser.parse_args(argv)

    rows = {}
    for sim in args.simulators.split(","):
        print(f"measuring {sim} ...", file=sys.stderr, flush=True)
        if sim == "amaranth":
            rows[sim] = amaranth_speed(args.channels, args.samples_per_cycle, args.clock_hz, args.scale)
        else:
            rows[sim] = external_speed(sim, args.channels, args.samples_per_cycle, args.clock_hz, args.scale)

    print(f"\nTiming core, {args.channels} channels, {args.samples_per_cycle} samples/cycle: "
          f"simulated cycles per second")
    print(f"{'simulator':<12}{'free-running':>16}{'driven (cocotb/testbench)':>28}")
    for sim, r in rows.items():
        print(f"{sim:<12}{r['free_running']:>16,.0f}{r['driven']:>28,.0f}")
    base = rows.get("amaranth")
    if base:
        for sim, r in rows.items():
            if sim != "amaranth":
                print(f"{sim} vs Amaranth: {r['free_running'] / base['free_running']:.1f}x free-running, "
                      f"{r['driven'] / base['driven']:.1f}x driven")


if __name__ == "__main__":
    main()
