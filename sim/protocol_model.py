"""Reference model of the node's request side: bytes in on the UART, replies and counters out.

Written from the protocol's specification (:mod:`qnu.wire`, docs/protocol.md)
and the register map (:func:`qnu.regmap.register_map`); it shares no code with
the gateware. It is the scoreboard of the protocol fuzz tests: feed it the
bytes sent to a node and it says, frame by frame, which reply the node owes
(OK, ERROR with code and detail, or EVENTS_READ), which counter moves, and what a
good WRITE does to the registers.

The rules, from the specification:

- **Framing** (SLIP). The bytes between two ``END`` are one frame; an empty
  frame (``END END``) is ignored. ``ESC ESC_END`` stands for ``END`` and
  ``ESC ESC_ESC`` for ``ESC``; ``ESC`` followed by any other byte makes the
  frame corrupt, and the pair stands for no body byte. An ``ESC`` that is the
  frame's last byte (right before ``END``) stands for nothing, as in
  :class:`qnu.wire.SlipDecoder`. A frame holding only a bad escape is not
  empty: it is a corrupt frame.
- **Checks, in order** (docs/protocol.md, section 6): a bad escape is
  ``BAD_CRC``; then a body under 4 or over ``MAX_REQUEST_BODY`` bytes is
  ``BAD_LENGTH`` (detail: the body length however long, up to 65535, the
  largest u16); then a CRC mismatch is ``BAD_CRC``; then an unknown kind is ``UNKNOWN_COMMAND`` (detail: the kind,
  whatever the length); then the command's own length (``BAD_LENGTH``: an
  IDENTIFY or READ_EVENTS with a payload, a READ whose payload is not 3 bytes
  or whose count is not 1 to ``MAX_BURST``, a WRITE whose payload is not
  ``3 + 4 x count`` with such a count, a STREAM whose payload is not 1 byte);
  then its arguments.
- **Registers.** A READ burst is refused ``BAD_ADDRESS`` at the first address
  with no register. A WRITE burst is checked register by register, in
  address order, and refused at the first register that cannot take its
  value: ``BAD_ADDRESS`` if there is none at the address, ``READ_ONLY`` if it
  is ``ro``, ``BAD_VALUE`` if its value is out of range (``time_cmd`` takes
  only 1 or 2); the detail is that register's address. Only a burst that
  passes whole is applied; then each ``rw`` register holds the value's low
  ``width`` bits and a ``wo`` register still reads 0. Which values a
  register refuses is said in docs/registers.md (``_value_refused``). STREAM takes 0 or 1
  (else ``BAD_VALUE``, detail 0).
- **Replies.** Every frame gets exactly one reply, in order: ERROR (seq: the
  body's second byte, or 0 if the body is shorter than 2 bytes) with the code
  and detail above; OK echoing the seq; or, for a good READ_EVENTS, one
  EVENTS_READ frame echoing the seq, whose payload starts with ``records_sent``.
- **Counters.** A refused frame moves exactly one of ``err_crc``,
  ``err_length``, ``err_command``, ``err_address``, ``err_read_only``,
  ``err_value``; an executed one moves ``frames_ok``. Nothing else changes.
  The model counts a frame as executed once it has been checked, so a READ
  burst covering ``frames_ok`` already sees itself counted.

What the model does not know: the time registers and ``pulses_missed`` (they
move on their own; predicted as ``None``, "any value"), and the event
stream: it assumes quiet inputs, so an EVENTS_READ frame carries no records and
STREAM only sets a flag. It does not model the UART (``err_framing``) nor the
receive buffer (``err_overrun``): the bytes fed must all reach the frame
decoder.
"""

import struct
from dataclasses import dataclass

from qnu import wire
from qnu.regmap import register_map, Features, OutputSource, MAGIC, MIN_PULSE_PERIOD
from qnu.wire import Command, ErrorCode, Reply, END, ESC, ESC_END, ESC_ESC

__all__ = ["Frame", "FrameSplitter", "Expected", "NodeModel", "ERROR_COUNTERS", "COUNTERS", "VOLATILE"]

