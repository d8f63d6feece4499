"""The fake node keeps the protocol's rules, so host tests against it mean something."""

import pytest

from qnu import wire
from qnu.host.errors import DeviceError
from qnu.host.link import Link
from qnu.wire import Command, ErrorCode


@pytest.fixture
def link(node):
    with Link.open(node.path, timeout=0.3) as link:
        yield link


def refusal(link, command, payload):
    with pytest.raises(DeviceError) as e:
        link.request(command, payload)
    return e.value.code, e.value.detail


def test_bad_requests_get_the_spec_error_and_count(link, node):
    assert refusal(link, Command.READ, wire.pack_read(0x0004, 0)) == (ErrorCode.BAD_LENGTH, 7)
    assert refusal(link, Command.READ, wire.pack_read(0x0004, wire.MAX_BURST + 1)) == (ErrorCode.BAD_LENGTH, 7)
    assert refusal(link, Command.WRITE, wire.pack_write(0x0004, [1])[:-1]) == (ErrorCode.BAD_LENGTH, 10)
    assert refusal(link, Command.STREAM, b"\x02") == (ErrorCode.BAD_VALUE, 0)
    assert refusal(link, Command.IDENTIFY, b"x") == (ErrorCode.BAD_LENGTH, 5)
    assert (node.register("err_length"), node.register("err_value")) == (4, 1)


def test_an_unknown_command_is_refused(link, node):
    assert refusal(link, 0x7E, b"") == (ErrorCode.UNKNOWN_COMMAND, 0x7E)
    assert node.register("err_command") == 1


def test_a_write_burst_is_all_or_nothing(link, node):
    assert refusal(link, Command.WRITE, wire.pack_write(0x0003, [1, 2])) == (ErrorCode.READ_ONLY, 0x0003)
    # out0_ctrl, then a gap: nothing of the burst is applied
    assert refusal(link, Command.WRITE, wire.pack_write(0x0400, [0, 2])) == (ErrorCode.BAD_ADDRESS, 0x0401)
    assert node.register("out0_ctrl") == 2


def test_garbage_is_answered_and_the_next_frame_is_served(link, node):
    link.port.write(b"\x00\x11\x22" + bytes([wire.END]))
    assert link.read(0x0000, 1) == [wire.MAGIC]
    assert node.register("err_length") == 1 and link.stale_replies == 1


def test_events_frames_carry_the_index_of_their_first_record(link, node):
    node.push_records([wire.Record(100 + i, 0, "rising") for i in range(3)])
    link.request(Command.READ_EVENTS)
    link.request(Command.READ_EVENTS)
    (seq0, p0), (seq1, p1) = link.take_events()
    # each is its request's reply, by seq
    assert [seq for kind, seq, _ in node.requests if kind == Command.READ_EVENTS] == [seq0, seq1]
    index0, data0 = wire.unpack_events(p0)
    assert index0 == 0 and len(wire.decode_records(data0)) == 3
    assert wire.unpack_events(p1) == (3, b"")
    assert node.register("records_sent") == 3


def test_read_events_while_streaming_is_matched_by_its_seq(link, node):
    """The EVENTS_READ reply is found among streamed EVENTS frames by its seq; all frames
    land in the stream in order, so the indices run on without a gap."""
    node.push_records([wire.Record(1000 + 7 * i, i % 2, "rising") for i in range(600)])
    link.request(Command.STREAM, b"\x01")
    frames = link.collect_events(0.01)
    link.request(Command.READ_EVENTS)
    frames += link.collect_events(0.01)
    link.request(Command.STREAM, b"\x00")
    while not frames or wire.unpack_events(frames[-1].payload)[1]:    # what is still queued
        link.request(Command.READ_EVENTS)
        frames += link.take_events()
    index = 0
    for _, payload in frames:
        first, data = wire.unpack_events(payload)
        assert first == index
        index += len(wire.decode_records(data))
    assert index == 600 and link.stale_replies == 0 and link.unknown_frames == 0
