"""Heralding statistics from the herald unit's records (:attr:`qnu.recording.Recording.heralds`)."""

from dataclasses import dataclass

import numpy as np

from qnu.herald import Outcome

__all__ = ["HeraldStatistics", "herald_statistics"]


@dataclass
class HeraldStatistics:
    attempts: int                   # decided attempts the records span (first to last attempt number)
    recorded: int                   # records in hand
    counts: dict                    # outcome key -> records
    success_probability: float      # heralds (psi+ and psi-) per attempt
    success_error: float            # its binomial standard error
    multi_clicks: int
    attempts_between_successes: np.ndarray
    click_times_ps: dict            # pattern bit -> first-click times after the reference, ps

    @property
    def psi_minus_fraction(self):
        heralds = self.counts["psi_plus"] + self.counts["psi_minus"]
        return self.counts["psi_minus"] / heralds if heralds else float("nan")


def herald_statistics(heralds, *, attempts=None):
    """Statistics of herald records. ``attempts``: how many attempts were made,
    if known (the records of failed attempts are often not kept: the node
    records the outcomes it is told to); otherwise the span of the records'
    attempt numbers."""
    heralds = list(heralds)
    counts = {o.key: 0 for o in Outcome}
    clicks = {}
    for h in heralds:
        counts[Outcome(h.outcome).key] += 1
        for bit, t in h.clicks_ps.items():
            clicks.setdefault(bit, []).append(t)
    numbers = np.array([h.attempt for h in heralds], dtype=np.int64)
    if attempts is None:
        attempts = int(numbers.max() - numbers.min() + 1) if len(numbers) else 0
    successes = np.array([h.attempt for h in heralds if Outcome(h.outcome).success], dtype=np.int64)
    k = len(successes)
    p = k / attempts if attempts else float("nan")
    return HeraldStatistics(
        attempts=attempts, recorded=len(heralds), counts=counts, success_probability=p,
        success_error=float(np.sqrt(p * (1 - p) / attempts)) if attempts else float("nan"),
        multi_clicks=sum(1 for h in heralds if h.multi),
        attempts_between_successes=np.diff(np.sort(successes)),
        click_times_ps={bit: np.array(v, dtype=np.int64) for bit, v in sorted(clicks.items())})