ERROR_COUNTERS = {
    ErrorCode.BAD_CRC: "err_crc",
    ErrorCode.BAD_LENGTH: "err_length",
    ErrorCode.UNKNOWN_COMMAND: "err_command",
    ErrorCode.BAD_ADDRESS: "err_address",
    ErrorCode.READ_ONLY: "err_read_only",
    ErrorCode.BAD_VALUE: "err_value",
}
# every counter a frame can move
COUNTERS = tuple(ERROR_COUNTERS.values()) + ("frames_ok",)
# read-only registers that change without any frame
VOLATILE = frozenset({"time_lo", "time_hi", "pulses_missed"})



def _value_refused(model, r, value):
    """Whether register ``r`` refuses ``value`` (registers.md): time_cmd takes only 1
    or 2; a pulse period below MIN_PULSE_PERIOD ticks (with a zero high word) is
    refused; an output's source must be one the node has (a static level or the
    pulse, and the sequencer only with one)."""
    if r.name == "time_cmd":
        return value not in (1, 2)
    if r.name == "pulse_period_lo":
        return value < MIN_PULSE_PERIOD and model.value("pulse_period_hi") == 0
    if r.name.startswith("out") and r.name.endswith("_ctrl"):
        sources = {OutputSource.LEVEL, OutputSource.PULSE} | (
            {OutputSource.SEQUENCER} if model.features.sequencer else set())
        return value & 3 not in sources
    return False


@dataclass(frozen=True)
class Frame:
    """The bytes between two END: the decoded body, and whether an escape was bad."""
    raw: bytes
    body: bytes
    corrupt: bool

    def __repr__(self):
        def show(data, limit=24):
            return data.hex() if len(data) <= limit else f"{data[:limit].hex()}...({len(data)} bytes)"
        return f"Frame(raw={show(self.raw)}, body={show(self.body)}{', corrupt' if self.corrupt else ''})"


class FrameSplitter:
    """Split a byte stream into frames at END, as the node's receiver must."""

    def __init__(self):
        self._raw = bytearray()

    @property
    def pending(self):
        """Bytes received since the last END (a frame not closed yet)."""
        return bytes(self._raw)

    def feed(self, data):
        frames = []
        for b in data:
            if b == END:
                if self._raw:
                    frame = self.decode(bytes(self._raw))
                    if frame.body or frame.corrupt:     # an empty frame is ignored
                        frames.append(frame)
                    # an ESC alone (ESC END) decodes to nothing: an empty, ignored frame
                self._raw.clear()
            else:
                self._raw.append(b)
        return frames

    @staticmethod
    def decode(raw):
        """The Frame of the bytes between two END."""
        body = bytearray()
        corrupt = False
        i = 0
        while i < len(raw):
            b = raw[i]
            if b == ESC:
                if i + 1 == len(raw):           # ESC right before END: stands for nothing
                    break
                nxt = raw[i + 1]
                if nxt == ESC_END:
                    body.append(END)
                elif nxt == ESC_ESC:
                    body.append(ESC)
                else:
                    corrupt = True
                i += 2
            else:
                body.append(b)
                i += 1
        return Frame(bytes(raw), bytes(body), corrupt)


