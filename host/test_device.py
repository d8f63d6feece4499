"""The device: identify, configure, counters, time, and recording with every loss accounted for."""

import numpy as np
import pytest

from qnu.host import open_device
from qnu.host.device import Device
from qnu.host.errors import LinkLost, LinkTimeout, PortError, QnuError, TimeChangeRefused, VersionMismatch
from qnu.host.link import Link
from qnu.recording import Overflow, load_recording
from qnu.sim.fake_node import FakeNode
from qnu import wire
from qnu.wire import ErrorCode, Record


def tags(n, start=1_000, step=37, channels=2):
    """n tags with distinct timestamps, alternating channels and edges."""
    return [Record(start + step * i, i % channels, "falling" if i % 3 == 0 else "rising") for i in range(n)]


def expected_arrays(clock, records):
    return (np.array([r.channel for r in records]), clock.to_ps([r.timestamp for r in records]),
            np.array([-1 if r.kind == "falling" else 1 for r in records]))


# --- opening --------------------------------------------------------------------

def test_identify_gives_the_configuration_and_clock(dev):
    assert (dev.info.protocol_version, dev.info.channels, dev.info.samples_per_cycle) == (wire.PROTOCOL_VERSION, 2, 4)
    assert dev.channels == 2 and dev.clock.bin_ps == 2500


def test_phy_status_names_a_gearbox_error(dev, node):
    assert dev.phy_status().ok and str(dev.phy_status()) == "running"
    node.set_register("phy_status", 0b0101)          # inputs running with a gearbox error; outputs stopped
    status = dev.phy_status()
    assert (status.inputs_running, status.outputs_running, status.input_error, status.output_error) == \
        (True, False, True, False)
    assert not status.ok
    assert str(status) == "inputs GEARBOX ERROR: samples lost or repeated, outputs NOT RUNNING"


def test_another_protocol_version_is_refused_with_what_to_do():
    ours = wire.PROTOCOL_VERSION
    with FakeNode(protocol_version=ours + 1) as node:
        with pytest.raises(VersionMismatch, match=rf"speaks protocol version {ours + 1}, this host library speaks "
                                                  rf"version {ours}: update the host library") as e:
            Device(node.path, timeout=0.3)
        assert (e.value.node_version, e.value.host_version) == (ours + 1, ours)
        Link.open(node.path).close()                      # the failed open released the port
    with FakeNode(protocol_version=ours - 1) as node:
        with pytest.raises(VersionMismatch, match="rebuild and flash the gateware"):
            Device(node.path, timeout=0.3)


def test_something_else_on_the_port_is_not_taken_for_a_node():
    with FakeNode(magic=0x12345678) as node:
        with pytest.raises(QnuError, match="magic 0x12345678, not 0x514e5531 .* not a QNU node"):
            Device(node.path, timeout=0.3)


def test_a_missing_port_and_a_silent_one_are_clear_errors(node):
    with pytest.raises(PortError, match="no such port"):
        Device("/dev/qnu-no-such-port")
    node.silent = True
    with pytest.raises(LinkTimeout, match="no reply .* to IDENTIFY"):
        Device(node.path, timeout=0.1)


def test_opening_stops_a_stream_left_running(node):
    node.streaming = True
    with open_device(node.path, timeout=0.3):
        assert not node.streaming


# --- channels, counters, time ---------------------------------------------------

def test_configure_writes_the_channel_in_ticks(dev, node):
    cfg = dev.configure(1, rising=False, falling=True, delay_ps=10_100, dead_time_ps=50_000)
    assert node.register("ch1_ctrl") == 0b101                      # enable, falling
    assert (node.register("ch1_delay"), node.register("ch1_dead_time")) == (4, 20)
    assert (cfg.delay_ticks, cfg.delay_ps, cfg.dead_time_ps) == (4, 10_000, 50_000)
    assert dev.channel_config(1) == cfg
    dev.configure(1, enable=False)
    assert node.register("ch1_ctrl") == 0b010


def test_configure_checks_its_arguments_in_picoseconds(dev, node):
    sent = len(node.requests)
    with pytest.raises(ValueError, match=r"channel must be 0 to 1 \(this node has 2\)"):
        dev.configure(2)
    with pytest.raises(ValueError, match=r"delay_ps must be 0 to 163838749 ps \(65535 ticks of 2500 ps\)"):
        dev.configure(0, delay_ps=-1)
    with pytest.raises(ValueError, match="dead_time_ps must be 0 to 163838749 ps"):
        dev.configure(0, dead_time_ps=163_838_750)
    assert len(node.requests) == sent
    assert dev.configure(0, delay_ps=163_838_749).delay_ticks == 0xFFFF


def test_counters_and_rates_across_the_32_bit_wrap(dev, node):
    node.set_counter(0, events=2 ** 32 - 1_000, lost=7, rate_hz=50_000)
    node.set_counter(1, events=5)
    c = dev.counters()
    assert c.lost[0] == 7 and c.events[1] == 5
    rates = dev.count_rates(interval_s=0.3)
    assert dev.counters().events[0] < 2 ** 32 - 1_000               # it did wrap
    assert rates.events_hz[0] == pytest.approx(50_000, rel=0.1)
    assert rates.events_hz[1] == 0 and rates.lost_hz[0] == 0
    assert rates.interval_s >= 0.29


def test_time_load_step_and_read(dev):
    dev.load_time(3 << 40)
    t = dev.read_time()
    assert 0 <= t - (3 << 40) < 400_000_000                          # less than a second of ticks
    dev.step_time(-(1 << 40))
    assert 0 <= dev.read_time() - (2 << 40) < 400_000_000
    with pytest.raises(ValueError):
        dev.load_time(-1)


