"""The node's wire protocol: the one source of truth.

Pure Python, importable without Amaranth. The gateware's protocol engine and
tag encoder use the constants defined here, the host library uses the codec
functions, and docs/protocol.md is generated from this module (including its
worked examples, produced by these very functions).

Layers, from the wire up:

1. UART, 8N1, least significant bit first.
2. SLIP framing (RFC 1055): a frame is ``END body END`` with ``END`` and
   ``ESC`` inside the body escaped. Bytes between two ``END`` are one frame,
   so a receiver resynchronizes at the next ``END`` after any garbage; empty
   frames are ignored.
3. Body: ``kind (1) | seq (1) | payload | crc (2, big-endian)``; the CRC is
   CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, no reflection, no
   final XOR) over kind, seq and payload.
"""

import enum
import struct

__all__ = [
    "PROTOCOL_VERSION", "MAGIC", "END", "ESC", "ESC_END", "ESC_ESC",
    "Command", "Reply", "ErrorCode", "MAX_BURST", "MAX_REQUEST_BODY", "BURST_HEADER", "BURST_ADDRESS_AT",
    "BURST_COUNT_AT", "BURST_BODY_BYTES", "MAX_EVENTS_PAYLOAD",
    "RECORD_OVERFLOW", "RECORD_ABSOLUTE", "RECORD_HERALD", "WIRE_CHANNELS", "HeraldRecord",
    "crc16", "slip_encode", "SlipDecoder", "build_frame", "parse_body", "FrameError",
    "encode_varint", "decode_varint", "encode_records", "decode_records", "Record",
    "IdentifyInfo", "IDENTIFY_FORMAT",
    "pack_read", "pack_write", "unpack_words", "pack_error", "unpack_error",
    "pack_events", "unpack_events", "EVENT_CONTROL", "pack_bits", "unpack_bits",
    "OutputAction", "OutputEvent", "MAX_SCHEDULE", "pack_schedule", "unpack_schedule",
]

PROTOCOL_VERSION = 3                # 2: SCHEDULE, QUEUE_FULL; 3: EVENTS_READ (herald records: features.herald)
MAGIC = 0x514E5531                  # "QNU1"

END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD

MAX_BURST = 32                      # registers per READ or WRITE
#: a register burst's header, the first bytes of a READ, WRITE or SCHEDULE
#: payload: address u16 (SCHEDULE: reserved, 0), count u8
BURST_HEADER = struct.Struct("<HB")
#: where its fields sit in a request body (after kind u8 and seq u8)
BURST_ADDRESS_AT = 2                # two bytes, little-endian
BURST_COUNT_AT = 4
#: a burst request's body without its words: kind, seq, the burst header, the CRC
BURST_BODY_BYTES = 2 + BURST_HEADER.size + 2
MAX_REQUEST_BODY = BURST_BODY_BYTES + 4 * MAX_BURST      # the longest valid request body
MAX_EVENTS_PAYLOAD = 240            # bytes of records in one EVENTS frame, at most
MAX_REPLY_BODY = 2 + 4 + MAX_EVENTS_PAYLOAD + 2    # the longest body a node sends: a full EVENTS frame


class Command(enum.IntEnum):
    """Host-to-node frame kinds."""
    IDENTIFY    = 0x01  # payload: none. Reply OK: IDENTIFY_FORMAT
    READ        = 0x02  # payload: address u16, count u8 (1..MAX_BURST). Reply OK: count x u32
    WRITE       = 0x03  # payload: address u16, count u8, count x u32. Reply OK: none
    READ_EVENTS = 0x04  # payload: none. Reply: one EVENTS_READ frame (possibly with no records)
    STREAM      = 0x05  # payload: u8, 1 to start streaming EVENTS frames, 0 to stop. Reply OK: none
    SCHEDULE    = 0x06  # payload: reserved u16 (0), count u8 (1..MAX_SCHEDULE), count x OutputEvent. Reply OK: none


class Reply(enum.IntEnum):
    """Node-to-host frame kinds."""
    OK     = 0x80       # seq echoes the request's
    ERROR  = 0x81       # seq echoes the request's (0 if it had none); payload: code u8, detail u16
    EVENTS = 0x90       # streamed; seq counts EVENTS frames (mod 256); payload: first record index u32, records
    EVENTS_READ = 0x91  # the reply to READ_EVENTS: seq echoes the request's; payload as EVENTS


