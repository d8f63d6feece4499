"""Randomized stimulus scenarios for the timing core, shared by every simulator's tests.

A scenario is pure data: waveforms in picoseconds, channel settings, how many
cycles to drive and the consumer's readiness. The same scenario runs in
Amaranth's simulator, Icarus and Verilator, and is scored by the reference
model.
"""

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .model import ChannelSettings, Waveform
from . import stimulus

__all__ = ["Scenario", "SCENARIOS", "GUARD_CYCLES", "MAX_DELAY", "MAX_DEAD_TIME"]

GUARD_CYCLES = 32           # the stimulus starts this late, after reset and configuration
MAX_DELAY = 2 ** 16 - 1
MAX_DEAD_TIME = 2 ** 16 - 1


@dataclass
class Scenario:
    waveforms: dict
    settings: dict
    cycles: int
    ready: Callable = None          # cycle -> bool, None for always ready
    lossy: bool = False             # overflow expected: check gaps, not equality
    drain: int = 200                # idle cycles that mean everything is out
    notes: dict = field(default_factory=dict)


class _Context:
    def __init__(self, seed, channels, samples_per_cycle, bin_ps, scale):
        self.rng = np.random.default_rng(seed)
        self.channels = channels
        self.n = samples_per_cycle
        self.bin = bin_ps
        self.scale = scale
        self.cycle_ps = samples_per_cycle * bin_ps
        self.start_ps = GUARD_CYCLES * self.cycle_ps

    def span(self, cycles):
        return int(cycles * self.cycle_ps)

    def rate_hz(self, events_per_cycle):
        return events_per_cycle * 1e12 / self.cycle_ps

    def random_settings(self, max_delay_cycles=50, max_dead=64):
        rng = self.rng
        out = {}
        for c in range(self.channels):
            rising, falling = [(True, False), (False, True), (True, True)][rng.integers(3)]
            out[c] = ChannelSettings(
                enable=bool(rng.random() > 0.1), rising=rising, falling=falling,
                delay=int(rng.integers(0, max_delay_cycles * self.n + 1)),
                dead_time=int(rng.choice([0, 1, self.n - 1, self.n, self.n + 1,
                                          rng.integers(0, max_dead + 1)])))
        return out


