"""Sync check: a counter's time interval between two nodes' pulse-per-period outputs.

Both nodes' trigger output ``output`` carry their timebase's pulse per
period (``period_s``: a PPS on hardware, shorter in simulation); the counter
measures from node A's pulse (input 1) to node B's next one (input 2),
``readings`` times. A counter measures positive intervals only, so one over
half a period is B's pulse before A's: it is taken less a period. Mean, RMS
and TDEV (tau0 = the period) of the offset; ``sync_check.json`` and
``sync_check.png``. The nodes' outputs and pulse periods are put back.
"""

import numpy as np
from tqdm import tqdm

from qnu.analysis import octave_factors, tdev
from .common import BenchResult, measuring, plt, restoring

__all__ = ["check_sync", "unwrap_intervals"]

BATCH = 10


def unwrap_intervals(intervals_s, period_s):
    """Positive counter intervals as signed offsets of B after A, within half a period."""
    v = np.asarray(intervals_s, dtype=float)
    return np.where(v > period_s / 2, v - period_s, v)


def check_sync(dev_a, dev_b, counter, *, period_s=1.0, readings=100, output_index=0, output=None, progress=True):
    """Measure node B's pulse against node A's; returns the BenchResult (offsets in ps)."""
    from qnu.regmap import OutputSource
    if readings < 2:
        raise ValueError("at least 2 readings")
    ticks = [dev.clock.to_ticks(round(period_s * 1e12)) for dev in (dev_a, dev_b)]
    result = BenchResult("sync_check", period_s=period_s, readings=readings, counter=counter.identity,
                         nodes=[str(dev_a.port), str(dev_b.port)], offsets_ps=[])
    saved = [(dev.regs.read("pulse_period_lo", "pulse_period_hi"), dev.outputs[output_index].source)
             for dev in (dev_a, dev_b)]

    def restore():
        for dev, (regs, source) in zip((dev_a, dev_b), saved):
            dev.regs.write(regs)
            dev.outputs[output_index].source = source

    bar = tqdm(total=readings, unit="reading", desc="sync check", disable=not progress)
    with measuring(result, output, _plot), restoring("the nodes' outputs", restore), bar:
        for dev, t in zip((dev_a, dev_b), ticks):
            dev.set_pulse_period(t)
            dev.outputs[output_index].source = OutputSource.PULSE
        offsets = result["offsets_ps"]
        while len(offsets) < readings:
            batch = min(BATCH, readings - len(offsets))
            values = counter.time_interval(batch, slopes=("POS", "POS"))
            offsets += list(unwrap_intervals(values, period_s) * 1e12)
            bar.update(batch)
        x = np.array(offsets) * 1e-12
        taus, dev_s = tdev(x, period_s, octave_factors(len(x)))
        result.update(mean_ps=float(np.mean(offsets)), rms_ps=float(np.std(offsets)),
                      tdev=[[float(t), float(d)] for t, d in zip(taus, dev_s)])
    return result


def _plot(result, path):
    pyplot = plt()
    fig, (left, right) = pyplot.subplots(1, 2, figsize=(10, 4))
    offsets = result.get("offsets_ps", [])
    left.plot(np.arange(len(offsets)) * result["period_s"], offsets, ".", markersize=3)
    left.set_xlabel("time (s)")
    left.set_ylabel("B after A (ps)")
    if result.get("tdev"):
        t, d = np.array(result["tdev"]).T
        right.loglog(t, d * 1e12, "o-")
    right.set_xlabel("tau (s)")
    right.set_ylabel("TDEV (ps)")
    title = "sync check" + (f": mean {result['mean_ps']:.1f} ps, RMS {result['rms_ps']:.1f} ps"
                            if "mean_ps" in result else " (interrupted)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot.close(fig)
