"""PicoQuant PTU files, T2 mode: QNU's tags in the format other tools read.

The record type is the generic T2 record of the MultiHarp and Time Tagger
Ultra class (``0x00010207``): one little-endian 32-bit word per record,

- bit 31: special; bits 30..25: channel; bits 24..0: time tag;
- special = 0: an event on ``channel`` at ``overflows * 2**25 + time tag``;
- special = 1, channel = 63: ``time tag`` more overflows (a long gap; at
  most 127 per record, see ``_WRAPS_PER_RECORD``);
- special = 1, channel 1..15: external markers (QNU writes none).

Times count in units of ``MeasDesc_GlobalResolution`` seconds: the node's
bin when every tag is a whole number of bins (``resolution_ps``), else 1 ps,
so no tag moves. Rising edges of QNU channel ``c`` are PTU channel ``c``;
falling edges, if any, are ``c + QNU_FallingEdgeOffset`` (PTU knows no
edges). Events the node lost and records the link lost are counted in the
header (``QNU_LostEvents``, ``QNU_MissingRecords``): PTU has nowhere to put
their positions, so a recording keeps them only in .npz.

The header is PicoQuant's tagged list: the magic ``PQTTTR``, a version, then
entries of a 32-byte name, an index, a type and an 8-byte value (strings
and arrays follow their entry, padded to 8 bytes), up to ``Header_End``.
"""

import datetime
import struct
import uuid

import numpy as np

__all__ = ["RECORD_TYPE", "write_ptu", "read_ptu", "PtuError", "T2_WRAP"]

RECORD_TYPE = 0x00010207        # generic T2 (MultiHarp 150/160, PicoHarp 330)
T2_WRAP = 1 << 25
_OVERFLOW_CHANNEL = 63
# An overflow record may carry up to 2**25 - 1 wraps, but ptufile
# (2026.2.6) multiplies the count by 2**25 in 32 bits: 127 wraps per record
# keep every reader right, at one record per 4.3e9 ticks of gap.
_WRAPS_PER_RECORD = 127
_MAX_CHANNELS = 63
_MAGIC, _VERSION = b"PQTTTR\0\0", b"1.0.00\0\0"

# tag types (PicoQuant's tyXxx)
_EMPTY8, _BOOL8, _INT8, _FLOAT8, _DATETIME = 0xFFFF0008, 0x00000008, 0x10000008, 0x20000008, 0x21000008
_ANSI_STRING = 0x4001FFFF
_BITSET64, _COLOR8, _FLOAT8_ARRAY, _WIDE_STRING, _BLOB = 0x11000008, 0x12000008, 0x2001FFFF, 0x4002FFFF, 0xFFFFFFFF
_MEASUREMENT_MODE_T2 = 2
_DELPHI_EPOCH = datetime.datetime(1899, 12, 30, tzinfo=datetime.timezone.utc)


class PtuError(ValueError):
    """A file that is not a PTU file QNU can read, or tags a PTU file cannot hold."""


