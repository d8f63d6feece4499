"""Reference model of the timing core, written from its specification.

It shares no code with the gateware: it works from edge times in picoseconds,
not from sample words, and is the scoreboard of every core test.

Conventions (see docs/architecture.md):

- Sample ``s`` (a fine-tick count) is taken at ``s * bin_ps`` on the node's
  time axis; it sees every transition at or before that instant.
- An edge's timestamp is the first sample showing the new level; transitions
  that change nothing at sample resolution (a glitch between two samples) are
  not seen.
- Before the first driven sample the inputs read low.
- After an accepted event a channel ignores edges for
  ``max(dead_time, samples_per_cycle)`` ticks.
- The reported timestamp is the sample's tick plus the channel's delay; the
  stream is ordered by (timestamp, channel).
"""

from dataclasses import dataclass
from fractions import Fraction
import numpy as np

__all__ = ["ChannelSettings", "Event", "Waveform", "first_samples", "sampled_edges", "expected_events",
           "RISING", "FALLING", "OVERFLOW"]

RISING, FALLING, OVERFLOW = "rising", "falling", "overflow"


@dataclass(frozen=True)
class ChannelSettings:
    enable: bool = True
    rising: bool = True
    falling: bool = False
    delay: int = 0          # fine ticks
    dead_time: int = 0      # fine ticks


@dataclass(frozen=True, order=True)
class Event:
    timestamp: int          # fine ticks
    channel: int
    kind: str
    lost: int = 0


class Waveform:
    """A logic signal that starts low, given by its transition times in ps."""

    def __init__(self, transitions):
        self.transitions = np.asarray(sorted(transitions), dtype=np.int64)

    @classmethod
    def from_pulses(cls, starts, widths):
        """High during each ``[start, start + width)``; overlapping pulses merge."""
        starts = np.asarray(starts, dtype=np.int64)
        ends = starts + np.asarray(widths, dtype=np.int64)
        order = np.argsort(starts, kind="stable")
        transitions = []
        hi_end = None
        for s, e in zip(starts[order], ends[order]):
            if hi_end is not None and s <= hi_end:
                hi_end = max(hi_end, e)
                continue
            if hi_end is not None:
                transitions += [hi_start, hi_end]
            hi_start, hi_end = s, e
        if hi_end is not None:
            transitions += [hi_start, hi_end]
        return cls(transitions)

    def truncated(self, end_ps):
        """The same signal, forced low from ``end_ps`` on."""
        kept = self.transitions[self.transitions < end_ps]
        if len(kept) & 1:
            kept = np.append(kept, end_ps)
        return Waveform(kept)

    def levels(self, times_ps):
        """Level at each time (transitions at exactly that time included)."""
        count = np.searchsorted(self.transitions, np.asarray(times_ps, dtype=np.int64), side="right")
        return (count & 1).astype(np.uint8)

    def __len__(self):
        return len(self.transitions)


def first_samples(times_ps, bin_ps):
    """For each time t, the smallest tick s with s * bin_ps >= t (exact for a rational bin)."""
    b = Fraction(bin_ps)
    t = np.asarray(times_ps, dtype=np.int64)
    return -((-t * b.denominator) // b.numerator)


def sampled_edges(waveform, bin_ps, start_tick=0):
    """(tick, kind) of each edge the sampled signal shows at ticks >= start_tick."""
    ticks = np.maximum(first_samples(waveform.transitions, bin_ps), start_tick)
    if len(ticks) == 0:
        return []
    # Level after the last transition seen by each distinct sample.
    last_of_group = np.flatnonzero(np.append(ticks[1:] != ticks[:-1], True))
    level = (last_of_group + 1) & 1
    before = np.concatenate(([0], level[:-1]))
    changed = level != before
    return [(int(t), RISING if lv else FALLING)
            for t, lv in zip(ticks[last_of_group][changed], level[changed])]


def expected_events(waveforms, settings, *, bin_ps, samples_per_cycle, start_tick=0, end_tick=None):
    """The event stream the core must produce.

    ``waveforms`` and ``settings`` map channel index to a :class:`Waveform` and
    a :class:`ChannelSettings`. Edges sampled at ``end_tick`` or later are left
    out. Returns the events sorted by (timestamp, channel).
    """
    events = []
    for ch, wf in waveforms.items():
        cfg = settings.get(ch, ChannelSettings())
        if not cfg.enable:
            continue
        dead = max(cfg.dead_time, samples_per_cycle)
        next_allowed = None
        for tick, kind in sampled_edges(wf, bin_ps, start_tick):
            if end_tick is not None and tick >= end_tick:
                break
            if not (cfg.rising if kind == RISING else cfg.falling):
                continue
            if next_allowed is not None and tick < next_allowed:
                continue
            events.append(Event(tick + cfg.delay, ch, kind))
            next_allowed = tick + dead
    events.sort(key=lambda e: (e.timestamp, e.channel))
    return events
