"""Allan deviation and time deviation (TDEV) of a timestamp series.

From phase data ``x`` (the time error, s) sampled every ``tau0`` s, for
averaging factors ``m``: the overlapping Allan deviation

    ADEV^2(m tau0) = sum_{i} (x[i+2m] - 2 x[i+m] + x[i])^2 / (2 (m tau0)^2 (N - 2m))

and TDEV, from the modified Allan deviation,
``TDEV(tau) = tau / sqrt(3) * MDEV(tau)`` (IEEE 1139, NIST SP 1065).
A periodic signal's timestamps give ``x[k] = t[k] - t[0] - k * period``.
"""

import numpy as np

__all__ = ["phase_from_timestamps", "adev", "mdev", "tdev", "octave_factors"]


def phase_from_timestamps(timestamps_ps, period_ps=None):
    """The time error (s) of each tick of a periodic signal against an ideal period
    (by default the mean period over the series)."""
    t = np.asarray(timestamps_ps, dtype=np.float64)
    k = np.arange(len(t))
    if period_ps is None:
        period_ps = (t[-1] - t[0]) / (len(t) - 1) if len(t) > 1 else 0.0
    return (t - t[0] - k * period_ps) * 1e-12


def octave_factors(n):
    """Averaging factors 1, 2, 4, ... that leave at least a few samples for the statistics."""
    out, m = [], 1
    while 3 * m < n:
        out.append(m)
        m *= 2
    return np.array(out, dtype=np.int64)


def _factors(x, m_list):
    return octave_factors(len(x)) if m_list is None else np.asarray(m_list, dtype=np.int64)


def adev(x, tau0, m_list=None):
    """Overlapping Allan deviation of phase data: ``(taus, deviations)``."""
    x = np.asarray(x, dtype=np.float64)
    ms = _factors(x, m_list)
    out = []
    for m in ms:
        d = x[2 * m:] - 2 * x[m:-m] + x[:-2 * m]
        out.append(np.sqrt(np.sum(d * d) / (2 * (m * tau0) ** 2 * len(d))))
    return ms * tau0, np.array(out)


def mdev(x, tau0, m_list=None):
    """Modified Allan deviation of phase data: ``(taus, deviations)``."""
    x = np.asarray(x, dtype=np.float64)
    ms = _factors(x, m_list)
    out = []
    cs = np.concatenate([[0.0], np.cumsum(x)])
    for m in ms:
        # s[j] = sum_{i=j}^{j+m-1} (x[i+2m] - 2 x[i+m] + x[i]), for j = 0 .. N-3m
        n = len(x) - 3 * m + 1
        j = np.arange(n)
        s = (cs[j + 3 * m] - cs[j + 2 * m]) - 2 * (cs[j + 2 * m] - cs[j + m]) + (cs[j + m] - cs[j])
        out.append(np.sqrt(np.sum(s * s) / (2 * m * m * (m * tau0) ** 2 * n)))
    return ms * tau0, np.array(out)


def tdev(x, tau0, m_list=None):
    """Time deviation of phase data: ``(taus, deviations)``, s."""
    taus, md = mdev(x, tau0, m_list)
    return taus, taus * md / np.sqrt(3)
