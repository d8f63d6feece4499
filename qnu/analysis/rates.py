"""Count rates: per channel over a span, and over time in bins."""

import numpy as np

__all__ = ["count_rates", "count_rate_trace"]


def count_rates(channels, duration_ps, n_channels=None):
    """Tags per second of each channel over ``duration_ps``: an array indexed by channel."""
    channels = np.asarray(channels)
    if duration_ps <= 0:
        raise ValueError("duration must be positive")
    n = n_channels if n_channels is not None else (int(channels.max()) + 1 if len(channels) else 0)
    return np.bincount(channels, minlength=n)[:n] * 1e12 / duration_ps


def count_rate_trace(timestamps_ps, bin_ps, *, start_ps=None, stop_ps=None):
    """Rates over time: tags per second in consecutive bins of ``bin_ps`` from
    ``start_ps`` (default: the first tag) up to ``stop_ps`` (default: past the
    last). Returns ``(bin_starts_ps, rates_hz)``; a last partial bin is left out."""
    t = np.asarray(timestamps_ps, dtype=np.int64)
    if bin_ps <= 0:
        raise ValueError("bin_ps must be positive")
    if start_ps is None:
        start_ps = int(t.min()) if len(t) else 0
    if stop_ps is None:
        stop_ps = int(t.max()) + 1 if len(t) else start_ps
    bins = max(0, (stop_ps - start_ps) // bin_ps)
    inside = t[(t >= start_ps) & (t < start_ps + bins * bin_ps)]
    counts = np.bincount((inside - start_ps) // bin_ps, minlength=bins)[:bins]
    return start_ps + bin_ps * np.arange(bins, dtype=np.int64), counts * 1e12 / bin_ps
