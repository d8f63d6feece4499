"""A pure-Python stand-in for a node on a real pseudo-terminal, for host unit tests.

Not the gateware: it speaks the protocol of :mod:`qnu.wire` against a register
dict built from :mod:`qnu.regmap`, and streams records a test injects. Test
hooks make it misbehave the ways a real link does: silence, ignored requests,
corrupt replies, dropped or corrupted EVENTS frames, a hang-up mid-stream.

    with FakeNode(channels=2) as node:
        with Device(node.path) as dev: ...
"""

import collections
import os
import select
import threading
import time
import tty

from qnu import wire
from qnu.regmap import Features, register_map
from qnu.wire import Command, ErrorCode, Reply

__all__ = ["FakeNode"]

_MASK32 = 0xFFFFFFFF
_ERROR_COUNTERS = {ErrorCode.BAD_LENGTH: "err_length", ErrorCode.UNKNOWN_COMMAND: "err_command",
                   ErrorCode.BAD_ADDRESS: "err_address", ErrorCode.READ_ONLY: "err_read_only",
                   ErrorCode.BAD_VALUE: "err_value"}


class _Refusal(Exception):
    def __init__(self, code, detail=0):
        self.code, self.detail = code, detail


class FakeNode:
    """A node on the master side of a pty; open ``path`` (the slave) like a board's port."""

    def __init__(self, channels=2, *, clock_hz=100_000_000, samples_per_cycle=4, build_id=0xFA4E0001,
                 protocol_version=wire.PROTOCOL_VERSION, magic=wire.MAGIC, frame_interval=0.002):
        self.channels, self.clock_hz, self.samples_per_cycle = channels, clock_hz, samples_per_cycle
        self.identity = wire.IdentifyInfo(magic, protocol_version, build_id, channels, samples_per_cycle, clock_hz)
        self.regmap = register_map(channels)
        self.values = {r.address: r.reset for r in self.regmap}
        self._set("magic", magic)
        self._set("build_id", build_id)
        self._set("config", self.regmap["config"].pack(channels=channels, samples_per_cycle=samples_per_cycle,
                                                       protocol_version=protocol_version))
        self._set("clock_hz", clock_hz)
        self._set("features", Features().word)      # one output, no sequencer or attempt loop
        # the gateware's default pulse period: one second
        period = clock_hz * samples_per_cycle
        self._set("pulse_period_lo", period & 0xFFFF_FFFF)
        self._set("pulse_period_hi", period >> 32)
        self.frame_interval = frame_interval

        # Test hooks, settable at any time.
        self.silent = False                 # read and ignore everything
        self.ignore_requests = 0            # ignore the next N good requests
        self.corrupt_replies = 0            # spoil the CRC of the next N OK/ERROR replies
        self.reply_noise = 0                # send N corrupt frames before each reply
        self.refuse_crc = 0                 # answer the next N good requests as if their CRC were bad
        self.drop_events_frames = set()     # EVENTS frame numbers never sent (their records count as sent)
        self.corrupt_events_frames = set()  # EVENTS frame numbers sent with a bad CRC
        self.requests = []                  # (kind, seq, payload) of every good frame received
        self.dropped_records = 0            # records in dropped or corrupted EVENTS frames
        self.time_changes_refused = 0       # refuse the next N time_cmd writes, as a busy small node does

        self.streaming = False
        self._frames = collections.deque()  # (record count, encoded records) of each frame to send
        self._records_sent = 0
        self._events_frames = 0             # every events frame, streamed or read
        self._streamed_frames = 0           # EVENTS frames: their seq
        self._counters = {}                 # channel -> (events at t0, lost at t0, rate Hz, t0)
        self._t0 = time.monotonic()
        self._time_offset = 0
        self._latched_hi = 0

        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)             # a serial line, not a terminal: no echo, no line editing
        os.set_blocking(self._master, False)
        # The fake keeps the slave open too, so the pty survives the host closing and reopening it.
        self.path = os.ttyname(self._slave)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._hang_up = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"FakeNode {self.path}", daemon=True)

    # --- control ----------------------------------------------------------------

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self._close_fds()

    def hang_up(self):
        """Close the pty as a pulled cable would; the host's next read or write fails."""
        self._hang_up.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def push_records(self, records):
        """Queue :class:`qnu.wire.Record` s to send, in order, packed into EVENTS frames now,
        so that a test can tell which records a dropped frame number will hold."""
        frames = _pack(list(records))
        with self._lock:
            self._frames.extend(frames)

    def queued_frame_sizes(self):
        """The record count of each frame still to send, in sending order."""
        with self._lock:
            return [n for n, _ in self._frames]

    def set_counter(self, channel, *, events=0, lost=0, rate_hz=0.0):
        """Set a channel's event and lost counters; events then grow at ``rate_hz``."""
        with self._lock:
            self._counters[channel] = (events, lost, rate_hz, time.monotonic())

    def set_register(self, name, value):
        """Give a register a value, as the gateware's sources would (e.g. ``phy_status``)."""
        with self._lock:
            self._set(name, value)

    def register(self, name):
        """The stored value of a register, as the gateware would hold it."""
        with self._lock:
            return self._read(self.regmap[name].address)

    def now_ticks(self):
        return int((time.monotonic() - self._t0) * self.clock_hz * self.samples_per_cycle) + self._time_offset

    # --- the serving thread -----------------------------------------------------

    def _run(self):
        decoder = wire.SlipDecoder(max_body=wire.MAX_REQUEST_BODY)
        out = bytearray()
        next_frame = 0.0
        try:
            while not self._stop.is_set() and not self._hang_up.is_set():
                readable, _, _ = select.select([self._master], [self._master] if out else [], [], 0.005)
                if readable:
                    try:
                        data = os.read(self._master, 4096)
                    except BlockingIOError:
                        data = b""
                    with self._lock:
                        for body in decoder.feed(data):
                            out += self._handle(body)
                now = time.monotonic()
                if self.streaming and self._frames and not out and now >= next_frame:
                    with self._lock:
                        out += self._events_frame()
                    next_frame = now + self.frame_interval
                if out:
                    try:
                        del out[:os.write(self._master, out)]
                    except BlockingIOError:
                        pass
        except OSError:
            pass    # the host end went away for good
        finally:
            if self._hang_up.is_set():
                self._close_fds()

    def _close_fds(self):
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self._master = self._slave = -1

    # --- the protocol engine ----------------------------------------------------

    def _handle(self, body):
        """The bytes to send in answer to one received frame body."""
        if self.silent:
            return b""
        # (the gateware answers a bad escape BAD_CRC; the SlipDecoder here cannot tell it from an
        # oversize frame, so both get BAD_LENGTH)
        if body is None or len(body) < 4:
            self._count("err_length")
            seq = body[1] if body is not None and len(body) >= 2 else 0
            return self._reply(Reply.ERROR, seq, wire.pack_error(ErrorCode.BAD_LENGTH, len(body or b"")))
        if wire.crc16(body[:-2]) != int.from_bytes(body[-2:], "big"):
            self._count("err_crc")
            return self._reply(Reply.ERROR, body[1], wire.pack_error(ErrorCode.BAD_CRC))
        kind, seq, payload = body[0], body[1], body[2:-2]
        self.requests.append((kind, seq, payload))
        if self.ignore_requests:
            self.ignore_requests -= 1
            return b""
        if self.refuse_crc:
            self.refuse_crc -= 1
            self._count("err_crc")
            return self._reply(Reply.ERROR, seq, wire.pack_error(ErrorCode.BAD_CRC))
        try:
            if kind == Command.READ_EVENTS:
                if payload:
                    raise _Refusal(ErrorCode.BAD_LENGTH, len(body))
                self._count("frames_ok")
                return self._events_frame(reply_seq=seq)
            reply = self._execute(kind, payload, len(body))
        except _Refusal as r:
            self._count(_ERROR_COUNTERS.get(r.code))
            return self._reply(Reply.ERROR, seq, wire.pack_error(r.code, r.detail))
        self._count("frames_ok")
        return self._reply(Reply.OK, seq, reply)

    def _execute(self, kind, payload, body_length):
        """The OK payload of a request, or _Refusal; nothing is applied from a refused request."""
        if kind == Command.IDENTIFY:
            if payload:
                raise _Refusal(ErrorCode.BAD_LENGTH, body_length)
            return self.identity.pack()
        header = wire.BURST_HEADER.size
        if kind == Command.READ:
            address, count = wire.BURST_HEADER.unpack(payload) if len(payload) == header else (0, 0)
            if not 1 <= count <= wire.MAX_BURST:
                raise _Refusal(ErrorCode.BAD_LENGTH, body_length)
            return b"".join(self._read(a).to_bytes(4, "little") for a in self._burst(address, count))
        if kind == Command.WRITE:
            address, count = wire.BURST_HEADER.unpack_from(payload) if len(payload) >= header else (0, 0)
            if not 1 <= count <= wire.MAX_BURST or len(payload) != header + 4 * count:
                raise _Refusal(ErrorCode.BAD_LENGTH, body_length)
            addresses = self._burst(address, count)
            values = wire.unpack_words(payload[header:])
            for address, value in zip(addresses, values):
                reg = self.regmap.by_address[address]
                if not reg.writable:
                    raise _Refusal(ErrorCode.READ_ONLY, address)
                if reg.name == "time_cmd" and value not in (1, 2):
                    raise _Refusal(ErrorCode.BAD_VALUE, address)
                if reg.name == "time_cmd" and self.time_changes_refused:
                    # a late-stamping node with events from before its last time change queued
                    self.time_changes_refused -= 1
                    raise _Refusal(ErrorCode.BAD_VALUE, address)
            for address, value in zip(addresses, values):
                self._write(address, value)
            return b""
        if kind == Command.STREAM:
            if len(payload) != 1:
                raise _Refusal(ErrorCode.BAD_LENGTH, body_length)
            if payload[0] not in (0, 1):
                raise _Refusal(ErrorCode.BAD_VALUE, 0)
            self.streaming = bool(payload[0])
            return b""
        raise _Refusal(ErrorCode.UNKNOWN_COMMAND, kind)

    def _burst(self, address, count):
        addresses = range(address, address + count)
        for a in addresses:
            if a not in self.regmap.by_address:
                raise _Refusal(ErrorCode.BAD_ADDRESS, a & 0xFFFF)
        return addresses

    def _read(self, address):
        reg = self.regmap.by_address[address]
        if reg.access == "wo":
            return 0
        if reg.name == "time_lo":
            now = self.now_ticks() & (1 << 64) - 1
            self._latched_hi = now >> 32
            return now & _MASK32
        if reg.name == "time_hi":
            return self._latched_hi
        if reg.name == "records_sent":
            return self._records_sent & _MASK32
        if reg.channel is not None and reg.name.endswith(("_events", "_lost")):
            events, lost, rate, t0 = self._counters.get(reg.channel, (0, 0, 0.0, self._t0))
            if reg.name.endswith("_lost"):
                return lost & _MASK32
            return (events + int(rate * (time.monotonic() - t0))) & _MASK32
        return self.values[address]

    def _write(self, address, value):
        reg = self.regmap.by_address[address]
        if reg.name == "time_cmd":
            arg = self._get("time_arg_hi") << 32 | self._get("time_arg_lo")
            if value == 1:
                self._time_offset += arg - self.now_ticks()
            else:
                self._time_offset += arg - (1 << 64) if arg >> 63 else arg
            return
        self.values[address] = value & ((1 << reg.width) - 1)

    def _events_frame(self, reply_seq=None):
        """The next events frame (empty if none is queued), its first record index in front:
        the EVENTS_READ reply to a READ_EVENTS of ``reply_seq``, or else a streamed EVENTS frame.

        Frames to drop right after it count as sent with it, so they are gone
        before the host can react to it (by stopping the stream, say)."""
        out = self._next_frame(reply_seq)
        while self._frames and self._events_frames in self.drop_events_frames:
            out += self._next_frame()
        return out

    def _next_frame(self, reply_seq=None):
        count, encoded = self._frames.popleft() if self._frames else (0, b"")
        index = self._records_sent
        self._records_sent += count
        number = self._events_frames
        self._events_frames += 1
        if reply_seq is None:
            kind, seq = Reply.EVENTS, self._streamed_frames & 0xFF
            self._streamed_frames += 1
        else:
            kind, seq = Reply.EVENTS_READ, reply_seq
        if number in self.drop_events_frames:
            self.dropped_records += count
            return b""
        frame = self._reply(kind, seq, wire.pack_events(index, encoded), corruptible=False)
        if number in self.corrupt_events_frames:
            self.dropped_records += count
            return _spoil(frame)
        return frame

    def _reply(self, kind, seq, payload, corruptible=True):
        frame = wire.build_frame(kind, seq, payload)
        if not corruptible:
            return frame
        noise = _spoil(frame) * self.reply_noise
        if self.corrupt_replies:
            self.corrupt_replies -= 1
            return noise + _spoil(frame)
        return noise + frame

    def _count(self, name):
        if name in self.regmap:
            address = self.regmap[name].address
            self.values[address] = (self.values[address] + 1) & _MASK32

    def _get(self, name):
        return self.values[self.regmap[name].address]

    def _set(self, name, value):
        self.values[self.regmap[name].address] = value


def _pack(records):
    """Records in frames as the node fills them: as many as fit in MAX_EVENTS_PAYLOAD bytes each."""
    frames, encoded, count, base = [], b"", 0, None
    for r in records:
        piece = wire.encode_records([r], base=base)
        if count and len(encoded) + len(piece) > wire.MAX_EVENTS_PAYLOAD:
            frames.append((count, encoded))
            encoded, count, base = b"", 0, None
            piece = wire.encode_records([r])
        encoded += piece
        count += 1
        base = r.timestamp
    if count:
        frames.append((count, encoded))
    return frames


def _spoil(frame):
    """The same SLIP frame with its CRC's last byte flipped (never into END or ESC)."""
    bad = bytearray(frame)
    bad[-2] ^= 0x01 if bad[-2] not in (wire.END ^ 1, wire.ESC ^ 1, wire.ESC_END, wire.ESC_ESC) else 0x02
    return bytes(bad)