@dataclass
class Expected:
    """The reply a frame is owed, and the counter it moves.

    ``words``: a READ reply's values, None where any value will do.
    ``payload``: the exact payload of any other reply.
    """
    frame: Frame
    kind: Reply
    seq: int = None
    counter: str = ""
    code: ErrorCode = None
    detail: int = None
    words: tuple = None
    payload: bytes = None
    why: str = ""

    def describe(self):
        if self.kind == Reply.ERROR:
            what = f"ERROR {self.code.name} detail {self.detail:#06x}"
        elif self.kind == Reply.EVENTS_READ:
            what = "EVENTS_READ"
        elif self.words is not None:
            what = "OK " + " ".join("*" if w is None else f"{w:#x}" for w in self.words)
        else:
            what = f"OK {self.payload.hex() or '(empty)'}"
        seq = "*" if self.seq is None else self.seq
        return f"{what} seq {seq} ({self.why}; counts in {self.counter or 'nothing'}) for {self.frame}"

    def mismatch(self, kind, seq, payload):
        """Why the reply (kind, seq, payload) is not this one; None if it is."""
        if kind != self.kind:
            return f"kind {kind:#04x}, expected {self.kind!r}"
        if self.seq is not None and seq != self.seq:
            return f"seq {seq}, expected {self.seq}"
        if self.kind == Reply.ERROR:
            try:
                code, detail = wire.unpack_error(payload)
            except wire.FrameError as e:
                return str(e)
            if (code, detail) != (self.code, self.detail):
                return (f"ERROR {code!r} detail {detail:#06x}, expected {self.code.name} "
                        f"detail {self.detail:#06x}")
            return None
        if self.words is not None:
            if len(payload) != 4 * len(self.words):
                return f"READ reply of {len(payload)} bytes, expected {4 * len(self.words)}"
            got = wire.unpack_words(payload)
            bad = [(i, g, w) for i, (g, w) in enumerate(zip(got, self.words)) if w is not None and g != w]
            if bad:
                return "READ words differ: " + ", ".join(f"[{i}] {g:#x} expected {w:#x}" for i, g, w in bad)
            return None
        if payload != self.payload:
            return f"payload {payload.hex()}, expected {self.payload.hex()}"
        return None


