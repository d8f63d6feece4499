"""A Monte Carlo of the link's physics, attempt by attempt: what each node
emits, where each photon goes, which detector clicks when (efficiency,
jitter, dark counts, dead time, afterpulsing). Times are ps after the attempt
start. It knows nothing of the herald unit: :func:`decide` applies a scheme
in continuous time for the physics' own checks; the link turns the clicks
into detector edges for the gateware."""

import heapq
from dataclasses import dataclass

import numpy as np

from qnu.herald import Outcome, MAX_DETECTORS, scheme_table

__all__ = ["simulate", "Clicks", "decide", "SIGNAL", "NOISE", "DARK", "AFTERPULSE"]

SIGNAL, NOISE, DARK, AFTERPULSE = 0, 1, 2, 3


@dataclass
class Clicks:
    """Accepted clicks of ``attempts`` attempts: parallel arrays, sorted by attempt,
    detector, time. ``false`` marks attempts in which a dark count or a
    noise photon was detected inside a window (before dead time)."""
    attempts: int
    attempt: np.ndarray
    detector: np.ndarray
    time_ps: np.ndarray
    source: np.ndarray
    false: np.ndarray


def _photon_times(rng, count, arrival, lifetime, sigma):
    t = arrival + rng.exponential(lifetime, count)
    return t + rng.normal(0.0, sigma, count) if sigma > 0 else t


def simulate(physics, attempts, seed=0, *, shifts=None, fired=None):
    """Clicks of ``attempts`` attempts under ``physics`` (a LinkPhysics).

    ``shifts``: per node ('a', 'b'), each attempt's photon arrival shift in ps
    (a co-simulation's lasers fire when their gateware says); ``fired``: per
    node, whether it fired in each attempt at all (default: always)."""
    p, rng = physics, np.random.default_rng(seed)
    e, det, vis = p.emitter, p.detector, p.beam_splitter.visibility
    rounds = p.rounds
    arrivals = p.arrivals()
    events = []                 # (attempt, detector, time, source) arrays

    # what each node emits, and in which round
    if rounds == 1:
        emitted = {w: rng.random(attempts) < e.alpha for w in "ab"}
        round_of = {w: np.zeros(attempts, dtype=np.int64) for w in "ab"}
    else:
        emitted = {w: rng.random(attempts) < e.emission_probability for w in "ab"}
        round_of = {w: (rng.random(attempts) < 0.5).astype(np.int64) for w in "ab"}
    if fired is not None:
        emitted = {w: emitted[w] & np.asarray(fired[w], dtype=bool) for w in "ab"}
    shift = {w: np.zeros(attempts) if shifts is None else np.asarray(shifts[w], dtype=float) for w in "ab"}
    # the primaries' ports: the two nodes' photons in one round leave by the
    # same port with probability (1 + V) / 2
    port_a = rng.integers(0, 2, attempts)
    together = emitted["a"] & emitted["b"] & (round_of["a"] == round_of["b"])
    same = rng.random(attempts) < (1 + vis) / 2
    port_b = np.where(together, np.where(same, port_a, 1 - port_a), rng.integers(0, 2, attempts))
    ports = {"a": port_a, "b": port_b}
    arrival = np.asarray(arrivals, dtype=float)

    for w in "ab":
        tau, sigma = p.lifetime_ps(w), p.jitter_ps(w)
        keep = rng.random(attempts) < p.transmission(w) * det.efficiency
        idx = np.flatnonzero(emitted[w] & keep)
        times = _photon_times(rng, len(idx), arrival[round_of[w][idx]], tau, sigma) + shift[w][idx]
        events.append((idx, ports[w][idx], times, SIGNAL))
        # a second photon of a double excitation: routed on its own
        extra = np.flatnonzero(emitted[w] & (rng.random(attempts) < e.double_excitation) &
                               (rng.random(attempts) < p.transmission(w) * det.efficiency))
        times = _photon_times(rng, len(extra), arrival[round_of[w][extra]], tau, sigma) + shift[w][extra]
        events.append((extra, rng.integers(0, 2, len(extra)), times, SIGNAL))
        transducer = p.node(w)[2]
        if transducer is not None:          # noise photons, in every round
            for r in range(rounds):
                n = rng.poisson(transducer.noise_photons * p.noise_transmission(w) * det.efficiency, attempts)
                idx = np.repeat(np.arange(attempts), n)
                times = _photon_times(rng, len(idx), arrivals[r], tau, sigma) + shift[w][idx]
                events.append((idx, rng.integers(0, 2, len(idx)), times, NOISE))

    # dark counts from a dead time before the first window to the end of the last
    offsets = p.window_offsets()
    span = (min(offsets) - det.dead_time_ps - p.window_ps, max(offsets) + p.window_ps)
    for d in (0, 1):
        n = rng.poisson(det.dark_count_rate_hz * (span[1] - span[0]) * 1e-12, attempts)
        idx = np.repeat(np.arange(attempts), n)
        events.append((idx, np.full(len(idx), d), rng.uniform(span[0], span[1], len(idx)), DARK))

    attempt = np.concatenate([ev[0] for ev in events]).astype(np.int64)
    detector = np.concatenate([ev[1] for ev in events]).astype(np.int64)
    time = np.concatenate([ev[2] for ev in events]).astype(float)
    source = np.concatenate([np.full(len(ev[0]), ev[3]) for ev in events]).astype(np.int64)
    order = np.lexsort((time, detector, attempt))
    attempt, detector, time, source = attempt[order], detector[order], time[order], source[order]

    false = np.zeros(attempts, dtype=bool)
    in_window = np.zeros(len(time), dtype=bool)
    for off in offsets:
        in_window |= (time >= off) & (time < off + p.window_ps)
    np.logical_or.at(false, attempt[in_window & ((source == NOISE) | (source == DARK))], True)

    kept = _dead_time(rng, attempt, detector, time, source, det)
    return Clicks(attempts, *kept, false)


