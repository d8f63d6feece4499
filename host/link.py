"""The serial link to a node: framed requests, replies matched by seq, queued event frames.

The node interleaves EVENTS frames (while streaming) with its replies, so the
link keeps every EVENTS frame it reads in a queue for the device's event
stream instead of dropping it while it waits for a reply. The reply to
READ_EVENTS (an EVENTS_READ frame, matched by seq like OK) joins that queue too.
"""

import collections
import time

import serial

from qnu import wire
from qnu.host.errors import CrcErrors, DeviceError, LinkLost, LinkTimeout, PortError, QnuError
from qnu.wire import Command, ErrorCode, Reply

__all__ = ["Link", "EventsFrame", "open_port", "MAX_REPLY_BODY"]

MAX_REPLY_BODY = wire.MAX_REPLY_BODY
# Requests that can be sent twice without harm, so they are retried once on a timeout.
IDEMPOTENT = frozenset({Command.IDENTIFY, Command.READ})
# Port read timeout: how often the link wakes up to check its own deadlines.
POLL_S = 0.02

EventsFrame = collections.namedtuple("EventsFrame", "seq payload")


def open_port(url, *, baudrate=3_000_000, timeout=1.0):
    """Open a serial port by path (/dev/ttyUSB0, /dev/pts/5) or pyserial URL (loop://, socket://h:p)."""
    try:
        # exclusive: a second program on the same port would steal half the bytes
        return serial.serial_for_url(url, baudrate=baudrate, timeout=POLL_S, write_timeout=timeout,
                                     exclusive=True)
    except (serial.SerialException, OSError, ValueError) as e:
        raise PortError(url, e) from e


