"""PTU files: QNU writes them, and ptufile and tttrlib (independent readers) read the same tags to the bin."""

import struct

import numpy as np
import ptufile
import pytest
import tttrlib

from qnu.ptu import PtuError, RECORD_TYPE, T2_WRAP, read_ptu, write_ptu
from qnu.recording import Gap, Overflow, Recording, TagBlock, load_recording
from qnu.sim.sources import parse_source
from qnu.sim.virtual_board import VirtualBoard


def random_tags(seed, count=2_000, channels=4, bin_ps=1250):
    """Tags in bins, out of time order across channels (as they arrive), with gaps far beyond
    one record's overflows and beyond 2**32 ticks, and some falling edges."""
    rng = np.random.default_rng(seed)
    gaps = rng.choice([1, 50, 10 ** 5, 10 ** 9, 3 * 10 ** 11], size=count, p=[0.3, 0.3, 0.3, 0.08, 0.02])
    ticks = np.cumsum(gaps)
    channel = rng.integers(0, channels, count)
    ticks = ticks + rng.integers(0, 3, count)          # channels' tags interleave, not sorted
    edge = np.where(rng.random(count) < 0.25, -1, 1).astype(np.int8)
    return channel, ticks * bin_ps, edge


def ptu_channel(channel, edge, channels):
    return channel + np.where(edge < 0, channels, 0)


def test_a_written_file_reads_back_the_same_tags_in_time_order(tmp_path):
    channel, ts, edge = random_tags(1)
    resolution = write_ptu(tmp_path / "a.ptu", channel, ts, edge, bin_ps=1250, channels=4)
    assert resolution == 1250
    tags, header = read_ptu(tmp_path / "a.ptu")
    order = np.argsort(ts, kind="stable")
    np.testing.assert_array_equal(tags["timestamp_ps"], ts[order])
    np.testing.assert_array_equal(tags["channel"], channel[order])
    np.testing.assert_array_equal(tags["edge"], edge[order])
    assert header["TTResultFormat_TTTRRecType"] == RECORD_TYPE and header["Measurement_Mode"] == 2


@pytest.mark.parametrize("seed", [1, 2])
def test_ptufile_reads_the_same_tags(tmp_path, seed):
    channel, ts, edge = random_tags(seed)
    write_ptu(tmp_path / "a.ptu", channel, ts, edge, bin_ps=1250, channels=4)
    order = np.argsort(ts, kind="stable")
    with ptufile.PtuFile(tmp_path / "a.ptu") as f:
        assert f.record_type == RECORD_TYPE and not f.is_t3
        assert f.global_resolution == pytest.approx(1.25e-9)
        records = f.decode_records()
    events = records[records["channel"] >= 0]
    np.testing.assert_array_equal(events["time"].astype(np.int64) * 1250, ts[order])
    np.testing.assert_array_equal(events["channel"], ptu_channel(channel, edge, 4)[order])


@pytest.mark.parametrize("seed", [1, 2])
def test_tttrlib_reads_the_same_tags(tmp_path, seed):
    channel, ts, edge = random_tags(seed)
    write_ptu(tmp_path / "a.ptu", channel, ts, edge, bin_ps=1250, channels=4)
    order = np.argsort(ts, kind="stable")
    data = tttrlib.TTTR(str(tmp_path / "a.ptu"), "PTU")
    assert data.header.macro_time_resolution == pytest.approx(1.25e-9)
    np.testing.assert_array_equal(np.asarray(data.macro_times, dtype=np.int64) * 1250, ts[order])
    np.testing.assert_array_equal(data.routing_channels, ptu_channel(channel, edge, 4)[order])


def test_tags_off_the_bin_are_written_to_the_picosecond(tmp_path):
    ts = np.array([0, 1, 1250, 2 ** 40 + 7])
    assert write_ptu(tmp_path / "a.ptu", [0, 1, 0, 1], ts, bin_ps=1250) == 1
    tags, _ = read_ptu(tmp_path / "a.ptu")
    np.testing.assert_array_equal(tags["timestamp_ps"], ts)
    with ptufile.PtuFile(tmp_path / "a.ptu") as f:
        records = f.decode_records()
    np.testing.assert_array_equal(records[records["channel"] >= 0]["time"], ts)


def test_an_empty_recording_is_a_valid_file(tmp_path):
    write_ptu(tmp_path / "a.ptu", [], [], channels=2)
    tags, header = read_ptu(tmp_path / "a.ptu")
    assert len(tags["timestamp_ps"]) == 0 and header["TTResult_NumberOfRecords"] == 0
    with ptufile.PtuFile(tmp_path / "a.ptu") as f:
        assert f.number_records == 0