def test_a_refused_time_change_is_retried_then_reported(dev, node):
    """A late-stamping node refuses a time change while events from before its
    previous one are queued: the host retries, and says why if it keeps refusing."""
    node.time_changes_refused = 2                   # drains after two attempts
    dev.load_time(5 << 40)
    assert 0 <= dev.read_time() - (5 << 40) < 400_000_000
    node.time_changes_refused = 10 ** 6             # never drains
    with pytest.raises(TimeChangeRefused, match="still queued") as refused:
        dev.step_time(1000)
    assert refused.value.code == ErrorCode.BAD_VALUE and refused.value.register == "time_cmd"
    assert 0 <= dev.read_time() - (5 << 40) < 400_000_000          # nothing was applied
    node.time_changes_refused = 0
    dev.step_time(1000)                             # and the link is still in step


# --- recording ------------------------------------------------------------------

def test_record_returns_every_tag_in_picoseconds(dev, node):
    records = tags(1_500)
    node.push_records(records)
    seen = []
    rec = dev.record(5.0, max_tags=len(records), block_callback=seen.append)
    t = rec.tags()
    for got, want in zip(t, expected_arrays(dev.clock, records)):
        np.testing.assert_array_equal(got, want)
    assert t.channel.dtype == np.int16 and t.timestamp_ps.dtype == np.int64 and t.edge.dtype == np.int8
    assert (rec.missing_total, rec.lost_total, rec.overflows) == (0, 0, [])
    assert len(seen) == len(rec.blocks) and not node.streaming
    assert rec.duration_s < 5.0                                       # stopped at max_tags


def test_lost_frames_are_counted_exactly_where_they_were(dev, node):
    records = tags(3_000)
    node.drop_events_frames = {2, 7}
    node.corrupt_events_frames = {4}
    node.push_records(records)
    sizes = node.queued_frame_sizes()
    arriving = sum(n for i, n in enumerate(sizes) if i not in {2, 4, 7})
    rec = dev.record(10.0, max_tags=arriving)
    t = rec.tags()
    assert rec.missing_total == node.dropped_records == sizes[2] + sizes[4] + sizes[7]
    assert len(t.timestamp_ps) == arriving
    assert rec.bad_frames == 1                                         # the corrupted one reached the host
    # each gap sits exactly where its records would have been
    index = {int(ps): i for i, ps in enumerate(dev.clock.to_ps([r.timestamp for r in records]))}
    got = [index[int(ps)] for ps in t.timestamp_ps]
    assert len(rec.gaps) == 3
    for gap in rec.gaps:
        assert got[gap.position] - got[gap.position - 1] - 1 == gap.missing


def test_records_lost_at_the_very_end_are_counted_from_records_sent(dev, node):
    records = tags(2_000)
    node.drop_events_frames = set(range(3, 10_000))
    node.push_records(records)
    sizes = node.queued_frame_sizes()
    rec = dev.record(10.0, max_tags=sum(sizes[:3]))
    # the frames after the third go (unseen) the moment it does, before the stream can stop
    assert len(rec) == sum(sizes[:3])
    assert rec.missing_total == node.dropped_records == len(records) - len(rec)
    assert rec.gaps == [(len(rec), len(records) - len(rec))]


def test_overflow_markers_are_reported_with_their_block(dev, node):
    records = tags(10) + [Record(2_000, 1, "overflow", lost=42)] + tags(10, start=3_000)
    node.push_records(records)
    rec = dev.record(1.0, max_tags=20)
    assert rec.overflows == [Overflow(1, dev.clock.to_ps(2_000), 42)]
    assert rec.lost_total == 42 and len(rec) == 20
    assert list(rec.per_channel(2)[1]) == [0, 42]


def test_a_pulled_cable_mid_stream_keeps_the_tags_received(node):
    records = tags(5_000)
    node.frame_interval = 0.01
    node.push_records(records)
    with Device(node.path, timeout=0.3) as dev:
        with pytest.raises(LinkLost) as e:
            dev.record(5.0, block_callback=lambda block: node.hang_up())
        partial = e.value.partial
        assert partial and sum(len(b) for b in partial) > 0
        got = np.concatenate([b.timestamp_ps for b in partial])
        want = dev.clock.to_ps([r.timestamp for r in records])[:len(got)]
        np.testing.assert_array_equal(got, want)


def test_read_events_without_streaming(dev, node):
    node.push_records(tags(10))
    block = dev.read_events()
    assert len(block) == 10 and block.first_record == 0
    assert len(dev.read_events()) == 0


def test_record_needs_a_limit(dev):
    with pytest.raises(ValueError, match="duration_s, max_tags or until"):
        dev.record()


def test_recordings_round_trip_through_npz(dev, node, tmp_path):
    node.drop_events_frames = {1}
    node.push_records(tags(600) + [Record(10 ** 6, 0, "overflow", lost=3)] + tags(600, start=2 * 10 ** 6))
    rec = dev.record(0.3)
    assert rec.gaps and rec.overflows
    rec.save(tmp_path / "run.npz")
    back = load_recording(tmp_path / "run.npz")
    for a, b in zip(rec.tags(), back.tags()):
        np.testing.assert_array_equal(a, b)
    assert [len(b) for b in back.blocks] == [len(b) for b in rec.blocks]
    assert (back.gaps, back.overflows, back.missing_total) == (rec.gaps, rec.overflows, rec.missing_total)
    assert (back.clock_hz, back.samples_per_cycle) == (100_000_000, 4)
    assert back.duration_s == pytest.approx(rec.duration_s)