class NodeModel:
    """What a node owes for the bytes it is sent.

    ``load(values)`` gives it the registers as last read (address -> value);
    registers it was never told stay unknown (None in a READ prediction), so
    a model that is told nothing still predicts every reply's kind, code and
    detail, and every counter's movement (:attr:`moved`).
    """

    def __init__(self, channels=4, *, samples_per_cycle=4, clock_hz=100_000_000, build_id=0,
                 features=Features()):
        if features.sequencer or features.attempts:
            raise ValueError("the model knows neither SCHEDULE nor the attempt loop's registers")
        self.features = features
        self.regmap = register_map(channels, features)
        self.identify = wire.IdentifyInfo(wire.MAGIC, wire.PROTOCOL_VERSION, build_id, channels,
                                          samples_per_cycle, clock_hz)
        self.streaming = False
        self.splitter = FrameSplitter()
        self.moved = {name: 0 for name in COUNTERS}
        self.writes = {}                    # address -> value applied by good WRITEs (as stored)
        self.values = {r.address: None for r in self.regmap}
        constants = {"magic": MAGIC, "build_id": build_id, "clock_hz": clock_hz,
                     "config": self.regmap["config"].pack(channels=channels, samples_per_cycle=samples_per_cycle,
                                                          protocol_version=wire.PROTOCOL_VERSION),
                     "features": features.word}
        for r in self.regmap:
            if r.name in constants:
                self.values[r.address] = constants[r.name]
            elif r.access == "wo":
                self.values[r.address] = 0          # write-only: reads return 0

    # --- state -----------------------------------------------------------------

    def load(self, values):
        """Registers as read from the node (address -> value); the volatile and write-only are ignored."""
        for address, value in values.items():
            r = self.regmap.by_address[address]
            if r.name not in VOLATILE and r.access != "wo":
                self.values[address] = value

    def value(self, name):
        return self.values[self.regmap[name].address]

    def _count(self, name):
        self.moved[name] += 1
        address = self.regmap[name].address
        if self.values[address] is not None:
            self.values[address] = (self.values[address] + 1) & 0xFFFFFFFF

    def _predicted(self, address):
        r = self.regmap.by_address[address]
        return None if r.name in VOLATILE else self.values[address]

    # --- the stream --------------------------------------------------------------

    def feed(self, data):
        """The replies owed for these bytes (frames closed by an END in them), in order."""
        return [self.execute(frame) for frame in self.splitter.feed(data)]

    def execute(self, frame):
        """The reply to one frame; applies its effects to the model."""
        body = frame.body
        seq = body[1] if len(body) >= 2 else 0
        length = min(len(body), 0xFFFF)     # a u16 detail: longer bodies saturate

        def refuse(code, detail, why):
            self._count(ERROR_COUNTERS[code])
            return Expected(frame, Reply.ERROR, seq, ERROR_COUNTERS[code], code, detail & 0xFFFF, why=why)

        def ok(why, payload=b"", words=None):
            self._count("frames_ok")
            if words is not None:           # a READ burst sees itself counted
                words = tuple(self._predicted(a) for a in words)
            return Expected(frame, Reply.OK, seq, "frames_ok", words=words, payload=payload, why=why)

        if frame.corrupt:
            return refuse(ErrorCode.BAD_CRC, 0, "bad escape")
        if len(body) < 4:
            return refuse(ErrorCode.BAD_LENGTH, length, "shorter than 4 bytes")
        if len(body) > wire.MAX_REQUEST_BODY:
            return refuse(ErrorCode.BAD_LENGTH, length, f"longer than {wire.MAX_REQUEST_BODY} bytes")
        if wire.crc16(body[:-2]) != int.from_bytes(body[-2:], "big"):
            return refuse(ErrorCode.BAD_CRC, 0, "CRC mismatch")
        kind, payload = body[0], body[2:-2]
        try:
            command = Command(kind)
        except ValueError:
            return refuse(ErrorCode.UNKNOWN_COMMAND, kind, "unknown command")
        if command == Command.SCHEDULE and not self.features.sequencer:
            return refuse(ErrorCode.UNKNOWN_COMMAND, kind, "SCHEDULE to a node without a sequencer")
        name = command.name

        if command in (Command.IDENTIFY, Command.READ_EVENTS):
            if payload:
                return refuse(ErrorCode.BAD_LENGTH, length, f"{name} with a payload")
            if command == Command.IDENTIFY:
                return ok("IDENTIFY", payload=self.identify.pack())
            self._count("frames_ok")
            records_sent = self.value("records_sent")
            return Expected(frame, Reply.EVENTS_READ, seq, "frames_ok",
                            payload=None if records_sent is None else wire.pack_events(records_sent),
                            why="READ_EVENTS, quiet inputs: no records")

        if command == Command.STREAM:
            if len(payload) != 1:
                return refuse(ErrorCode.BAD_LENGTH, length, "STREAM payload not 1 byte")
            if payload[0] not in (0, 1):
                return refuse(ErrorCode.BAD_VALUE, 0, f"STREAM {payload[0]}")
            self.streaming = bool(payload[0])
            return ok(f"STREAM {payload[0]}")

        # READ and WRITE bursts
        if len(payload) < wire.BURST_HEADER.size:
            return refuse(ErrorCode.BAD_LENGTH, length, f"{name} payload of {len(payload)} bytes")
        address, count = wire.BURST_HEADER.unpack_from(payload)
        if not 1 <= count <= wire.MAX_BURST:
            return refuse(ErrorCode.BAD_LENGTH, length, f"{name} count {count}")
        data_bytes = 0 if command == Command.READ else 4 * count
        if len(payload) != wire.BURST_HEADER.size + data_bytes:
            return refuse(ErrorCode.BAD_LENGTH, length, f"{name} of {count} with {len(payload)} payload bytes")
        addresses = [address + i for i in range(count)]
        if command == Command.READ:
            for a in addresses:
                if a not in self.regmap.by_address:
                    return refuse(ErrorCode.BAD_ADDRESS, a, f"READ of {count} at {address:#06x}: no register")
            return ok(f"READ of {count} at {address:#06x}", words=addresses)

        values = struct.unpack_from(f"<{count}I", payload, wire.BURST_HEADER.size)
        for a, v in zip(addresses, values):
            r = self.regmap.by_address.get(a)
            if r is None:
                return refuse(ErrorCode.BAD_ADDRESS, a, f"WRITE of {count} at {address:#06x}: no register")
            if not r.writable:
                return refuse(ErrorCode.READ_ONLY, a, f"WRITE of {count} at {address:#06x}: {r.name} is read-only")
            if _value_refused(self, r, v):
                return refuse(ErrorCode.BAD_VALUE, a, f"WRITE of {v:#x} to {r.name}")
        for a, v in zip(addresses, values):        # the whole burst passed: apply it
            r = self.regmap.by_address[a]
            if r.access == "rw":
                stored = v & ((1 << r.width) - 1)
                self.values[a] = stored
                self.writes[a] = stored
        return ok(f"WRITE of {count} at {address:#06x}")
