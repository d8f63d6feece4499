"""Stimuli for the timing core: detector-like pulse trains and the words a PHY would deliver."""

from fractions import Fraction

import numpy as np

from .model import Waveform

__all__ = ["poisson", "periodic", "bursts", "word_stream"]


def poisson(rng, rate_hz, duration_ps, *, width_ps=3000, start_ps=0):
    """Clicks at Poisson times, each a pulse of ``width_ps``."""
    mean_gap = 1e12 / rate_hz
    count = rng.poisson(duration_ps / mean_gap) if duration_ps > 0 else 0
    starts = np.sort(rng.integers(start_ps, start_ps + duration_ps, size=count))
    return Waveform.from_pulses(starts, np.full(count, width_ps))


def periodic(period_ps, count, *, width_ps=3000, phase_ps=0):
    starts = phase_ps + period_ps * np.arange(count, dtype=np.int64)
    return Waveform.from_pulses(starts, np.full(count, width_ps))


def bursts(rng, *, burst_count, pulses_per_burst, pulse_gap_ps, burst_gap_ps, width_ps, start_ps=0):
    starts = []
    t = start_ps
    for _ in range(burst_count):
        t += int(rng.integers(burst_gap_ps // 2, burst_gap_ps))
        starts.extend(t + pulse_gap_ps * np.arange(pulses_per_burst))
        t += pulse_gap_ps * pulses_per_burst
    return Waveform.from_pulses(starts, np.full(len(starts), width_ps))


def word_stream(waveforms, channels, *, bin_ps, samples_per_cycle, first_tick, cycles):
    """The ``samples`` input for ``cycles`` cycles starting at tick ``first_tick``.

    Returns one Python int per cycle: channel ``c``'s N-bit word at bits
    ``c*N ... c*N+N-1``, sample 0 (earliest) in the lowest bit. The timebase
    must advance by N each cycle (no loads or steps) for these to line up.
    """
    n = samples_per_cycle
    ticks = first_tick + np.arange(cycles * n, dtype=np.int64)
    words = np.zeros(cycles, dtype=object)
    weights = (1 << np.arange(n, dtype=np.uint64)).astype(np.uint64)
    for c in range(channels):
        wf = waveforms.get(c)
        if wf is None or len(wf) == 0:
            continue
        times = sample_instants(ticks, bin_ps)
        bits = wf.levels(times).reshape(cycles, n).astype(np.uint64)
        chan_words = (bits * weights).sum(axis=1)
        if chan_words.any():
            words = words + np.array([int(w) << (c * n) for w in chan_words], dtype=object)
    return [int(w) for w in words]


def sample_instants(ticks, bin_ps):
    """Instant of each sample in whole ps, rounded down: for integer transition
    times, 't <= floor(s * bin)' is exactly 't <= s * bin'."""
    b = Fraction(bin_ps)
    return (np.asarray(ticks, dtype=np.int64) * b.numerator) // b.denominator
