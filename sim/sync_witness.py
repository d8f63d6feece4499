"""The sync co-simulation checked by an independent route (``qnu sync sim --witness``):
the middle node of a chain tags the leader's PPS on input 2 and the last node's
on input 3, over two coax cables of the same length, and the host reads those
tags over the middle node's serial port as it would from a board.

Each pair of tags (a leader edge and the last node's edge of the same period)
gives the last node's PPS less the leader's, as the middle node's clock sees
it. The servos, locked, claim that difference is zero (each steers its own
averaged offset to zero); the tags show what it is, and the co-simulation's
physical edge times what it really was. The tags are whole ticks of the middle
node, so each pair is within a tick of the truth and their mean within a tick
over the square root of their number (the edges beat against its ticks).

A simulated 53230A counter watches the same two PPS outputs (over cables of
different lengths, so each interval is positive) and reads the interval
through a VISA session: within its 20 ps noise of the physical edges.
"""

import threading
import time

import numpy as np

from qnu.sync import ServoState

__all__ = ["WITNESS_INPUTS", "WITNESS_CABLE_M", "COUNTER_CABLES_M", "witness_registers", "record_witness",
           "counter_watching", "witness_results"]

#: the middle node's inputs for the leader's PPS and the last node's
WITNESS_INPUTS = (2, 3)
#: each PPS output's coax to the middle node (the same length both ways: nothing to subtract)
WITNESS_CABLE_M = 5.0
#: the 53230A's coax from the leader's PPS (input 1) and the last node's (input 2)
COUNTER_CABLES_M = (1.0, 11.0)
COUNTER_NOISE_PS = 20.0         # the 53230A's single-shot time-interval resolution
COUNTER_READINGS = 20           # at most: as many as fit in COUNTER_SPAN of the run
COUNTER_FROM, COUNTER_SPAN = 0.5, 0.4       # the counter reads from half the run on (after lock)
_RISING = 0b011                 # ch<k>_ctrl: enable, rising edges
_STOP_BEFORE_END_S = 100e-6     # the stream is stopped while the boards still answer
_TIMEOUT_S = 60.0               # a request's reply: the co-simulation runs about 2 000 cycles a second


def witness_registers():
    """The tagger settings every node of a sync co-simulation boots with (the middle node's
    inputs 2 and 3 are cabled in a witness run; a run without shares the build)."""
    return {f"ch{c}_ctrl": _RISING for c in WITNESS_INPUTS}


def record_witness(co, progress=None):
    """What the witnesses saw while ``co`` ran: the middle node's tags, read over its serial
    port, and the counter's intervals (s), read through a VISA session. (tags, intervals)"""
    from qnu.host.device import Device
    from .instruments.server import InstrumentServer
    end_ps = co.end_ps - _STOP_BEFORE_END_S * 1e12

    def report(*_):
        if progress:
            progress(min(1.0, co.reached_ps() / co.end_ps))

    model = counter_watching(co)
    readings = {}
    with InstrumentServer(model) as server:
        counter = threading.Thread(target=_read_counter, args=(co, server.resource, readings), daemon=True)
        counter.start()
        with Device(co.boards[1].co.path, timeout=_TIMEOUT_S, skew=False) as dev:
            recording = dev.record(until=lambda: co.reached_ps() >= end_ps or co.error is not None,
                                   progress=report)
        counter.join(timeout=_TIMEOUT_S)
    if "error" in readings:
        raise RuntimeError(f"the witness counter failed: {readings['error']!r}") from readings["error"]
    return recording.tags(), readings.get("intervals")


def counter_watching(co):
    """A 53230A model whose input 1 sees the leader's PPS and input 2 the last node's, over coax
    of COUNTER_CABLES_M (the second longer, so each interval is positive)."""
    from .instruments.counter_model import CounterModel
    from .physics.params import FIBRE_PS_PER_M
    model = CounterModel([], noise_ps=COUNTER_NOISE_PS, seed=co.cfg.seed, read_timeout_s=_TIMEOUT_S)
    model.follow(co.reached_ps)
    inputs = {0: (1, COUNTER_CABLES_M[0]), co.cfg.nodes - 1: (2, COUNTER_CABLES_M[1])}

    def watcher(node, edges):
        if node in inputs:
            counter_input, metres = inputs[node]
            model.add_edges(counter_input, [(t + metres * FIBRE_PS_PER_M, rising) for t, rising in edges])
    co.pps_watchers.append(watcher)
    return model


