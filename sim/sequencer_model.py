"""Reference models of the trigger outputs: the sequencer and the attempt loop.

Written from the specification (docs/architecture.md, "Outputs"), not from
the gateware. Times are fine ticks; :func:`ps_events` turns a schedule in
picoseconds into ticks as the host does. A model's result is a *waveform*:
per output, the set of ticks at which it is high, as sorted half-open
intervals ``[start, end)``; :func:`words` samples it into the words an
output PHY gets.
"""

from collections import deque
from dataclasses import dataclass, field

from qnu.wire import OutputAction, OutputEvent

__all__ = ["LEAD_CYCLES", "QUEUE_LATENCY_CYCLES", "SequencerModel", "SequencerResult",
           "AttemptModel", "AttemptResult", "PatternPulse", "intervals_of", "words", "ps_events"]

#: decisions are planned this many cycles ahead of the output port
LEAD_CYCLES = 3
#: an event pushed in cycle p is first compared with its tick in cycle p + 4
#: (the queue's write, its read register, then its next-event and head registers)
QUEUE_LATENCY_CYCLES = 4


def ps_events(events_ps, clock):
    """OutputEvents in ticks from (time_ps, output, action, width_ps) tuples, rounded to the nearest tick."""
    out = []
    for time_ps, output, action, width_ps in events_ps:
        width = clock.to_ticks(width_ps) if OutputAction(action) == OutputAction.PULSE else 0
        out.append(OutputEvent(clock.to_ticks(time_ps), output, action, width))
    return out


def intervals_of(levels, pulses):
    """Union of the level's high spans and pulse intervals: sorted disjoint [start, end)."""
    spans = sorted(list(levels) + list(pulses))
    merged = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [tuple(s) for s in merged]


def words(waveform, first_ticks, samples_per_cycle):
    """The word of each cycle: bit i is the waveform at tick ``first_ticks[c] + i``."""
    out = []
    for first in first_ticks:
        word = 0
        for start, end in waveform:
            lo, hi = max(start, first), min(end, first + samples_per_cycle)
            for t in range(lo, hi):
                word |= 1 << (t - first)
        out.append(word)
    return out


@dataclass
class SequencerResult:
    played: list = field(default_factory=list)      # OutputEvents played, in the order played
    late: list = field(default_factory=list)        # (event, ticks late) in the order found late
    waveforms: dict = field(default_factory=dict)   # output -> intervals


class SequencerModel:
    """The sequencer, at the level of its specification:

    - each output has its own queue; an event pushed in cycle ``p`` is at its
      head from cycle ``p + 4`` at the earliest;
    - the head is compared in each cycle ``c`` with that cycle's
      planned span ``[plan, plan + N)``, ``plan = now[c - 1] + N * (LEAD + 1)``:
      inside it, it plays at sample ``tick - plan``; before it, it is late;
      either way the next one is at the head in the next cycle;
    - RISE and FALL set the output's level from their tick on, PULSE adds a
      high span of ``width`` ticks; the output is high where either is.
    """

    def __init__(self, outputs, samples_per_cycle):
        self.outputs, self.n = outputs, samples_per_cycle

    def plan_ticks(self, now):
        n = self.n
        return [None] + [now[c - 1] + n * (LEAD_CYCLES + 1) for c in range(1, len(now))]

    def run(self, pushes, now):
        """``pushes``: (cycle, OutputEvent) in push order; ``now``: the timebase per cycle."""
        n, plan = self.n, self.plan_ticks(now)
        queues = [deque() for _ in range(self.outputs)]     # (ready cycle, event) per output
        result = SequencerResult()
        levels = {k: [] for k in range(self.outputs)}
        pulses = {k: [] for k in range(self.outputs)}
        level_since = {k: None for k in range(self.outputs)}
        strays = []
        for cycle, e in pushes:
            if e.output >= self.outputs:
                strays.append((cycle, e))
            else:
                queues[e.output].append((cycle + QUEUE_LATENCY_CYCLES, e))
        for c in range(len(now)):
            found = [(e, 0) for cycle, e in strays if cycle == c]
            for k, queue in enumerate(queues):
                if c == 0 or not queue or queue[0][0] > c:
                    continue
                e = queue[0][1]
                if e.time < plan[c]:
                    found.append((e, plan[c] - e.time))
                elif e.time < plan[c] + n:
                    result.played.append(e)
                    self._play(e, levels, pulses, level_since)
                else:
                    continue
                queue.popleft()
            result.late += found
        for k in range(self.outputs):
            if level_since[k] is not None:
                levels[k].append((level_since[k], 2 ** 70))
            result.waveforms[k] = intervals_of(levels[k], pulses[k])
        return result

    @staticmethod
    def _play(e, levels, pulses, level_since):
        k = e.output
        if e.action == OutputAction.PULSE:
            pulses[k].append((e.time, e.time + e.width))
        elif e.action == OutputAction.RISE:
            if level_since[k] is None:
                level_since[k] = e.time
        elif level_since[k] is not None:
            levels[k].append((level_since[k], e.time))
            level_since[k] = None