def _entry(name, type_, value, index=-1):
    head = name.encode("ascii").ljust(32, b"\0") + struct.pack("<iI", index, type_)
    if type_ == _ANSI_STRING:
        data = value.encode("ascii") + b"\0"
        data = data.ljust(-(-len(data) // 8) * 8, b"\0")
        return head + struct.pack("<q", len(data)) + data
    if type_ in (_FLOAT8, _DATETIME):
        return head + struct.pack("<d", value)
    return head + struct.pack("<q", int(value))


def _records(channel, ticks):
    """Encode sorted ticks and their PTU channels as records, overflows included."""
    wraps = ticks >> 25
    step = np.diff(wraps, prepend=np.int64(0))
    need = -(-step // _WRAPS_PER_RECORD)     # overflow records before each tag
    out = np.empty(len(ticks) + int(need.sum()), dtype=np.uint32)
    event_at = np.arange(len(ticks)) + np.cumsum(need)
    out[event_at] = (channel.astype(np.uint32) << 25) | (ticks & (T2_WRAP - 1)).astype(np.uint32)
    for i in np.flatnonzero(need):                  # (a loop per gap, not per tag)
        left, slot = int(step[i]), int(event_at[i] - need[i])
        while left:
            count = min(left, _WRAPS_PER_RECORD)
            out[slot] = (1 << 31) | (_OVERFLOW_CHANNEL << 25) | count
            left, slot = left - count, slot + 1
    return out


def _resolution_ps(timestamps, bin_ps):
    if bin_ps and float(bin_ps).is_integer() and bin_ps >= 1 and not np.any(timestamps % int(bin_ps)):
        return int(bin_ps)
    return 1


def write_ptu(path, channel, timestamp_ps, edge=None, *, bin_ps=None, channels=None, lost=0, missing=0,
              comment="", created=None):
    """Write tags (arrays: channel, timestamp_ps, edge +1/-1) to a T2 PTU file.

    Tags are written in time order (stably: equal times keep their order).
    ``bin_ps`` is the node's bin (the time resolution if every tag is a
    whole number of them), ``channels`` the node's channel count. Returns the
    resolution used, in ps."""
    channel = np.asarray(channel, dtype=np.int64)
    ts = np.asarray(timestamp_ps, dtype=np.int64)
    edge = np.ones(len(ts), dtype=np.int8) if edge is None else np.asarray(edge)
    if not len(channel) == len(ts) == len(edge):
        raise PtuError("channel, timestamp_ps and edge differ in length")
    if len(ts) and ts.min() < 0:
        raise PtuError("a PTU file holds no negative times")
    channels = int(channels if channels is not None else (channel.max() + 1 if len(channel) else 1))
    falling = bool(np.any(edge < 0))
    ptu_channel = channel + np.where(edge < 0, channels, 0)
    if len(channel) and (channel.min() < 0 or channel.max() >= channels):
        raise PtuError(f"a tag's channel is outside 0..{channels - 1}")
    if channels * (2 if falling else 1) > _MAX_CHANNELS:
        raise PtuError(f"{channels} channels{' with falling edges' if falling else ''} do not fit PTU's "
                       f"{_MAX_CHANNELS} event channels")
    order = np.argsort(ts, kind="stable")
    resolution = _resolution_ps(ts, bin_ps)
    records = _records(ptu_channel[order], ts[order] // resolution)
    created = created or datetime.datetime.now(datetime.timezone.utc)
    days = (created - _DELPHI_EPOCH).total_seconds() / 86400
    header = [
        ("File_GUID", _ANSI_STRING, "{" + str(uuid.uuid4()).upper() + "}"),
        ("File_CreatingTime", _DATETIME, days),
        ("File_Comment", _ANSI_STRING, comment or "QNU time tags"),
        ("CreatorSW_Name", _ANSI_STRING, "QNU"),
        ("Measurement_Mode", _INT8, _MEASUREMENT_MODE_T2),
        ("Measurement_SubMode", _INT8, 0),
        ("TTResultFormat_TTTRRecType", _INT8, RECORD_TYPE),
        ("TTResultFormat_BitsPerRecord", _INT8, 32),
        ("TTResult_NumberOfRecords", _INT8, len(records)),
        ("TTResult_SyncRate", _INT8, 0),
        ("MeasDesc_Resolution", _FLOAT8, resolution * 1e-12),
        ("MeasDesc_GlobalResolution", _FLOAT8, resolution * 1e-12),
        ("HW_InpChannels", _INT8, channels * (2 if falling else 1) + 1),     # (PicoQuant counts the sync)
        ("QNU_Channels", _INT8, channels),
        ("QNU_FallingEdgeOffset", _INT8, channels if falling else 0),
        ("QNU_BinPs", _FLOAT8, float(bin_ps or 0)),
        ("QNU_LostEvents", _INT8, lost),
        ("QNU_MissingRecords", _INT8, missing),
        ("Header_End", _EMPTY8, 0),
    ]
    with open(path, "wb") as f:
        f.write(_MAGIC + _VERSION + b"".join(_entry(*e) for e in header))
        f.write(records.astype("<u4").tobytes())
    return resolution


def _read_header(f, path):
    if f.read(8) != _MAGIC:
        raise PtuError(f"{path}: not a PTU file (no PQTTTR magic)")
    f.read(8)
    tags = {}
    while True:
        head = f.read(48)
        if len(head) < 48:
            raise PtuError(f"{path}: the header ends before Header_End")
        name = head[:32].rstrip(b"\0").decode("ascii", "replace")
        index, type_ = struct.unpack("<iI", head[32:40])
        raw = head[40:48]
        if type_ in (_FLOAT8, _DATETIME):
            value = struct.unpack("<d", raw)[0]
        elif type_ in (_ANSI_STRING, _WIDE_STRING, _BLOB, _FLOAT8_ARRAY):
            size = struct.unpack("<q", raw)[0]
            data = f.read(size)
            value = data.rstrip(b"\0").decode("ascii", "replace") if type_ == _ANSI_STRING else data
        else:
            value = struct.unpack("<q", raw)[0]
        tags[name if index < 0 else f"{name}[{index}]"] = value
        if name == "Header_End":
            return tags


def read_ptu(path):
    """Read a T2 PTU file of the generic record type (as QNU writes them).

    Returns ``(tags, header)``: ``tags`` a dict of arrays ``channel``,
    ``timestamp_ps`` and ``edge`` (QNU's channels and edges, as written),
    ``header`` the header's entries by name."""
    with open(path, "rb") as f:
        header = _read_header(f, path)
        if header.get("TTResultFormat_TTTRRecType") != RECORD_TYPE:
            raise PtuError(f"{path}: record type {header.get('TTResultFormat_TTTRRecType', 0):#x}; "
                           f"QNU reads the generic T2 type {RECORD_TYPE:#x}")
        records = np.frombuffer(f.read(), dtype="<u4")
    count = header.get("TTResult_NumberOfRecords", len(records))
    if len(records) < count:
        raise PtuError(f"{path}: {len(records)} records of the {count} the header promises")
    records = records[:count].astype(np.int64)
    special = records >> 31
    chan = (records >> 25) & 63
    tag = records & (T2_WRAP - 1)
    overflow = (special == 1) & (chan == _OVERFLOW_CHANNEL)
    wraps = np.cumsum(np.where(overflow, tag, 0))
    event = special == 0
    resolution_ps = round(header["MeasDesc_GlobalResolution"] * 1e12)
    ts = (wraps[event] * T2_WRAP + tag[event]) * resolution_ps
    channel = chan[event]
    offset = int(header.get("QNU_FallingEdgeOffset", 0))
    edge = np.where((offset > 0) & (channel >= offset), -1, 1).astype(np.int8)
    channel = np.where(edge < 0, channel - offset, channel).astype(np.int16)
    return {"channel": channel, "timestamp_ps": ts.astype(np.int64), "edge": edge}, header
