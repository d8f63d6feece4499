"""Compare a recorded event stream with the reference model's."""

from collections import defaultdict

from .model import OVERFLOW

__all__ = ["StreamMismatch", "check_lossless", "check_lossy", "per_channel"]


class StreamMismatch(AssertionError):
    pass


def per_channel(events):
    out = defaultdict(list)
    for e in events:
        out[e.channel].append(e)
    return out


def check_ordered(recorded):
    for i in range(1, len(recorded)):
        a, b = recorded[i - 1], recorded[i]
        if (b.timestamp, b.channel) < (a.timestamp, a.channel):
            raise StreamMismatch(f"stream out of order at record {i}: {a} then {b}")


def check_lossless(recorded, expected, *, event_counts=None, lost_counts=None):
    """Every expected event, in the same order, and nothing else."""
    for i, (got, want) in enumerate(zip(recorded, expected)):
        if got != want:
            raise StreamMismatch(f"record {i}: got {got}, expected {want}\n"
                                 f"context: {recorded[max(0, i - 3):i + 3]}")
    if len(recorded) != len(expected):
        extra = recorded[len(expected):] or expected[len(recorded):]
        raise StreamMismatch(f"got {len(recorded)} records, expected {len(expected)}; "
                             f"first unmatched: {extra[:3]}")
    if event_counts is not None:
        _check_counts(event_counts, per_channel(expected), "event")
    if lost_counts is not None and any(lost_counts):
        raise StreamMismatch(f"no loss expected, lost counters read {lost_counts}")


def check_lossy(recorded, expected, *, event_counts, lost_counts):
    """The stream is the expected one with gaps, each gap marked exactly.

    For each channel, delivered events must be the expected ones in order,
    and an overflow marker must stand exactly where ``lost`` consecutive
    expected events are missing, with the first one's timestamp. Delivered
    plus lost must equal injected, and the counters must agree. Returns
    (delivered, lost) totals.
    """
    check_ordered(recorded)
    want = per_channel(expected)
    got = per_channel(recorded)
    delivered = lost = 0
    for ch in sorted(set(want) | set(got)):
        exp = want.get(ch, [])
        pos = 0
        ch_lost = 0
        for rec in got.get(ch, []):
            if pos >= len(exp):
                raise StreamMismatch(f"channel {ch}: unexpected record {rec} after all expected events")
            if rec.kind == OVERFLOW:
                if rec.timestamp != exp[pos].timestamp or rec.lost < 1:
                    raise StreamMismatch(f"channel {ch}: marker {rec} should start at {exp[pos]}")
                pos += rec.lost
                ch_lost += rec.lost
            else:
                if rec != exp[pos]:
                    raise StreamMismatch(f"channel {ch}: got {rec}, expected {exp[pos]} "
                                         f"(expected #{pos} of the channel)")
                pos += 1
                delivered += 1
        if pos != len(exp):
            raise StreamMismatch(f"channel {ch}: stream accounts for {pos} of {len(exp)} events")
        if lost_counts[ch] != ch_lost:
            raise StreamMismatch(f"channel {ch}: lost counter {lost_counts[ch]}, markers say {ch_lost}")
        lost += ch_lost
    _check_counts(event_counts, want, "event")
    return delivered, lost


def _check_counts(counts, want, what):
    for ch, n in enumerate(counts):
        if n != len(want.get(ch, [])):
            raise StreamMismatch(f"channel {ch}: {what} counter {n}, expected {len(want.get(ch, []))}")