class ErrorCode(enum.IntEnum):
    """Why a frame was refused. Nothing of a refused frame is applied."""
    BAD_CRC         = 1  # the CRC did not match, or a bad escape (ESC then neither ESC_END nor ESC_ESC); detail: 0
    BAD_LENGTH      = 2  # too short (< 4 bytes), longer than MAX_REQUEST_BODY, or a count that does not fit; detail: body length
    UNKNOWN_COMMAND = 3  # detail: the kind byte
    BAD_ADDRESS     = 4  # a register in the burst does not exist; detail: its address
    READ_ONLY       = 5  # a register in a WRITE burst is read-only; detail: its address
    BAD_VALUE       = 6  # an argument out of range (STREAM not 0 or 1, time_cmd not 1 or 2, or a time change a
                         # late-stamping node cannot take yet, a SCHEDULE event naming no output or
                         # action); detail: address, the event's index in the frame, or 0
    QUEUE_FULL      = 7  # the sequencer's queue has no room for all of a SCHEDULE's events; detail: free entries

    @property
    def meaning(self):
        return _ERROR_MEANINGS[self]


_ERROR_MEANINGS = {
    ErrorCode.BAD_CRC: "the frame's CRC did not match (corrupted on the line)",
    ErrorCode.BAD_LENGTH: "the frame's length does not fit its command",
    ErrorCode.UNKNOWN_COMMAND: "the node does not know this command",
    ErrorCode.BAD_ADDRESS: "no register at this address",
    ErrorCode.READ_ONLY: "the register is read-only",
    ErrorCode.BAD_VALUE: "an argument is out of range",
    ErrorCode.QUEUE_FULL: "the sequencer's queue has no room for these events",
}

# IDENTIFY reply payload, little-endian:
# magic u32, protocol version u8, build id u32, channels u8, samples per cycle u8, clock Hz u32
IDENTIFY_FORMAT = "<IBIBBI"


class IdentifyInfo:
    def __init__(self, magic, protocol_version, build_id, channels, samples_per_cycle, clock_hz):
        self.magic = magic
        self.protocol_version = protocol_version
        self.build_id = build_id
        self.channels = channels
        self.samples_per_cycle = samples_per_cycle
        self.clock_hz = clock_hz

    @classmethod
    def unpack(cls, payload):
        if len(payload) != struct.calcsize(IDENTIFY_FORMAT):
            raise FrameError(f"IDENTIFY reply of {len(payload)} bytes")
        return cls(*struct.unpack(IDENTIFY_FORMAT, payload))

    def pack(self):
        return struct.pack(IDENTIFY_FORMAT, self.magic, self.protocol_version, self.build_id,
                           self.channels, self.samples_per_cycle, self.clock_hz)

    def __repr__(self):
        return (f"IdentifyInfo(protocol {self.protocol_version}, build {self.build_id:#010x}, "
                f"{self.channels} channels, {self.samples_per_cycle} samples/cycle, {self.clock_hz} Hz)")


class FrameError(ValueError):
    """A frame body that cannot be parsed."""


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE, bit by bit: simple enough to check by eye."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def slip_encode(body):
    out = bytearray([END])
    for b in body:
        if b == END:
            out += bytes([ESC, ESC_END])
        elif b == ESC:
            out += bytes([ESC, ESC_ESC])
        else:
            out.append(b)
    out.append(END)
    return bytes(out)


class SlipDecoder:
    """Feed bytes, get complete frame bodies. A bad escape marks the frame as
    corrupt (returned as None) so the caller can count it."""

    def __init__(self, max_body=4096):
        self.max_body = max_body
        self._buf = bytearray()
        self._escaped = False
        self._bad = False

    def feed(self, data):
        bodies = []
        for b in data:
            if b == END:
                if self._buf or self._bad:
                    bodies.append(None if self._bad else bytes(self._buf))
                self._buf.clear()
                self._escaped = self._bad = False
            elif self._escaped:
                self._escaped = False
                if b == ESC_END:
                    self._push(END)
                elif b == ESC_ESC:
                    self._push(ESC)
                else:
                    self._bad = True
            elif b == ESC:
                self._escaped = True
            else:
                self._push(b)
        return bodies

    def _push(self, b):
        if len(self._buf) >= self.max_body:
            self._bad = True
        else:
            self._buf.append(b)


def build_frame(kind, seq, payload=b""):
    """The SLIP-framed bytes of one frame."""
    body = bytes([int(kind), seq & 0xFF]) + bytes(payload)
    return slip_encode(body + crc16(body).to_bytes(2, "big"))