@pytest.mark.parametrize("args, message", [
    (([0], [-5]), "negative"),
    (([3], [5], None, {"channels": 2}), "outside"),
    (([0, 40], [5, 6], [1, -1], {"channels": 41}), "do not fit"),
    (([0, 1], [5]), "differ in length"),
])
def test_tags_a_ptu_file_cannot_hold_are_refused(tmp_path, args, message):
    channel, ts, *rest = args
    edge = rest[0] if rest else None
    kwargs = rest[1] if len(rest) > 1 else {}
    with pytest.raises(PtuError, match=message):
        write_ptu(tmp_path / "a.ptu", channel, ts, edge, **kwargs)


def test_files_qnu_cannot_read_are_refused_with_the_reason(tmp_path):
    (tmp_path / "a.ptu").write_bytes(b"not a ptu file at all")
    with pytest.raises(PtuError, match="no PQTTTR magic"):
        read_ptu(tmp_path / "a.ptu")
    write_ptu(tmp_path / "b.ptu", [0, 1, 0], [10, 20, 30])
    raw = (tmp_path / "b.ptu").read_bytes()
    (tmp_path / "c.ptu").write_bytes(raw[:-4])
    with pytest.raises(PtuError, match="2 records of the 3"):
        read_ptu(tmp_path / "c.ptu")
    at = raw.index(b"TTResultFormat_TTTRRecType")
    t3 = raw[:at + 40] + struct.pack("<q", 0x00010307) + raw[at + 48:]
    (tmp_path / "d.ptu").write_bytes(t3)
    with pytest.raises(PtuError, match="record type 0x10307"):
        read_ptu(tmp_path / "d.ptu")


def test_a_recording_saves_to_ptu_by_its_suffix_and_counts_its_losses(tmp_path):
    block = TagBlock(np.array([1, 0, 1], dtype=np.int16), np.array([5_000, 2_500, 2 ** 36 * 2_500]),
                     np.array([1, 1, -1], dtype=np.int8),
                     overflows=[Overflow(0, 7_500, 4)], gaps=[Gap(1, 3)])
    rec = Recording([block], clock_hz=100_000_000, samples_per_cycle=4)
    rec.save(tmp_path / "r.PTU")
    back = load_recording(tmp_path / "r.PTU")
    tags = back.tags()
    np.testing.assert_array_equal(tags.timestamp_ps, [2_500, 5_000, 2 ** 36 * 2_500])
    np.testing.assert_array_equal(tags.channel, [0, 1, 1])
    np.testing.assert_array_equal(tags.edge, [1, 1, -1])
    assert back.bin_ps == 2_500
    _, header = read_ptu(tmp_path / "r.PTU")
    assert header["QNU_LostEvents"] == 4 and header["QNU_MissingRecords"] == 3


def test_qnu_tags_writes_a_ptu_file_both_readers_agree_with(tmp_path):
    """`qnu tags --output tags.ptu` on the virtual board in Verilator: the tags are the
    sources' pulses to the picosecond, and ptufile and tttrlib read the same ones."""
    from qnu.host.cli import main

    sources = [parse_source("1:periodic:period=30us,phase=3ns,width=20ns"),
               parse_source("2:periodic:period=70us,phase=11ns,width=35ns")]
    with VirtualBoard(backend="verilator", divisor=8, sources=sources) as vb:
        main(["tags", "--port", vb.path, "--channels", "1,2", "--rising", "--falling", "--max-tags", "600",
              "--duration", "60", "--output", str(tmp_path / "tags.ptu")])
    rec = load_recording(tmp_path / "tags.ptu")
    tags = rec.tags()
    header = read_ptu(tmp_path / "tags.ptu")[1]
    assert len(tags.timestamp_ps) >= 600 and header["QNU_LostEvents"] == 0 and set(np.unique(tags.edge)) == {-1, 1}
    # the sources' own shape, to the picosecond: a pulse's falling edge is its width after its rising one
    for ch, width, period in ((1, 20_000, 30_000_000), (2, 35_000, 70_000_000)):
        rising = tags.timestamp_ps[(tags.channel == ch) & (tags.edge == 1)]
        falling = tags.timestamp_ps[(tags.channel == ch) & (tags.edge == -1)]
        assert np.all(np.diff(rising) == period)
        assert np.all(np.diff(falling) == period)
        assert width in set((falling[:, None] - rising[None, :]).ravel())
    channels = int(header["QNU_Channels"])
    with ptufile.PtuFile(tmp_path / "tags.ptu") as f:
        records = f.decode_records()
        scale = round(f.global_resolution * 1e12)
    events = records[records["channel"] >= 0]
    np.testing.assert_array_equal(events["time"].astype(np.int64) * scale, tags.timestamp_ps)
    np.testing.assert_array_equal(events["channel"], ptu_channel(tags.channel, tags.edge, channels))
    data = tttrlib.TTTR(str(tmp_path / "tags.ptu"), "PTU")
    np.testing.assert_array_equal(np.asarray(data.macro_times, dtype=np.int64) * scale, tags.timestamp_ps)
    np.testing.assert_array_equal(data.routing_channels, ptu_channel(tags.channel, tags.edge, channels))
