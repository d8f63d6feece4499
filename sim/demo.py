"""The tagging demo: the timing core in simulation, tagging a few lab-like sources."""

import time

import numpy as np

from qnu.gateware import TimingCore
from qnu.analysis import count_rates, coincidences
from qnu.units import TickClock
from .amaranth_bench import run_core
from .model import ChannelSettings, Waveform, expected_events, OVERFLOW
from .scoreboard import check_lossless
from . import stimulus

__all__ = ["run_demo"]

CORRELATION_DELAY_PS = 12_500


def _sources(rng, duration_ps, start_ps):
    laser = stimulus.periodic(200_000, duration_ps // 200_000, width_ps=5_000, phase_ps=start_ps + 1_234)
    photons_a = np.sort(rng.integers(start_ps, start_ps + duration_ps, size=rng.poisson(1.5e6 * duration_ps / 1e12)))
    # detector B sees 30 % of A's photons 12.5 ns later (300 ps RMS jitter), plus its own noise
    chosen = photons_a[rng.random(len(photons_a)) < 0.3]
    twins = chosen + CORRELATION_DELAY_PS + np.round(rng.normal(0, 300, size=len(chosen))).astype(np.int64)
    noise_b = rng.integers(start_ps, start_ps + duration_ps, size=rng.poisson(2e5 * duration_ps / 1e12))
    photons_b = np.sort(np.concatenate([twins, noise_b]))
    dark = rng.integers(start_ps, start_ps + duration_ps, size=rng.poisson(5e4 * duration_ps / 1e12))
    width = 3_000
    return {
        0: ("laser sync, 5 MHz", laser),
        1: ("detector A, 1.5 MHz", Waveform.from_pulses(photons_a, np.full(len(photons_a), width))),
        2: ("detector B, 30% of A +12.5 ns", Waveform.from_pulses(photons_b, np.full(len(photons_b), width))),
        3: ("dark counts, 50 kHz", Waveform.from_pulses(np.sort(dark), np.full(len(dark), width))),
    }


def run_demo(*, cycles=20_000, clock_hz=100_000_000, samples_per_cycle=4, seed=1, out=print, listing=12):
    n = samples_per_cycle
    ticks = TickClock(clock_hz, n)
    bin_ps = ticks.bin_ps
    cycle_ps = int(bin_ps * n)
    rng = np.random.default_rng(seed)
    start_ps = 32 * cycle_ps
    duration_ps = (cycles - 132) * cycle_ps
    sources = _sources(rng, duration_ps, start_ps)
    waveforms = {c: wf for c, (_, wf) in sources.items()}
    # detector A's delay lines its tags up with B's twins
    settings = {0: ChannelSettings(), 1: ChannelSettings(delay=int(ticks.to_ticks(CORRELATION_DELAY_PS))),
                2: ChannelSettings(), 3: ChannelSettings()}
    core = TimingCore(channels=len(sources), samples_per_cycle=n, clock_hz=clock_hz)

    out(f"QNU tagging demo: the timing core in Amaranth's simulator, {len(sources)} channels, "
        f"{clock_hz / 1e6:g} MHz x {n} samples/cycle = {float(bin_ps):g} ps bins")
    t0 = time.perf_counter()
    run = run_core(core, waveforms, settings, cycles=cycles, bin_ps=bin_ps)
    wall = time.perf_counter() - t0
    sim_ps = run.cycles * cycle_ps
    out(f"simulated {sim_ps / 1e6:,.1f} us ({run.cycles:,} cycles) in {wall:.1f} s "
        f"({run.cycles / wall:,.0f} cycles/s)\n")

    tags = [e for e in run.events if e.kind != OVERFLOW]
    chans = np.array([e.channel for e in tags], dtype=np.int64)
    stamps = ticks.to_ps(np.array([e.timestamp for e in tags], dtype=np.int64))
    rates = count_rates(chans, duration_ps, len(sources))
    expected = expected_events(waveforms, settings, bin_ps=bin_ps, samples_per_cycle=n, start_tick=run.first_tick)

    out(f"{'ch':>2}  {'source':<32}{'tags':>7}{'lost':>6}{'rate':>12}{'model':>8}")
    for c, (name, _) in sources.items():
        model_count = sum(e.channel == c for e in expected)
        out(f"{c:>2}  {name:<32}{run.event_counts[c]:>7}{run.lost_counts[c]:>6}"
            f"{rates[c] / 1e3:>9,.1f} kHz{model_count:>8}")
    window = 2 * int(bin_ps)
    pairs = coincidences(stamps[chans == 1], stamps[chans == 2], window)
    out(f"\ncoincidences A (delayed 12.5 ns) & B within +-{window} ps: {pairs}")

    out(f"\nfirst {listing} tags (time in ps, middle of the {float(bin_ps):g} ps bin):")
    out(f"{'#':>4}  {'ch':>2}  {'edge':<8}{'time (ps)':>16}")
    for i, (e, t) in enumerate(zip(tags[:listing], stamps[:listing])):
        out(f"{i:>4}  {e.channel:>2}  {e.kind:<8}{int(t):>16,}")

    check_lossless(run.events, expected, event_counts=run.event_counts, lost_counts=run.lost_counts)
    out(f"\nall {len(expected)} tags match the reference model, none lost")
    return run