def parse_body(body):
    """(kind, seq, payload) of a frame body; FrameError if short or the CRC is wrong."""
    if body is None:
        raise FrameError("corrupt framing")
    if len(body) < 4:
        raise FrameError(f"frame of {len(body)} bytes is too short")
    if crc16(body[:-2]) != int.from_bytes(body[-2:], "big"):
        raise FrameError("CRC mismatch")
    return body[0], body[1], body[2:-2]


# --- Event records -----------------------------------------------------------
#
# An EVENTS payload is the index of its first record (u32, counting every
# record the node has sent) followed by records. Each record starts with an
# unsigned LEB128 varint V: its low 7 bits say what it is, V >> 7 is the
# timestamp's increase over the previous record's (the "base"; fine ticks).
#   0..63            a tag: channel = code >> 1, falling edge if code & 1
#   RECORD_OVERFLOW  events lost: then channel u8 and varint lost; the
#                    timestamp is the first lost event's
#   RECORD_ABSOLUTE  V >> 7 is 0; then the base as u64: opens every frame and
#                    follows a time step backwards. Not an event.
#   RECORD_HERALD    an attempt the herald unit decided; the timestamp is its
#                    reference tick. Then flags u8 (outcome: bits 0-1, a
#                    qnu.herald.Outcome; multi-click: bit 2), varint attempt
#                    number, pattern u8 (qnu.herald), and for each pattern bit
#                    set, lowest first, a varint: that detector's first click
#                    in that window, ticks after the reference.

# The two special codes sit at the top so that no record's first byte is the
# SLIP END (0xC0) or ESC (0xDB): tags start 0x00-0x3F or 0x80-0xBF, markers
# 0x7E or 0xFE, ABSOLUTE is always 0x7F.
RECORD_HERALD = 0x7D
RECORD_OVERFLOW = 0x7E
RECORD_ABSOLUTE = 0x7F
WIRE_CHANNELS = 32


