"""EVENTS frames to TagBlocks, with exact accounting of the records that never arrived.

Every EVENTS payload starts with the stream index of its first record (the
node's records_sent before the frame). Knowing where the previous frame ended,
the difference is exactly how many records went missing in between: frames
that were corrupted on the line, dropped, or did not decode.
"""

import numpy as np

from qnu import wire
from qnu.host.errors import QnuError
from qnu.recording import Gap, Herald, Overflow, TagBlock

__all__ = ["EventStream", "BlockCollector"]

_MOD = 1 << 32


class EventStream:
    """Decodes the EVENTS frames of one node, in arrival order, into TagBlocks.

    ``next_index`` is the index of the next record expected (mod 2**32), or
    None before the first frame when the node's records_sent was not read.
    """

    def __init__(self, clock, next_index=None):
        self.clock = clock
        self.next_index = next_index

    def block(self, frames, *, bad_frames=0):
        """One TagBlock from a list of :class:`qnu.host.link.EventsFrame`."""
        channel, ticks, edge, overflows, gaps, heralds = [], [], [], [], [], []
        first_record = None
        for frame in frames:
            try:
                index, data = wire.unpack_events(frame.payload)
            except wire.FrameError:
                bad_frames += 1     # no index: the next frame's index still accounts for its records
                continue
            missing = self._missing_before(index)
            if missing is None:
                err = QnuError(f"the node's record index went back from {self.next_index} to {index}: "
                               "was the node reset?")
                err.partial = [self._make(channel, ticks, edge, overflows, gaps, first_record, bad_frames, heralds)]
                self.next_index = None      # start counting afresh from the next frame
                raise err
            if missing:
                gaps.append(Gap(len(ticks), missing))
            if first_record is None:
                first_record = index
            try:
                records = wire.decode_records(data)
            except wire.FrameError:
                bad_frames += 1     # its records count as missing once the next index is known
                self.next_index = index
                continue
            for r in records:
                if r.kind == "herald":
                    heralds.append(r)
                elif r.kind == "overflow":
                    overflows.append((r.channel, r.timestamp, r.lost))
                else:
                    channel.append(r.channel)
                    ticks.append(r.timestamp)
                    edge.append(1 if r.kind == "rising" else -1)
            self.next_index = (index + len(records)) % _MOD
        return self._make(channel, ticks, edge, overflows, gaps, first_record, bad_frames, heralds)

    def catch_up(self, records_sent):
        """Records sent but never received since the last frame, given the node's records_sent."""
        missing = self._missing_before(records_sent)
        if missing is None:
            raise QnuError(f"the node's records_sent ({records_sent}) is behind the records received "
                           f"({self.next_index}): was the node reset?")
        self.next_index = records_sent % _MOD
        return missing

    def _missing_before(self, index):
        """How many records precede ``index`` unseen; None if the index went backwards."""
        if self.next_index is None:
            return 0
        missing = (index - self.next_index) % _MOD
        return None if missing >= _MOD // 2 else missing

    def _make(self, channel, ticks, edge, overflows, gaps, first_record, bad_frames, heralds=()):
        ov_ps = self.clock.to_ps(np.array([o[1] for o in overflows], dtype=np.int64))
        # (a reference is a timestamp, in the middle of its bin; a click's time after it is a difference)
        heralds = [Herald(int(self.clock.to_ps(h.timestamp)), h.attempt, h.outcome, h.multi, h.pattern,
                          {k: round(t * self.clock.bin_ps) for k, t in h.clicks.items()}) for h in heralds]
        return TagBlock(
            channel=np.array(channel, dtype=np.int16),
            timestamp_ps=self.clock.to_ps(np.array(ticks, dtype=np.int64)),
            edge=np.array(edge, dtype=np.int8),
            overflows=[Overflow(o[0], int(t), o[2]) for o, t in zip(overflows, ov_ps)],
            gaps=gaps, first_record=first_record, bad_frames=bad_frames, heralds=heralds)


class BlockCollector:
    """The blocks of one recording, made from the link's EVENTS frames as they come."""

    def __init__(self, link, events, block_callback=None):
        self.link, self.events, self.block_callback = link, events, block_callback
        self.blocks = []
        self.tags = 0
        self._bad_seen = link.bad_frames

    def collect(self, frames):
        """Make a block of ``frames`` (and of the corrupt frames the link saw meanwhile), if any."""
        bad, self._bad_seen = self.link.bad_frames - self._bad_seen, self.link.bad_frames
        if not frames and not bad:
            return
        try:
            block = self.events.block(frames, bad_frames=bad)
        except QnuError as e:
            self.blocks += e.partial or []
            raise
        self.blocks.append(block)
        self.tags += len(block)
        if self.block_callback is not None:
            self.block_callback(block)

    def add_final_gap(self, missing):
        """Records known lost after the last one received: a gap at the end of the last block."""
        if missing:
            if not self.blocks:
                self.blocks.append(TagBlock())
            self.blocks[-1].gaps.append(Gap(len(self.blocks[-1]), missing))
