"""Analysis of recorded tags: count rates and coincidences."""

import numpy as np

__all__ = ["count_rates", "coincidences"]


def count_rates(channels, duration_ps, n_channels=None):
    """Tags per second of each channel over ``duration_ps``: an array indexed by channel."""
    channels = np.asarray(channels)
    if duration_ps <= 0:
        raise ValueError("duration must be positive")
    n = n_channels if n_channels is not None else (int(channels.max()) + 1 if len(channels) else 0)
    return np.bincount(channels, minlength=n)[:n] * 1e12 / duration_ps


def coincidences(times_a, times_b, window_ps):
    """How many tags of ``a`` have a tag of ``b`` within ``window_ps`` (both sorted, in ps)."""
    a = np.asarray(times_a, dtype=np.int64)
    b = np.asarray(times_b, dtype=np.int64)
    if len(a) == 0 or len(b) == 0:
        return 0
    lo = np.searchsorted(b, a - window_ps, side="left")
    hi = np.searchsorted(b, a + window_ps, side="right")
    return int(np.count_nonzero(hi > lo))
