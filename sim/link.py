"""The simulated entanglement link: the physics Monte Carlo makes each
attempt's detector clicks, and the midpoint station decides: the real herald
gateware on a virtual board (backend ``verilator``), or the herald model
(backend ``model``, for sweeps). Both see the same detector edges and decide
on whole ticks of the station's clock, so for one seed they give the same
outcomes; the closed forms (:mod:`qnu.sim.physics.analytic`, with the tick
windows) say what to expect.

The station runs its own attempt loop as the reference: attempt ``k``
starts at tick ``start + k * period``; the nodes' lasers fire early by their
fibre delays, so the photons reach the detectors ``window_offset`` after it.
(The nodes' own gateware in the loop, with cables back, is the three-board
co-simulation: docs/link.md says what is and is not built yet.)
"""

import json
import math
import time
from pathlib import Path

import numpy as np

from qnu.herald import Outcome, scheme_table
from .herald_model import HeraldModel, HeraldSettings, clicks_from_events
from .model import ChannelSettings, Waveform, expected_events
from .physics import Analytic, simulate
from .sources import Source

__all__ = ["Link", "Replay", "run_link", "link_results", "station_outcomes", "model_outcomes", "write_results",
           "BACKENDS"]

BACKENDS = ("verilator", "model")
SETUP_PS = 10 ** 10                    # 10 ms of simulated time for the host to configure the station
PULSE_PS = 5_000                       # a detector's output pulse (shorter if its dead time is)


class Replay(Source):
    """Pulses at given times on one channel (a detector's output, made elsewhere)."""
    kind = "replay"

    def __init__(self, channel, starts, width=PULSE_PS):
        self.channels, self.width = (channel,), int(width)
        self.starts = np.asarray(starts, dtype=np.int64)

    def pulses(self, rng, t0, t1):
        lo, hi = np.searchsorted(self.starts, [t0, t1])
        return self._single(self.starts[lo:hi])


class Link:
    """One link run's plan: tick windows, the attempts' ticks, the clicks as detector edges."""

    def __init__(self, config):
        self.config = c = config
        self.n, self.bin_ps = c.samples_per_cycle, c.bin_ps
        p = c.physics
        b = self.bin_ps
        self.window = max(1, round(p.window_ps / b))
        self.offsets = [round(o / b) for o in p.window_offsets()]
        self.period = round(c.period_ps / b)
        if max(self.offsets) + self.window > self.period:
            raise ValueError(f"the windows end {max(self.offsets) + self.window} ticks after the attempt start, "
                             f"beyond the period of {self.period} ticks")
        # the physics on the tick grid: a click's tick is the first sample at or
        # after it, so window [o, o + w) of ticks takes clicks in ((o - 1) b, (o + w - 1) b];
        # by default the photons arrive as it opens
        q = dict(window_ps=self.window * b, window_offset_ps=(self.offsets[0] - 1) * b, arrival_ps=p.arrival_ps)
        if p.rounds == 2:
            q.update(late_window_offset_ps=(self.offsets[1] - 1) * b, late_arrival_ps=p.late_arrival_ps)
        self.physics = p.with_(**q)
        self.analytic = Analytic(self.physics)
        self.start = math.ceil(SETUP_PS / b / self.n) * self.n      # the first attempt's tick
        self.width = int(max(b, min(PULSE_PS, p.detector.dead_time_ps / 2)))
        self.table, _ = scheme_table(p.scheme)

    def clicks(self):
        """The Monte Carlo's clicks, and each detector's pulse start times (ps on the station's axis)."""
        clicks = simulate(self.physics, self.config.count, seed=self.config.seed)
        t = (self.start + clicks.attempt * self.period) * self.bin_ps + clicks.time_ps
        starts = {d: np.sort(np.rint(t[clicks.detector == d]).astype(np.int64)) for d in (0, 1)}
        return clicks, starts

    def attempt_starts(self):
        return [self.start + k * self.period for k in range(self.config.count)]

    def settings(self, reference=None):
        return HeraldSettings(self.n, detectors=(0, 1), windows=tuple((o, self.window) for o in self.offsets),
                              table=tuple(self.table), reference=reference)

    def decide_model(self, starts):
        """Outcomes of every attempt by the herald model, from the tagger model's clicks."""
        return model_outcomes(self.settings(), starts, self.width, self.bin_ps, self.attempt_starts())


