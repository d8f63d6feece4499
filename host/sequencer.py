"""The node's output sequencer from the host: ``dev.sequencer``.

    dev.outputs[1].source = OutputSource.SEQUENCER
    t0 = dev.time_ps() + 1_000_000_000                  # 1 ms ahead of the node
    dev.sequencer.schedule([Pulse(1, t0, 20_000), Edge(2, t0 + 5_000, rising=True)])
    dev.sequencer.check()                               # SequencerLate if any event was late

Times are integer picoseconds on the node's timebase, rounded to the nearest
fine tick as :meth:`Device.configure` rounds delays. Every event sent ends
up played, late (counted, the first latched, :class:`SequencerLate`) or
refused (:class:`SequencerFull`): ``status()`` gives the three counts.
"""

from dataclasses import dataclass

from qnu import wire
from qnu.wire import Command, ErrorCode, OutputAction, OutputEvent

from .errors import DeviceError, SequencerFull, SequencerLate

__all__ = ["Pulse", "Edge", "Sequencer", "SequencerStatus", "LateEvent"]

_MASK32 = 0xFFFF_FFFF


@dataclass(frozen=True)
class Pulse:
    """A pulse of ``width_ps`` on ``output`` starting at ``time_ps`` (over the output's level)."""
    output: int
    time_ps: int
    width_ps: int


@dataclass(frozen=True)
class Edge:
    """``output``'s level goes high (``rising``) or low at ``time_ps``."""
    output: int
    time_ps: int
    rising: bool = True


@dataclass(frozen=True)
class LateEvent:
    output: int
    time_ticks: int
    late_by_ticks: int


@dataclass(frozen=True)
class SequencerStatus:
    """The sequencer's wrapping counters and its first-late latch (None when clear)."""
    played: int
    late: int
    refused: int
    first_late: LateEvent = None


class Sequencer:
    """Timestamped output events of one node (its ``features`` has ``sequencer``)."""

    def __init__(self, device):
        self._dev = device
        self._late_seen = device.regs.seq_late     # late before this session is not this session's

    @property
    def depth(self):
        """Events each output's queue holds."""
        return self._dev.regs.seq_depth

    def to_event(self, event):
        """The OutputEvent (ticks) of a Pulse or Edge (ps), checked as the node checks it."""
        clock = self._dev.clock
        if isinstance(event, Pulse):
            if event.width_ps <= 0:
                raise ValueError(f"a pulse's width must be positive, not {event.width_ps} ps")
            width = max(1, clock.to_ticks(event.width_ps))
            out = OutputEvent(clock.whole_ticks("event time", event.time_ps), event.output, OutputAction.PULSE, width)
        elif isinstance(event, Edge):
            out = OutputEvent(clock.whole_ticks("event time", event.time_ps), event.output,
                              OutputAction.RISE if event.rising else OutputAction.FALL)
        elif isinstance(event, OutputEvent):
            out = event
        else:
            raise TypeError(f"an output event is a Pulse, an Edge or an OutputEvent, not {event!r}")
        out.check(self._dev.features.outputs)
        return out

    def schedule(self, events):
        """Queue events (Pulse, Edge or OutputEvent); returns how many were queued.

        All events are checked before any is sent (ValueError names the first
        bad one). Each output's events are sent in time order, as many per
        SCHEDULE frame as fit. If an output's queue fills, the node refuses
        the frame whole: :class:`SequencerFull` says how many of this call's
        events were queued before it (they stay queued)."""
        ticks = sorted((self.to_event(e) for e in events), key=lambda e: (e.time, e.output))
        queued = 0
        for first in range(0, len(ticks), wire.MAX_SCHEDULE):
            frame = ticks[first:first + wire.MAX_SCHEDULE]
            try:
                self._dev.link.request(Command.SCHEDULE, wire.pack_schedule(frame))
            except DeviceError as e:
                if e.code == ErrorCode.QUEUE_FULL:
                    raise SequencerFull(e.code, e.detail, queued=queued,
                                        request=f"SCHEDULE of {len(frame)} events") from None
                raise
            queued += len(frame)
        return queued

    def free(self):
        """Events each output's queue can still take (a list, by output)."""
        names = [f"out{k}_free" for k in range(self._dev.features.outputs)]
        values = self._dev.regs.read(*names)
        return [values[n] for n in names]

    def status(self):
        """A SequencerStatus: played, late and refused events, and the first late one."""
        v = self._dev.regs.read("seq_played", "seq_late", "seq_refused", "seq_late_output",
                                "seq_late_time", "seq_late_by")
        first = None
        if v["seq_late_output"] & 1:
            first = LateEvent(v["seq_late_output"] >> 1, v["seq_late_time"], v["seq_late_by"])
        return SequencerStatus(v["seq_played"], v["seq_late"], v["seq_refused"], first)

    def clear_late(self):
        """Clear the first-late latch (the counters keep counting)."""
        self._dev.regs.write({"seq_ctrl": 1})

    def check(self):
        """Raise :class:`SequencerLate` if events were late since the last check (or since
        the device was opened), naming the first; then clear the latch."""
        status = self.status()
        new = (status.late - self._late_seen) & _MASK32
        self._late_seen = status.late
        if new and status.first_late is not None:
            self.clear_late()
            late = status.first_late
            raise SequencerLate(new, late.output, late.time_ticks, late.late_by_ticks, self._dev.clock)
        return status
