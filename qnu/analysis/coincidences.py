"""Coincidences: two channels, or a group of channels each in its own window."""

import numpy as np

__all__ = ["coincidences", "coincidence_times"]


def coincidences(times_a, times_b, window_ps):
    """How many tags of ``a`` have a tag of ``b`` within ``window_ps`` (both sorted, in ps)."""
    a = np.asarray(times_a, dtype=np.int64)
    b = np.asarray(times_b, dtype=np.int64)
    if len(a) == 0 or len(b) == 0:
        return 0
    lo = np.searchsorted(b, a - window_ps, side="left")
    hi = np.searchsorted(b, a + window_ps, side="right")
    return int(np.count_nonzero(hi > lo))


def coincidence_times(reference_ps, others, windows):
    """The reference tags at which every other channel clicked in its window.

    ``others`` is a list of sorted tag arrays (ps); ``windows`` a list as long
    of ``(offset_ps, width_ps)``: channel ``k`` must have a tag ``t`` with
    ``r + offset <= t < r + offset + width`` for reference tag ``r``
    (half-open, as the herald unit's windows). Returns the reference tags of
    the coincidences (an int64 array)."""
    ref = np.asarray(reference_ps, dtype=np.int64)
    if len(others) != len(windows):
        raise ValueError(f"{len(others)} channels but {len(windows)} windows")
    hit = np.ones(len(ref), dtype=bool)
    for times, (offset, width) in zip(others, windows):
        if width <= 0:
            raise ValueError(f"a window is at least 1 ps wide, not {width}")
        t = np.asarray(times, dtype=np.int64)
        lo = np.searchsorted(t, ref + offset, side="left")
        hi = np.searchsorted(t, ref + offset + width, side="left")
        hit &= hi > lo
    return ref[hit]