def encode_varint(value):
    if value < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data, pos):
    """(value, next position); FrameError if the data ends inside it."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise FrameError("record truncated inside a varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos
        if shift > 70:
            raise FrameError("varint too long")


class Record:
    """A decoded record: kind is 'rising', 'falling' or 'overflow'."""
    __slots__ = ("timestamp", "channel", "kind", "lost")

    def __init__(self, timestamp, channel, kind, lost=0):
        self.timestamp, self.channel, self.kind, self.lost = timestamp, channel, kind, lost

    def __eq__(self, other):
        return isinstance(other, Record) and (self.timestamp, self.channel, self.kind, self.lost) == \
            (other.timestamp, other.channel, other.kind, other.lost)

    def __repr__(self):
        extra = f", lost={self.lost}" if self.kind == "overflow" else ""
        return f"Record({self.timestamp}, ch{self.channel}, {self.kind}{extra})"


class HeraldRecord:
    """A decided attempt (kind 'herald'): its reference tick, number, outcome
    (a :class:`qnu.herald.Outcome` value), whether a detector clicked twice
    in a window, the pattern, and ``clicks``: pattern bit -> first click's
    ticks after the reference."""
    __slots__ = ("timestamp", "attempt", "outcome", "multi", "pattern", "clicks")
    kind = "herald"
    channel = None
    lost = 0

    def __init__(self, timestamp, attempt, outcome, multi, pattern, clicks):
        self.timestamp, self.attempt, self.outcome = timestamp, attempt, outcome
        self.multi, self.pattern, self.clicks = bool(multi), pattern, dict(clicks)
        if set(self.clicks) != {i for i in range(8) if pattern >> i & 1}:
            raise ValueError("a herald record has one click time per pattern bit")

    def _key(self):
        return (self.timestamp, self.attempt, self.outcome, self.multi, self.pattern, sorted(self.clicks.items()))

    def __eq__(self, other):
        return isinstance(other, HeraldRecord) and self._key() == other._key()

    def __repr__(self):
        return (f"HeraldRecord({self.timestamp}, attempt {self.attempt}, outcome {self.outcome}, "
                f"pattern {self.pattern:#04x}{', multi' if self.multi else ''}, clicks {self.clicks})")


def encode_records(records, base=None):
    """Encode records as the node does (an ABSOLUTE first, and on any step back)."""
    out = bytearray()
    for r in records:
        if base is None or r.timestamp < base:
            out += encode_varint(RECORD_ABSOLUTE) + struct.pack("<Q", r.timestamp)
            base = r.timestamp
        delta = r.timestamp - base
        if r.kind == "herald":
            out += encode_varint(delta << 7 | RECORD_HERALD) + bytes([r.outcome | r.multi << 2])
            out += encode_varint(r.attempt) + bytes([r.pattern])
            for i in sorted(r.clicks):
                out += encode_varint(r.clicks[i])
        elif r.kind == "overflow":
            out += encode_varint(delta << 7 | RECORD_OVERFLOW) + bytes([r.channel]) + encode_varint(r.lost)
        else:
            out += encode_varint(delta << 7 | r.channel << 1 | (r.kind == "falling"))
        base = r.timestamp
    return bytes(out)


def decode_records(data):
    """Decode the records of one EVENTS payload (after its index)."""
    records = []
    base = None
    pos = 0
    while pos < len(data):
        v, pos = decode_varint(data, pos)
        code, delta = v & 0x7F, v >> 7
        if code == RECORD_ABSOLUTE:
            if pos + 8 > len(data):
                raise FrameError("ABSOLUTE record truncated")
            base, = struct.unpack_from("<Q", data, pos)
            pos += 8
            continue
        if base is None:
            raise FrameError("record before any ABSOLUTE record")
        base += delta
        if code == RECORD_HERALD:
            if pos >= len(data):
                raise FrameError("HERALD record truncated")
            flags = data[pos]
            attempt, pos = decode_varint(data, pos + 1)
            if pos >= len(data):
                raise FrameError("HERALD record truncated")
            pattern = data[pos]
            pos += 1
            clicks = {}
            for i in range(8):
                if pattern >> i & 1:
                    clicks[i], pos = decode_varint(data, pos)
            records.append(HeraldRecord(base, attempt, flags & 3, flags >> 2 & 1, pattern, clicks))
        elif code == RECORD_OVERFLOW:
            if pos >= len(data):
                raise FrameError("OVERFLOW record truncated")
            channel = data[pos]
            lost, pos = decode_varint(data, pos + 1)
            records.append(Record(base, channel, "overflow", lost))
        elif code < 2 * WIRE_CHANNELS:
            records.append(Record(base, code >> 1, "falling" if code & 1 else "rising"))
        else:
            raise FrameError(f"unknown record code {code}")
    return records


# --- Payload codecs ----------------------------------------------------------
#
# Every multi-byte payload field is little-endian, like IDENTIFY_FORMAT and the
# ABSOLUTE record; only the CRC that closes the body is big-endian.

def pack_read(address, count):
    """READ payload: address u16, count u8."""
    return BURST_HEADER.pack(address, count)


def pack_write(address, values):
    """WRITE payload: address u16, count u8, then count x u32."""
    values = list(values)
    return BURST_HEADER.pack(address, len(values)) + struct.pack(f"<{len(values)}I", *values)


def unpack_words(payload):
    """The u32 values of a READ reply."""
    if len(payload) % 4:
        raise FrameError(f"READ reply of {len(payload)} bytes is not whole words")
    return list(struct.unpack(f"<{len(payload) // 4}I", payload))


def pack_error(code, detail=0):
    """ERROR payload: code u8, detail u16."""
    return struct.pack("<BH", int(code), detail)


def unpack_error(payload):
    """(code, detail) of an ERROR payload; code is an ErrorCode when it is a known one."""
    if len(payload) != 3:
        raise FrameError(f"ERROR reply of {len(payload)} bytes")
    code, detail = struct.unpack("<BH", payload)
    try:
        code = ErrorCode(code)
    except ValueError:
        pass
    return code, detail


def pack_events(first_index, records=b""):
    """EVENTS payload: first record index u32 (mod 2**32), then encoded records."""
    return struct.pack("<I", first_index & 0xFFFFFFFF) + bytes(records)


def unpack_events(payload):
    """(first record index, encoded records) of an EVENTS payload."""
    if len(payload) < 4:
        raise FrameError(f"EVENTS payload of {len(payload)} bytes has no record index")
    return struct.unpack_from("<I", payload)[0], bytes(payload[4:])


# --- Output events (SCHEDULE) -----------------------------------------------
#
# A SCHEDULE payload reads like a WRITE's: a reserved u16 (0) where a WRITE
# has its address, the event count u8, then three u32 words per event:
# time low word, time high word (fine ticks on the node's timebase), and a
# control word: output (bits 0-3), action (bits 4-5, OutputAction), pulse
# width in fine ticks (bits 16-31, 1..65535, PULSE only; 0 otherwise).
# A frame holds MAX_BURST words, so at most MAX_SCHEDULE events.

EVENT_WORDS = 3
MAX_SCHEDULE = MAX_BURST // EVENT_WORDS
MAX_PULSE_WIDTH = 0xFFFF
#: the control word's fields: name -> (lowest bit, width). The gateware's
#: layout of the word (qnu.gateware.outputs.sequencer.EVENT_CONTROL) is made
#: from this, as the host's and the models' packing is.
EVENT_CONTROL = {"output": (0, 4), "action": (4, 2), "width": (16, 16)}


def pack_bits(fields, **values):
    """A word from field values (``fields``: name -> (lowest bit, width)); a value too wide is an error."""
    word = 0
    for name, value in values.items():
        lsb, width = fields[name]
        if not 0 <= value < 1 << width:
            raise ValueError(f"{name} {value} does not fit in {width} bits")
        word |= value << lsb
    return word


def unpack_bits(fields, word):
    """Each field's value in ``word``: name -> int."""
    return {name: word >> lsb & ((1 << width) - 1) for name, (lsb, width) in fields.items()}