class Link:
    """Requests and replies over an open pyserial port.

    ``timeout`` is how long to wait for each reply. ``max_bad_frames``
    consecutive corrupt frames while waiting for a reply raise CrcErrors.
    """

    def __init__(self, port, *, timeout=1.0, name=None, max_bad_frames=3):
        self.port = port
        self.name = name or getattr(port, "port", None) or "the port"
        self.timeout = timeout
        self.max_bad_frames = max_bad_frames
        self.bad_frames = 0         # corrupt frames (CRC, framing, length) received, all told
        self.stale_replies = 0      # replies matching no waiting request (late, or after a retry)
        self.unknown_frames = 0     # good frames of a kind the host does not know
        self._decoder = wire.SlipDecoder(max_body=MAX_REPLY_BODY)
        self._events = collections.deque()
        self._events_received = 0
        self._replies = collections.deque()
        self._consecutive_bad = 0
        self._seq = 0

    @classmethod
    def open(cls, url, *, baudrate=3_000_000, timeout=1.0, max_bad_frames=3):
        port = open_port(url, baudrate=baudrate, timeout=timeout)
        port.reset_input_buffer()   # bytes from before we opened belong to nobody
        return cls(port, timeout=timeout, name=url, max_bad_frames=max_bad_frames)

    def close(self):
        try:
            self.port.close()
        except (serial.SerialException, OSError):
            pass    # a vanished port is closed enough

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def baudrate(self):
        return getattr(self.port, "baudrate", None)

    # --- requests ---------------------------------------------------------------

    def request(self, command, payload=b""):
        """Send one request and return the payload of its OK reply.

        Raises DeviceError for an ERROR reply, LinkTimeout, CrcErrors or
        LinkLost. IDENTIFY and READ are retried once after a timeout; any
        request is resent once if the node says it arrived corrupted (BAD_CRC),
        since the node applied nothing of it.
        """
        command = _kind(command)
        timeouts_left = 1 if command in IDEMPOTENT else 0
        corrupt_left = 1
        attempts = 0
        while True:
            attempts += 1
            seq = self._next_seq()
            self._send(wire.build_frame(command, seq, payload), command)
            try:
                reply = self._await_reply(command, seq)
            except DeviceError as e:
                if e.code != ErrorCode.BAD_CRC or not corrupt_left:
                    raise
                corrupt_left -= 1
                continue
            if reply is not None:
                return reply
            if not timeouts_left:
                raise LinkTimeout(self._timeout_message(command, attempts))
            timeouts_left -= 1

    def read(self, address, count):
        """Raw READ of ``count`` consecutive registers: a list of u32."""
        payload = self.request(Command.READ, wire.pack_read(address, count))
        words = wire.unpack_words(payload) if len(payload) % 4 == 0 else []
        if len(words) != count:
            raise QnuError(f"READ of {count} registers at {address:#06x} from {self.name} got a reply "
                           f"of {len(payload)} bytes")
        return words

    def write(self, address, values):
        """Raw WRITE of consecutive registers (no check of the register map: the node checks)."""
        self.request(Command.WRITE, wire.pack_write(address, values))

    # --- events -----------------------------------------------------------------

    def take_events(self):
        """The EVENTS frames received so far and not yet taken, oldest first."""
        frames = list(self._events)
        self._events.clear()
        return frames

    def collect_events(self, duration):
        """Read for ``duration`` seconds, then take every EVENTS frame received."""
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            self._pump()
        return self.take_events()

    # --- internals --------------------------------------------------------------

    def _next_seq(self):
        # 1..255: an ERROR with seq 0 answers a frame too short to have one, never ours
        self._seq = self._seq % 255 + 1
        return self._seq

    def _send(self, frame, command):
        try:
            self.port.write(frame)
        except serial.SerialTimeoutException as e:
            raise LinkTimeout(f"could not send {_name(command)} to {self.name} within {self.timeout:g} s: "
                              "the other end is not reading") from e
        except (serial.SerialException, OSError) as e:
            raise LinkLost(f"lost the link to {self.name} while sending {_name(command)}: {e}") from e

    def _await_reply(self, command, seq):
        """The OK payload for ``seq``; None on timeout."""
        deadline = time.monotonic() + self.timeout
        self._consecutive_bad = 0
        while True:
            while self._replies:
                kind, reply_seq, payload = self._replies.popleft()
                if reply_seq != seq:
                    self.stale_replies += 1
                    continue
                if kind in (Reply.OK, Reply.EVENTS_READ):
                    return payload
                try:
                    code, detail = wire.unpack_error(payload)
                except wire.FrameError as e:
                    raise QnuError(f"malformed ERROR reply to {_name(command)} from {self.name}: {e}") from None
                raise DeviceError(code, detail, request=_name(command))
            if self._consecutive_bad >= self.max_bad_frames:
                raise CrcErrors(self.name, self._consecutive_bad, self.baudrate)
            if time.monotonic() >= deadline:
                return None
            self._pump()

    def _pump(self):
        """Read what the port has (waiting at most POLL_S) and sort the frames in it."""
        try:
            data = self.port.read(self.port.in_waiting or 1)
        except (serial.SerialException, OSError) as e:
            raise LinkLost(f"lost the link to {self.name}: {e}") from e
        for body in self._decoder.feed(data):
            try:
                kind, seq, payload = wire.parse_body(body)
            except wire.FrameError:
                self.bad_frames += 1
                self._consecutive_bad += 1
                continue
            self._consecutive_bad = 0
            if kind in (Reply.EVENTS, Reply.EVENTS_READ):
                # a READ_EVENTS reply's records join the stream's, in order
                self._events.append(EventsFrame(seq, payload))
                self._events_received += 1
                if kind == Reply.EVENTS_READ:
                    self._replies.append((kind, seq, b""))
            elif kind in (Reply.OK, Reply.ERROR):
                self._replies.append((kind, seq, payload))
            else:
                self.unknown_frames += 1

    def _timeout_message(self, command, attempts):
        tries = "once" if attempts == 1 else f"{attempts} times"
        msg = (f"no reply from {self.name} to {_name(command)} within {self.timeout:g} s (sent {tries}): "
               f"is the node powered and running QNU gateware")
        if self.baudrate:
            msg += f" at {self.baudrate} baud"
        msg += "?"
        if command not in IDEMPOTENT:
            msg += f" The node may or may not have applied the {_name(command)}."
        return msg


def _kind(command):
    """A Command, or the bare int of a kind the protocol does not define (for tests and fuzzing)."""
    try:
        return Command(command)
    except ValueError:
        return int(command)


def _name(command):
    return command.name if isinstance(command, Command) else f"command {command:#04x}"
