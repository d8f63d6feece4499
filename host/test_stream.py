"""EventStream: exact gap accounting across index wrap, undecodable frames and a node reset."""

import pytest

from qnu import wire
from qnu.host.errors import QnuError
from qnu.host.link import EventsFrame
from qnu.host.stream import EventStream
from qnu.units import TickClock
from qnu.wire import Record

CLOCK = TickClock(100_000_000, 4)


def frame(index, records):
    return EventsFrame(0, wire.pack_events(index, wire.encode_records(records)))


def tags(start, n):
    return [Record(start + i, 0, "rising") for i in range(n)]


def test_gaps_are_exact_across_the_32_bit_wrap():
    stream = EventStream(CLOCK, next_index=2 ** 32 - 2)
    block = stream.block([frame(2 ** 32 - 2, tags(10, 3)), frame(1, tags(20, 2)), frame(7, tags(30, 1))])
    assert len(block) == 6 and block.gaps == [(5, 4)] and block.missing_records == 4
    assert block.first_record == 2 ** 32 - 2 and stream.next_index == 8
    assert stream.catch_up(10) == 2 and stream.catch_up(10) == 0


def test_an_undecodable_frame_counts_as_missing_records():
    stream = EventStream(CLOCK, next_index=0)
    garbled = EventsFrame(0, wire.pack_events(3, bytes([0x7F])))       # an unknown record code
    block = stream.block([frame(0, tags(10, 3)), garbled, frame(8, tags(40, 1)), EventsFrame(0, b"\x01")])
    assert len(block) == 4 and block.gaps == [(3, 5)] and block.bad_frames == 2


def test_overflow_markers_keep_their_channel_time_and_count():
    stream = EventStream(CLOCK, next_index=0)
    block = stream.block([frame(0, tags(10, 2) + [Record(15, 3, "overflow", lost=9)])])
    assert block.overflows == [(3, CLOCK.to_ps(15), 9)] and block.lost == 9 and len(block) == 2


def test_an_index_going_back_is_an_error_that_keeps_the_tags_before_it():
    stream = EventStream(CLOCK, next_index=0)
    with pytest.raises(QnuError, match="went back from 3 to 1: was the node reset") as e:
        stream.block([frame(0, tags(10, 3)), frame(1, tags(20, 1))])
    assert [len(b) for b in e.value.partial] == [3]