def _dead_time(rng, attempt, detector, time, source, det):
    """The clicks a detector gives: each event at least a dead time after the
    last click; each click may bring an afterpulse a fixed delay later."""
    out = ([], [], [], [])
    bounds = np.flatnonzero(np.diff(attempt * 2 + detector, prepend=-1, append=-1))
    for s, t in zip(bounds[:-1], bounds[1:]):
        queue = list(zip(time[s:t].tolist(), source[s:t].tolist()))
        last = -np.inf
        while queue:
            when, what = heapq.heappop(queue)
            if when < last + det.dead_time_ps:
                continue
            last = when
            for arr, value in zip(out, (attempt[s], detector[s], when, what)):
                arr.append(value)
            if det.afterpulsing and rng.random() < det.afterpulsing:
                heapq.heappush(queue, (when + det.afterpulse_delay_ps, AFTERPULSE))
    return (np.array(out[0], dtype=np.int64), np.array(out[1], dtype=np.int64),
            np.array(out[2], dtype=float), np.array(out[3], dtype=np.int64))


def decide(physics, clicks, multi_outcome=Outcome.REJECT):
    """Each attempt's outcome under the physics' scheme, in continuous time
    (windows ``[offset, offset + width)``): an array of Outcome values."""
    table, _ = scheme_table(physics.scheme)
    counts = np.zeros((clicks.attempts, MAX_DETECTORS, 2), dtype=np.int64)
    for w, off in enumerate(physics.window_offsets()):
        inside = (clicks.time_ps >= off) & (clicks.time_ps < off + physics.window_ps)
        np.add.at(counts, (clicks.attempt[inside], clicks.detector[inside], w), 1)
    pattern = np.zeros(clicks.attempts, dtype=np.int64)
    for w in range(2):
        for d in range(MAX_DETECTORS):
            pattern |= (counts[:, d, w] > 0).astype(np.int64) << (w * MAX_DETECTORS + d)
    outcome = np.asarray([int(o) for o in table], dtype=np.int64)[pattern]
    return np.where((counts >= 2).any(axis=(1, 2)), int(multi_outcome), outcome)