def _read_counter(co, resource, readings):
    """Intervals from COUNTER_FROM of the run on (after lock), through VISA."""
    from qnu.host.instruments import open_instrument
    try:
        while co.reached_ps() < COUNTER_FROM * co.end_ps and co.error is None and co.running:
            time.sleep(0.05)
        counter = open_instrument("53230a", resource, timeout_ms=int(_TIMEOUT_S * 1000))
        try:
            readings["intervals"] = counter.time_interval(counter_readings(co.cfg))
        finally:
            counter.adapter.close()
    except Exception as e:          # (record_witness raises it)
        readings["error"] = e


def witness_results(cfg, seen, pps_ps, probes):
    """The ``witness`` entry of results.json: the last node's PPS less the leader's, period by
    period, as the middle node tagged it and as it physically was, once every follower locked."""
    from .sync_cosim import leader_time, nearest_pairs
    from .physics.params import FIBRE_PS_PER_M
    tags, intervals = seen
    period_ps, bin_ps, n = cfg.pps_period_s * 1e12, cfg.bin_ps, cfg.samples_per_cycle
    out = {"inputs": list(WITNESS_INPUTS), "cable_m": WITNESS_CABLE_M, "pairs": 0}
    if intervals is not None and len(intervals):
        out["counter"] = _counter_results(intervals, pps_ps, period_ps, FIBRE_PS_PER_M)
    locked_at = []
    for _, state, starts in probes[1:]:
        locked = np.nonzero(state == ServoState.LOCKED)[0]
        if not len(locked):
            return out
        locked_at.append(starts[locked[0]])
    # the truth: each of the last node's edges after lock less the leader's, by the period it starts
    # (the leader's time at its edge, in periods)
    leader_edges, true = nearest_pairs(pps_ps[0], [t for t in pps_ps[-1] if t >= max(locked_at)], period_ps)
    true_period = np.rint(leader_time(probes[0], leader_edges, n) * bin_ps / period_ps)
    # the tags: by the middle node's time, which follows the leader's to well under a period
    channel, stamps = np.asarray(tags.channel), np.asarray(tags.timestamp_ps, dtype=float)
    leader_tags, tagged = nearest_pairs(stamps[channel == WITNESS_INPUTS[0]],
                                        stamps[channel == WITNESS_INPUTS[1]], period_ps)
    tag_period = np.rint((leader_tags - cable_ps(cfg)) / period_ps)
    common, ti, gi = np.intersect1d(true_period, tag_period, return_indices=True)
    if not len(common):
        return out
    true, tagged = true[ti], tagged[gi]
    out.update(pairs=int(len(common)), tick_ps=bin_ps,
               tagged_mean_ps=float(tagged.mean()), tagged_rms_ps=float(np.sqrt(np.mean(tagged ** 2))),
               true_mean_ps=float(true.mean()), true_rms_ps=float(np.sqrt(np.mean(true ** 2))),
               max_disagreement_ps=float(np.max(np.abs(tagged - true))))
    return out


def cable_ps(cfg):
    """Each witness cable's delay."""
    from .physics.params import FIBRE_PS_PER_M
    return WITNESS_CABLE_M * FIBRE_PS_PER_M


def _counter_results(intervals, pps_ps, period_ps, ps_per_m):
    """The counter's intervals less its cables' difference (the last node's PPS less the leader's),
    and how far they are from the physical edges': the run of consecutive periods they fit best."""
    measured = np.asarray(intervals) * 1e12 - (COUNTER_CABLES_M[1] - COUNTER_CABLES_M[0]) * ps_per_m
    out = {"readings": int(len(measured)), "mean_ps": float(measured.mean()),
           "rms_ps": float(np.sqrt(np.mean(measured ** 2))), "noise_ps": COUNTER_NOISE_PS}
    from .sync_cosim import nearest_pairs
    _, true = nearest_pairs(pps_ps[0], pps_ps[-1], period_ps)
    fits = [np.max(np.abs(measured - true[j:j + len(measured)])) for j in range(len(true) - len(measured) + 1)]
    if fits:
        out["max_error_ps"] = float(min(fits))
    return out


def counter_readings(cfg):
    """How many intervals the counter reads: as many PPS periods as COUNTER_SPAN of the run holds."""
    return max(1, min(COUNTER_READINGS, int(COUNTER_SPAN * cfg.seconds / cfg.pps_period_s)))