@dataclass(frozen=True)
class PatternPulse:
    output: int
    offset: int                 # ticks after the attempt start (or the success point)
    width: int
    on_success: bool = False


@dataclass
class AttemptResult:
    starts: list                # attempt start ticks
    reason: str                 # "count", "input", "host", "late_start"
    success_at: int = None      # the tick the on-success pattern counts from
    waveforms: dict = field(default_factory=dict)


class AttemptModel:
    """The attempt loop on an undisturbed timebase (``now = now0 + N * cycle``),
    started in cycle ``start_cycle``:

    - attempt ``k`` starts at ``start_time + k * period`` for ``k < count``;
    - a start time before the planned span of the cycle after the start
      command is late: nothing plays;
    - the host's stop in cycle ``h`` ends it from the planned span of cycle ``h``;
    - a rising edge of the stop input at tick ``e`` (in cycle ``c``, the
      cycle whose samples hold it) stops the loop at the planned span of
      cycle ``c + 1``, ``s = now0 + N * (c + 1 + LEAD)``: attempts from ``s``
      on do not start, the on-success pulses start at ``s + offset``;
    - each pattern pulse of a started attempt is high over
      ``[start + offset, start + offset + width)``.
    """

    def __init__(self, outputs, samples_per_cycle):
        self.outputs, self.n = outputs, samples_per_cycle

    def run(self, *, now0, start_cycle, start_time, period, count, pattern, stop_edge=None, host_stop_cycle=None):
        n = self.n
        if not count and stop_edge is None and host_stop_cycle is None:
            raise ValueError("an endless loop needs a stop")

        def span(c):            # the planned span's first tick in cycle c
            return now0 + n * (c + LEAD_CYCLES)
        starts, reason, success_at = [], "count", None
        stop_at = None
        if stop_edge is not None:
            stop_at = span((stop_edge - now0) // n + 1)
        host_at = None if host_stop_cycle is None else span(host_stop_cycle)
        if start_time < span(start_cycle + 1):
            reason = "late_start"
        else:
            k = 0
            while count == 0 or k < count:
                s = start_time + k * period
                if host_at is not None and s >= host_at and (stop_at is None or host_at <= stop_at):
                    reason = "host"
                    break
                if stop_at is not None and s >= stop_at:
                    reason, success_at = "input", stop_at
                    break
                starts.append(s)
                k += 1
        pulses = {k: [] for k in range(self.outputs)}
        for p in pattern:
            if p.on_success:
                if success_at is not None:
                    pulses[p.output].append((success_at + p.offset, success_at + p.offset + p.width))
                continue
            for s in starts:
                pulses[p.output].append((s + p.offset, s + p.offset + p.width))
        return AttemptResult(starts, reason, success_at,
                             {k: intervals_of([], v) for k, v in pulses.items()})
