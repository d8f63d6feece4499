"""Reference model of the herald unit, written from its specification
(docs/herald.md), sharing no code with the gateware.

It works from the tagger's reference model: clicks are a detector channel's
accepted rising-edge events (:func:`qnu.sim.model.expected_events`: after
the channel's dead time, with its delay applied), and an input reference is
the reference channel's. Times are fine ticks; word ``k`` holds ticks
``[k*N, (k+1)*N)``.

Per attempt, with reference tick ``R`` (the attempt loop's start tick, or the
reference channel's event time after its delay):

- window ``w`` is ``[R + offset_w, R + offset_w + width_w)`` for every
  detector's (delayed) click times: half-open, in ticks;
- a detector's first click in a window sets its pattern bit; a second one
  makes the attempt a multi-click;
- the outcome is ``multi_outcome`` for a multi-click, else ``table[pattern]``;
- the decision comes in the word holding the last raw tick any window covers
  on any detector (``R + offset + width - 1 - delay_d`` at most, less the
  reference's delay for an input reference), and the herald pulse starts at
  sample 0 of the word ``LATENCY_CYCLES`` later;
- a reference that arrives before the word in which the open attempt is
  decided is ignored and counted as an overlap (the attempt loop's arrives a
  cycle before the word of its start tick, an input reference in its own word).
"""

import bisect
from dataclasses import dataclass, field

from qnu.herald import Outcome, MAX_DETECTORS, INPUT_REFERENCE_LEAD_CYCLES, pattern_bit

__all__ = ["HeraldSettings", "Decision", "HeraldModel", "LATENCY_CYCLES", "RISING"]

LATENCY_CYCLES = 2
RISING = "rising"


@dataclass(frozen=True)
class HeraldSettings:
    samples_per_cycle: int
    detectors: tuple                    # tagger channel of each detector
    windows: tuple                      # (offset, width) in ticks, one or two
    table: tuple                        # TABLE_ENTRIES outcomes
    multi_outcome: Outcome = Outcome.REJECT
    reference: int = None               # None: the attempt loop; else the reference channel
    delays: dict = field(default_factory=dict)     # channel -> delay in ticks
    record: frozenset = frozenset({Outcome.PSI_PLUS, Outcome.PSI_MINUS, Outcome.REJECT})
    latency_cycles: int = LATENCY_CYCLES    # (one more where the build has the decision stage)

    def __post_init__(self):
        if not 1 <= len(self.windows) <= 2 or any(w <= 0 for _, w in self.windows):
            raise ValueError("the herald needs one or two windows, each at least a tick wide")
        if not 1 <= len(self.detectors) <= MAX_DETECTORS:
            raise ValueError(f"one to {MAX_DETECTORS} detectors")
        least = INPUT_REFERENCE_LEAD_CYCLES * self.samples_per_cycle if self.reference is not None else 0
        for offset, _ in self.windows:
            for ch in self.detectors:
                if self.bound(offset, ch) < least:
                    raise ValueError("a window opens before the herald sees its reference")

    def delay(self, channel):
        return self.delays.get(channel, 0)

    @property
    def reference_delay(self):
        return 0 if self.reference is None else self.delay(self.reference)

    def bound(self, ticks, channel):
        """Raw ticks after the raw reference at which a delayed ``ticks`` falls on ``channel``."""
        return ticks + self.reference_delay - self.delay(channel)


@dataclass
class Decision:
    attempt: int                        # references accepted before this one
    reference: int                      # R, ticks (after the reference's delay)
    outcome: Outcome
    pattern: int
    multi: bool
    clicks: dict                        # (detector, window) -> first click's ticks after R
    decided_word: int
    herald_tick: int                    # where the herald pulse starts (success only matters)


class HeraldModel:
    def __init__(self, settings):
        self.s = settings

    def _arrival_word(self, raw_reference):
        n = self.s.samples_per_cycle
        word = raw_reference // n
        return word - 1 if self.s.reference is None else word

    def _close_word(self, raw_reference):
        n = self.s.samples_per_cycle
        last = max(raw_reference + self.s.bound(o + w, ch) - 1
                   for o, w in self.s.windows for ch in self.s.detectors)
        return last // n

    def run(self, references, clicks):
        """Decisions for ``references`` (ticks R, sorted) and ``clicks``
        (detector channel -> sorted delayed click ticks); returns
        ``(decisions, overlaps)``."""
        s = self.s
        decisions, overlaps = [], 0
        open_until = None               # the word the open attempt is decided in
        for R in references:
            raw = R - s.reference_delay
            if open_until is not None and self._arrival_word(raw) < open_until:
                overlaps += 1
                continue
            open_until = self._close_word(raw)
            decisions.append(self._decide(len(decisions), R, clicks, open_until))
        return decisions, overlaps

    def _decide(self, attempt, R, clicks, close_word):
        s = self.s
        pattern, multi, first = 0, False, {}
        for d, ch in enumerate(s.detectors):
            for w, (offset, width) in enumerate(s.windows):
                times = clicks.get(ch, ())      # (sorted)
                lo, hi = bisect.bisect_left(times, R + offset), bisect.bisect_left(times, R + offset + width)
                inside = [t - R for t in times[lo:hi]]
                if inside:
                    pattern |= pattern_bit(d, w)
                    first[(d, w)] = min(inside)
                    multi |= len(inside) > 1
        outcome = s.multi_outcome if multi else Outcome(s.table[pattern])
        herald = (close_word + s.latency_cycles) * s.samples_per_cycle
        return Decision(attempt, R, outcome, pattern, multi, first, close_word, herald)


def clicks_from_events(events, channels):
    """Detector channel -> sorted delayed ticks of its rising events (from the tagger's model)."""
    out = {ch: [] for ch in channels}
    for e in events:
        if e.channel in out and e.kind == RISING:
            out[e.channel].append(e.timestamp)
    return out