def poisson(ctx):
    """Independent Poisson clicks, a random rate and random settings per channel."""
    cycles = int(2500 * ctx.scale)
    # up to 0.2 pulses per cycle in all (0.4 edges): within the merger's one per cycle
    wfs = {c: stimulus.poisson(ctx.rng, ctx.rate_hz(ctx.rng.uniform(0.01, 0.2) / ctx.channels),
                               ctx.span(cycles - 300),
                               width_ps=int(ctx.rng.integers(ctx.bin // 2, 6 * ctx.bin)),
                               start_ps=ctx.start_ps)
           for c in range(ctx.channels)}
    return Scenario(wfs, ctx.random_settings(), cycles)


def bursts(ctx):
    """Dense bursts of pulses separated by quiet gaps."""
    cycles = int(3000 * ctx.scale)
    wfs = {}
    for c in range(ctx.channels):
        wfs[c] = stimulus.bursts(ctx.rng, burst_count=max(1, cycles // (40 * ctx.channels)),
                                 pulses_per_burst=int(ctx.rng.integers(3, 12)),
                                 pulse_gap_ps=int(ctx.rng.integers(2, 6)) * ctx.cycle_ps + int(ctx.rng.integers(ctx.bin)),
                                 burst_gap_ps=ctx.span(40 * ctx.channels), width_ps=int(ctx.cycle_ps),
                                 start_ps=ctx.start_ps)
    settings = {c: ChannelSettings(rising=True, falling=bool(c % 2), dead_time=0) for c in range(ctx.channels)}
    return Scenario(wfs, settings, cycles)


def every_position(ctx):
    """Edges walking through every sample position and across word boundaries."""
    cycles = int(1500 * ctx.scale)
    wfs = {}
    for c in range(ctx.channels):
        # (k*N + 1) bins and a fraction: successive edges walk through every position
        k = int(ctx.rng.integers(2 * ctx.channels, 4 * ctx.channels))
        period = (k * ctx.n + 1) * ctx.bin + int(ctx.rng.integers(ctx.bin))
        width = int(ctx.rng.integers(1, 2 * ctx.n)) * ctx.bin + int(ctx.rng.integers(ctx.bin))
        count = (ctx.span(cycles - 100) // period) - 1
        wfs[c] = stimulus.periodic(period, count, width_ps=width,
                                   phase_ps=ctx.start_ps + int(ctx.rng.integers(ctx.bin)))
    settings = {c: ChannelSettings(rising=True, falling=True, dead_time=0) for c in range(ctx.channels)}
    return Scenario(wfs, settings, cycles)


def simultaneous(ctx):
    """The same pulses on every channel at once, spaced so the merger keeps up."""
    cycles = int(2500 * ctx.scale)
    spacing = 2 * ctx.channels + 4
    count = (cycles - 200) // spacing
    starts = ctx.start_ps + np.cumsum(ctx.rng.integers(spacing, 2 * spacing, size=count)) * ctx.cycle_ps \
        + ctx.rng.integers(0, ctx.cycle_ps, size=count)
    starts = starts[starts < ctx.start_ps + ctx.span(cycles - 200)]
    wf = Waveform.from_pulses(starts, np.full(len(starts), 2 * ctx.bin))
    settings = {c: ChannelSettings(rising=True, falling=True) for c in range(ctx.channels)}
    return Scenario({c: wf for c in range(ctx.channels)}, settings, cycles)


def glitches(ctx):
    """Pulses shorter than one sample: seen as one-sample pulses or not at all."""
    cycles = int(2000 * ctx.scale)
    wfs = {}
    for c in range(ctx.channels):
        count = int((cycles - 200) * 0.2 / ctx.channels)
        starts = ctx.start_ps + np.sort(ctx.rng.choice(ctx.span(cycles - 200), size=count, replace=False))
        wfs[c] = Waveform.from_pulses(starts, ctx.rng.integers(1, ctx.bin, size=count))
    settings = {c: ChannelSettings(rising=True, falling=True) for c in range(ctx.channels)}
    return Scenario(wfs, settings, cycles)


def limits(ctx):
    """Delays and dead times at their limits: 0, N-1, N, N+1 and the register maximum.

    About 8 pulses (16 edges) per channel in the first few hundred cycles, all
    in a maximally delayed channel's queue at once; the run then lasts the
    maximum delay and a margin, by which time every event is out. No idle
    drain of another full delay is needed: the reference model says which
    events must have come by then, so a late or missing one fails the test.
    """
    delay_cycles = MAX_DELAY // ctx.n + 1
    stimulus_cycles = int(600 * ctx.scale) + 200
    cycles = stimulus_cycles + delay_cycles + 200
    choices = [(0, 0), (MAX_DELAY, 0), (0, MAX_DEAD_TIME), (MAX_DELAY, MAX_DEAD_TIME),
               (1, ctx.n - 1), (ctx.n, ctx.n), (MAX_DELAY - 1, ctx.n + 1), (0, 1)]
    wfs, settings = {}, {}
    for c in range(ctx.channels):
        delay, dead = choices[c % len(choices)]
        wfs[c] = stimulus.poisson(ctx.rng, ctx.rate_hz(8 / (stimulus_cycles - 200)), ctx.span(stimulus_cycles - 200),
                                  width_ps=ctx.cycle_ps, start_ps=ctx.start_ps)
        settings[c] = ChannelSettings(rising=True, falling=True, delay=delay, dead_time=dead)
    return Scenario(wfs, settings, cycles)


def overflow(ctx):
    """Ten times more events than the consumer takes: every loss must be marked."""
    cycles = int(3000 * ctx.scale) + 100 * ctx.channels    # well past filling every buffer
    per_channel_rate = 0.5 / ctx.channels             # events per cycle, per channel
    wfs = {c: stimulus.poisson(ctx.rng, ctx.rate_hz(per_channel_rate), ctx.span(cycles - 200), width_ps=ctx.cycle_ps,
                               start_ps=ctx.start_ps)
           for c in range(ctx.channels)}
    settings = {c: ChannelSettings(rising=True, delay=int(ctx.rng.integers(0, 200))) for c in range(ctx.channels)}
    take = np.random.default_rng(int(ctx.rng.integers(2**32))).random(cycles * 20) < 0.05
    return Scenario(wfs, settings, cycles, ready=lambda cycle: bool(take[cycle % len(take)]),
                    lossy=True, notes={"offered_per_cycle": 0.5, "accepted_per_cycle": 0.05})


SCENARIOS = {f.__name__: f for f in (poisson, bursts, every_position, simultaneous, glitches, limits, overflow)}


def make(name, *, seed, channels, samples_per_cycle, bin_ps, scale=1.0):
    """Build scenario ``name``; every waveform is low for its last 100 cycles."""
    ctx = _Context(seed, channels, samples_per_cycle, bin_ps, scale)
    scenario = SCENARIOS[name](ctx)
    end_ps = ctx.start_ps + ctx.span(scenario.cycles - GUARD_CYCLES - 100)
    scenario.waveforms = {c: wf.truncated(end_ps) for c, wf in scenario.waveforms.items()}
    return scenario