def _decide_gateware(link, starts, progress):
    """Outcomes of every attempt by the herald unit of a station on a virtual board."""
    from qnu.host import Device
    from .virtual_board import VirtualBoard
    c = link.config
    sources = [Replay(d, starts[d], link.width) for d in (0, 1)]
    record = (Outcome.PSI_PLUS, Outcome.PSI_MINUS, Outcome.REJECT)
    with VirtualBoard(backend="verilator", channels=2, samples_per_cycle=link.n, clock_hz=c.clock_hz, divisor=8,
                      outputs=2, sources=sources, seed=c.seed) as board, Device(board.path, timeout=10) as dev:
        for d in (0, 1):        # not streamed: the herald sees the clicks all the same
            dev.configure(d, enable=False, rising=True, dead_time_ps=round(link.n * link.bin_ps))
        dev.regs["att_period"] = link.period
        b = link.bin_ps
        late = {"late_window_offset_ps": round(link.offsets[1] * b)} if len(link.offsets) == 2 else {}
        dev.herald.configure(scheme=c.physics.scheme, detectors=(0, 1), window_ps=round(link.window * b),
                             window_offset_ps=round(link.offsets[0] * b), success_output=0, state_output=1,
                             record=record, **late)
        latency = dev.herald.latency_cycles
        before = dev.herald.counts()
        if dev.read_time() >= link.start:
            raise RuntimeError("the station's setup took longer than its simulated setup time: nothing was run")
        dev.attempts.start(period_ps=round(link.period * b), count=c.count, pattern=[], start_ps=round(link.start * b))
        done = []

        def finished():
            status = dev.attempts.status()
            progress(status.attempts)
            if not status.running and not done:
                done.append(time.monotonic())
            return bool(done) and time.monotonic() - done[0] > 0.3
        rec = dev.record(until=finished, poll_s=0.1)
        counts = {k: v - before[k] for k, v in dev.herald.counts().items()}
    if counts["references"] != c.count:
        raise RuntimeError(f"the station's herald lost track: {counts}")
    return station_outcomes(rec, counts), latency


def station_outcomes(rec, counts):
    """Each attempt's outcome from a station's recording (only non-fail outcomes are recorded), checked
    against its herald counters (``counts``: their increase over the run)."""
    if counts["records_lost"]:
        raise RuntimeError(f"the station's UART could not carry its herald records ({counts['records_lost']} lost, "
                           f"{counts}): fewer attempts per second or fewer successes")
    if rec.missing_total:
        raise RuntimeError(f"{rec.missing_total} of the station's records were lost on the line: {counts}")
    outcomes = np.zeros(counts["references"], dtype=np.int64)
    for h in rec.heralds:
        outcomes[h.attempt] = h.outcome
    if counts["fail"] != int((outcomes == Outcome.FAIL).sum()):
        raise RuntimeError(f"the herald records and the fail count disagree: {counts}")
    return outcomes


def model_outcomes(settings, pulse_starts_ps, width_ps, bin_ps, references):
    """Each attempt's outcome by the herald model (``settings``), from the tagger model's view of
    detector pulses starting at ``pulse_starts_ps`` (detector channel -> ps), ``width_ps`` wide."""
    n = settings.samples_per_cycle
    waveforms = {d: Waveform.from_pulses(s, np.full(len(s), width_ps)) for d, s in pulse_starts_ps.items()}
    dead = {d: ChannelSettings(rising=True, dead_time=n) for d in pulse_starts_ps}
    events = expected_events(waveforms, dead, bin_ps=bin_ps, samples_per_cycle=n)
    decisions, _ = HeraldModel(settings).run(references, clicks_from_events(events, settings.detectors))
    return np.array([int(d.outcome) for d in decisions], dtype=np.int64)


def run_link(config, backend="verilator", progress=None):
    """Run the link: (results, a dict as results.json holds it; the clicks; each attempt's outcome)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
    link = Link(config)
    clicks, starts = link.clicks()
    progress = progress or (lambda attempts: None)
    if backend == "verilator":
        outcomes, latency = _decide_gateware(link, starts, progress)
    else:
        from qnu.gateware.herald.unit import LATENCY_CYCLES
        outcomes, latency = link.decide_model(starts), LATENCY_CYCLES
        progress(config.count)
    return link_results(link, backend, outcomes, clicks, latency), clicks, outcomes


def link_results(link, backend, outcomes, clicks, latency):
    c, a = link.config, link.analytic
    n = c.count
    success = (outcomes == Outcome.PSI_PLUS) | (outcomes == Outcome.PSI_MINUS)
    p = a.p_success
    f = a.false_herald_fraction
    return {
        "parameters": c.raw,
        "backend": backend,
        "scheme": c.physics.scheme,
        "attempts": n,
        "outcomes": {o.key: int((outcomes == int(o)).sum()) for o in Outcome},
        "windows_ticks": [[o, link.window] for o in link.offsets],
        "bin_ps": link.bin_ps,
        "eta_a": a.eta("a"),
        "eta_b": a.eta("b"),
        "p_dark_window": a.p_dark_window,
        "p_success_measured": float(success.mean()),
        "p_success_analytic": p,
        "p_success_sigma": math.sqrt(p * (1 - p) / n),
        "false_herald_fraction_measured": float(clicks.false[success].mean()) if success.any() else 0.0,
        "false_herald_fraction_analytic": f,
        "false_herald_fraction_sigma": math.sqrt(f * (1 - f) / max(1, success.sum())),
        "herald_latency_cycles": latency,
        "herald_latency_ns": latency * 1e9 / c.clock_hz,
    }


def write_results(results, clicks, link_config, out_dir, sweep_attempts=20_000):
    """results.json and the plots in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    from . import link_plots
    link_plots.click_histogram(Link(link_config), clicks, out / "click_times.png")
    link_plots.window_sweep(link_config, out / "window_sweep.png", attempts=sweep_attempts)
    return out