class OutputAction(enum.IntEnum):
    """What an output event does at its tick."""
    RISE  = 1   # the output's level goes high
    FALL  = 2   # the output's level goes low
    PULSE = 3   # high for ``width`` ticks, over the level


class OutputEvent:
    """One sequencer event: ``output`` does ``action`` at ``time`` (fine ticks)."""
    __slots__ = ("time", "output", "action", "width")

    def __init__(self, time, output, action, width=0):
        self.time, self.output, self.width = int(time), int(output), int(width)
        # (an action no node knows stays an int, for check() to refuse)
        self.action = OutputAction(action) if action in OutputAction._value2member_map_ else int(action)

    def control_word(self):
        return pack_bits(EVENT_CONTROL, output=self.output, action=int(self.action), width=self.width)

    @classmethod
    def from_words(cls, lo, hi, control):
        return cls(lo | hi << 32, **unpack_bits(EVENT_CONTROL, control))

    def check(self, outputs):
        """A ValueError unless the node (``outputs`` trigger outputs) would take it."""
        if not 0 <= self.output < outputs:
            raise ValueError(f"output {self.output} does not exist (the node has {outputs})")
        if not 0 <= self.time < 2 ** 64:
            raise ValueError(f"event time {self.time} is not a 64-bit tick count")
        if not isinstance(self.action, OutputAction):
            raise ValueError(f"unknown output action {self.action}")
        if self.action == OutputAction.PULSE:
            if not 1 <= self.width <= MAX_PULSE_WIDTH:
                raise ValueError(f"a pulse is 1 to {MAX_PULSE_WIDTH} ticks wide, not {self.width}")
        elif self.width:
            raise ValueError(f"only a PULSE has a width (a {self.action.name} has {self.width})")

    def __eq__(self, other):
        return isinstance(other, OutputEvent) and self._key() == other._key()

    def _key(self):
        return (self.time, self.output, self.action, self.width)

    def __repr__(self):
        width = f", width={self.width}" if self.action == OutputAction.PULSE else ""
        action = getattr(self.action, "name", self.action)
        return f"OutputEvent({self.time}, out{self.output}, {action}{width})"


def pack_schedule(events):
    """SCHEDULE payload of 1 to MAX_SCHEDULE events."""
    events = list(events)
    if not 1 <= len(events) <= MAX_SCHEDULE:
        raise ValueError(f"a SCHEDULE frame carries 1 to {MAX_SCHEDULE} events, not {len(events)}")
    words = []
    for e in events:
        words += [e.time & 0xFFFF_FFFF, e.time >> 32, e.control_word()]
    return BURST_HEADER.pack(0, len(events)) + struct.pack(f"<{len(words)}I", *words)


def unpack_schedule(payload):
    """(reserved, events) of a SCHEDULE payload; FrameError if its length does not fit its count."""
    if len(payload) < 3:
        raise FrameError("SCHEDULE payload too short")
    reserved, count = BURST_HEADER.unpack_from(payload)
    if len(payload) != 3 + 4 * EVENT_WORDS * count:
        raise FrameError(f"SCHEDULE of {count} events in {len(payload)} bytes")
    words = struct.unpack_from(f"<{EVENT_WORDS * count}I", payload, BURST_HEADER.size)
    return reserved, [OutputEvent.from_words(*words[i:i + 3]) for i in range(0, len(words), 3)]
