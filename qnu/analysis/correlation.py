"""The cross-correlation histogram g2(tau) between two channels, normalised as the
Swabian Time Tagger's ``Correlation`` is.

``n_bins`` bins of ``binwidth_ps`` centred on tau = 0: bin ``k`` counts the
pairs (start tag ``a``, stop tag ``b``) with ``b - a`` in
``[(k - n_bins/2) * binwidth, (k + 1 - n_bins/2) * binwidth)``. The normalised
histogram divides by what two uncorrelated (Poisson) streams would give over
the same span: ``N_a * N_b * binwidth / T``, so it tends to 1 away from any
correlation (``T`` the span of the data, from the earlier first tag to the
later last one, unless given).

Pairs are found by sorted search and counted in blocks of start tags, so
memory stays bounded however many tags there are.
"""

import numpy as np

__all__ = ["correlation", "correlation_normalised", "correlation_taus"]

_BLOCK = 1 << 18


def correlation_taus(binwidth_ps, n_bins):
    """The centre of each bin, ps."""
    return (np.arange(n_bins) - n_bins / 2 + 0.5) * binwidth_ps


def correlation(start_ps, stop_ps, binwidth_ps, n_bins):
    """The histogram of ``stop - start`` over all pairs within the span (int64 counts)."""
    a = np.asarray(start_ps, dtype=np.int64)
    b = np.asarray(stop_ps, dtype=np.int64)
    if binwidth_ps <= 0 or n_bins <= 0:
        raise ValueError("binwidth_ps and n_bins must be positive")
    low = -(n_bins * binwidth_ps) // 2
    high = low + n_bins * binwidth_ps
    counts = np.zeros(n_bins, dtype=np.int64)
    for first in range(0, len(a), _BLOCK):
        block = a[first:first + _BLOCK]
        lo = np.searchsorted(b, block + low, side="left")
        hi = np.searchsorted(b, block + high, side="left")
        per = hi - lo
        total = int(per.sum())
        if not total:
            continue
        # every (start, stop) pair of the block: stop indices lo..hi-1 of each start
        starts = np.repeat(block, per)
        offsets = np.arange(total) - np.repeat(np.cumsum(per) - per, per)
        dt = b[np.repeat(lo, per) + offsets] - starts
        counts += np.bincount((dt - low) // binwidth_ps, minlength=n_bins)[:n_bins]
    return counts


def correlation_normalised(start_ps, stop_ps, binwidth_ps, n_bins, *, duration_ps=None):
    """g2(tau): the histogram over the uncorrelated expectation (see the module's text)."""
    a = np.asarray(start_ps, dtype=np.int64)
    b = np.asarray(stop_ps, dtype=np.int64)
    counts = correlation(a, b, binwidth_ps, n_bins)
    if duration_ps is None:
        if not len(a) or not len(b):
            return np.full(n_bins, np.nan)
        duration_ps = max(a[-1], b[-1]) - min(a[0], b[0])
    expected = len(a) * len(b) * binwidth_ps / duration_ps if duration_ps > 0 else 0
    return counts / expected if expected else np.full(n_bins, np.nan)
