"""The serial link: opening ports, replies by seq, retries, timeouts, corrupt frames, a lost port."""

import pytest

from qnu import wire
from qnu.host.errors import CrcErrors, DeviceError, LinkLost, LinkTimeout, PortError
from qnu.host.link import Link
from qnu.wire import Command, ErrorCode, Reply


def test_a_missing_port_is_named_with_the_likely_cause():
    with pytest.raises(PortError, match=r"cannot open /dev/qnu-no-such-port: no such port") as e:
        Link.open("/dev/qnu-no-such-port")
    assert "qnu sim serve" in str(e.value)


def test_a_busy_port_says_so(node):
    with Link.open(node.path):
        with pytest.raises(PortError, match="busy"):
            Link.open(node.path)


def test_pyserial_urls_work_too():
    # loop:// echoes what is written: our request comes back as a frame of unknown kind,
    # after the reply put there first.
    with Link.open("loop://", timeout=0.2) as link:
        link.port.write(wire.build_frame(Reply.OK, 1, b"hello"))
        assert link.request(Command.IDENTIFY) == b"hello"


def test_replies_match_their_request(node):
    with Link.open(node.path, timeout=0.3) as link:
        info = wire.IdentifyInfo.unpack(link.request(Command.IDENTIFY))
        assert (info.magic, info.channels) == (wire.MAGIC, 2)
        link.write(0x0004, [0xC0DBC0DB])        # END and ESC bytes in the payload
        assert link.read(0x0004, 1) == [0xC0DBC0DB]
        seqs = [seq for _, seq, _ in node.requests]
        assert seqs == [1, 2, 3] and 0 not in seqs


def test_a_silent_node_times_out_after_one_retry_of_an_idempotent_request(node):
    node.silent = True
    with Link.open(node.path, timeout=0.15) as link:
        with pytest.raises(LinkTimeout, match=r"no reply from .* to READ within 0.15 s \(sent 2 times\)"):
            link.read(0x0004, 1)


def test_a_write_is_not_retried_and_the_message_says_it_may_have_applied(node):
    node.ignore_requests = 1
    with Link.open(node.path, timeout=0.15) as link:
        with pytest.raises(LinkTimeout, match="may or may not have applied the WRITE"):
            link.write(0x0004, [7])
        assert sum(kind == Command.WRITE for kind, _, _ in node.requests) == 1


def test_a_read_whose_request_was_lost_is_retried(node):
    node.ignore_requests = 1
    with Link.open(node.path, timeout=0.15) as link:
        assert link.read(0x0000, 1) == [wire.MAGIC]
        assert len(node.requests) == 2


def test_a_request_the_node_got_corrupted_is_resent_once_whatever_it_is(node):
    node.refuse_crc = 1
    with Link.open(node.path, timeout=0.3) as link:
        link.write(0x0004, [99])
        assert node.register("scratch") == 99
        node.refuse_crc = 2
        with pytest.raises(DeviceError, match="BAD_CRC") as e:
            link.write(0x0004, [100])
        assert e.value.code == ErrorCode.BAD_CRC and node.register("scratch") == 99


def test_repeated_corrupt_frames_raise_crc_errors(node):
    node.reply_noise, node.corrupt_replies = 2, 1      # three bad frames, and no good one
    with Link.open(node.path, timeout=0.5, max_bad_frames=3) as link:
        with pytest.raises(CrcErrors, match="3 consecutive corrupt frames .* baud rate") as e:
            link.read(0x0000, 1)
        assert e.value.count == 3 and link.bad_frames == 3


def test_isolated_corrupt_frames_are_counted_and_survived(node):
    node.reply_noise = 1
    with Link.open(node.path, timeout=0.5) as link:
        assert link.read(0x0000, 1) == [wire.MAGIC]
        assert link.read(0x0000, 1) == [wire.MAGIC]
        assert link.bad_frames == 2


def test_an_error_reply_is_a_device_error_with_code_and_meaning(node):
    with Link.open(node.path, timeout=0.3) as link:
        with pytest.raises(DeviceError) as e:
            link.read(0x0005, 2)        # features, then a gap
        assert (e.value.code, e.value.detail) == (ErrorCode.BAD_ADDRESS, 0x0006)
        assert "BAD_ADDRESS (no register at this address)" in str(e.value) and not e.value.by_host


def test_a_pulled_cable_is_link_lost(node):
    with Link.open(node.path, timeout=0.3) as link:
        link.read(0x0000, 1)
        node.hang_up()
        with pytest.raises(LinkLost, match="lost the link to"):
            link.read(0x0000, 1)
