"""Start-stop histograms and time differences (the Swabian ``StartStop`` and
``TimeDifferences`` measurements, one histogram each)."""

import numpy as np

__all__ = ["start_stop_pairs", "start_stop", "time_differences"]


def start_stop_pairs(start_ps, stop_ps):
    """Each stop with the latest start before it, a start used at most once: the
    (start, stop) pairs in which the start is followed by a stop before any other
    start or stop. A stop at the same tick as a start follows it."""
    a = np.asarray(start_ps, dtype=np.int64)
    b = np.asarray(stop_ps, dtype=np.int64)
    times = np.concatenate([a, b])
    is_stop = np.concatenate([np.zeros(len(a), bool), np.ones(len(b), bool)])
    order = np.lexsort((is_stop, times))         # by time, a start before a stop at the same time
    times, is_stop = times[order], is_stop[order]
    pair = ~is_stop[:-1] & is_stop[1:]
    return times[:-1][pair], times[1:][pair]


def start_stop(start_ps, stop_ps, binwidth_ps, n_bins):
    """Histogram of ``stop - start`` over the start-stop pairs, bins from 0; pairs
    beyond ``n_bins * binwidth_ps`` are not counted."""
    starts, stops = start_stop_pairs(start_ps, stop_ps)
    dt = stops - starts
    dt = dt[dt < n_bins * binwidth_ps]
    return np.bincount(dt // binwidth_ps, minlength=n_bins)[:n_bins]


def time_differences(start_ps, stop_ps, binwidth_ps, n_bins):
    """Histogram of ``stop - start`` for every stop in ``[start, start + n_bins * binwidth)``
    of every start (bins from 0)."""
    from .correlation import correlation
    counts = correlation(start_ps, stop_ps, binwidth_ps, 2 * n_bins)
    return counts[n_bins:]
