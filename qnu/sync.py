"""The peer link between two nodes: its frames and its line code (docs/sync.md).

A frame carries one time-transfer message. Both ends of a link send one
every exchange interval; each frame says when it left (one-step: its own
departure tick) and echoes the last frame it received from the peer (that
frame's departure, by the peer's clock, and its arrival, by this node's). A
node holding its own frame's departure ``t1``, the peer's echo of its
arrival ``t2``, the peer's frame departure ``t3`` and its arrival ``t4`` has
one two-way exchange.

On the line, idle is low. Each byte is a symbol of ten bits: a start bit
(high), the byte's eight bits least significant first, a stop bit (low).
A frame is ``FRAME_BYTES`` bytes: the message's ``MESSAGE_BYTES`` (fields
little-endian, in the order of ``MESSAGE_FIELDS``) and its CRC-16
(CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF), most significant byte
first. A frame's time is the tick of its first rising edge: a receiver arms
after ``IDLE_BITS`` bit times of low line (longer than any low run inside a
frame), so that edge is always a frame's start bit.

This module is the reference: the gateware (``qnu.gateware.sync``) and the
models (``qnu.sim.sync_model``) are checked against its encoder and decoder.
"""

import binascii
from dataclasses import dataclass, fields
from enum import IntEnum

__all__ = ["MessageKind", "Message", "MESSAGE_FIELDS", "MESSAGE_BYTES", "FRAME_BYTES", "SYMBOL_BITS",
           "FRAME_BITS", "IDLE_BITS", "crc16", "encode_frame", "decode_frame", "frame_line_bits",
           "line_samples", "FrameError", "decode_line", "SUBTICK_BITS", "RATE_BITS", "RATIO_BITS",
           "SYMMETRIC_RATIO", "DEFAULT_KP_SHIFT", "DEFAULT_KI_SHIFT", "DEFAULT_GEAR", "INTERVAL_LOG2_RANGE", "ServoState", "asymmetry_ratio", "to_signed"]


class MessageKind(IntEnum):
    TIME = 1            # a time-transfer message


#: (name, bytes) of each field, in the frame's order
MESSAGE_FIELDS = (("kind", 1), ("seq", 1), ("status", 2),
                  ("departure", 8), ("echo_departure", 8), ("echo_arrival", 8))
MESSAGE_BYTES = sum(size for _, size in MESSAGE_FIELDS)
FRAME_BYTES = MESSAGE_BYTES + 2
SYMBOL_BITS = 10
FRAME_BITS = FRAME_BYTES * SYMBOL_BITS
#: low bit times after which a receiver takes the next rising edge for a
#: frame's start: more than the longest low run in a frame (a stop bit and a
#: zero byte: nine bits)
IDLE_BITS = 12


@dataclass(frozen=True)
class Message:
    kind: int = MessageKind.TIME
    seq: int = 0
    status: int = 0
    departure: int = 0          # this frame's first rising edge, in the sender's ticks
    echo_departure: int = 0     # the last frame received from the peer: its departure (the peer's ticks)
    echo_arrival: int = 0       # ... and its arrival (the sender's ticks)

    def __post_init__(self):
        for (name, size), f in zip(MESSAGE_FIELDS, fields(self)):
            value = getattr(self, name)
            if not 0 <= value < 1 << 8 * size:
                raise ValueError(f"{name} = {value} does not fit in {8 * size} bits")


class FrameError(ValueError):
    pass


def crc16(data):
    """CRC-16/CCITT-FALSE, computed by the standard library (an implementation independent of ours)."""
    return binascii.crc_hqx(bytes(data), 0xFFFF)


def encode_frame(message):
    """The frame's bytes: the message, then its CRC most significant byte first."""
    body = b"".join(getattr(message, name).to_bytes(size, "little") for name, size in MESSAGE_FIELDS)
    return body + crc16(body).to_bytes(2, "big")


def decode_frame(frame):
    """The message in a frame's bytes; ``FrameError`` if its length or CRC is wrong."""
    frame = bytes(frame)
    if len(frame) != FRAME_BYTES:
        raise FrameError(f"a frame is {FRAME_BYTES} bytes, not {len(frame)}")
    if crc16(frame[:-2]).to_bytes(2, "big") != frame[-2:]:
        raise FrameError("CRC mismatch")
    values, at = {}, 0
    for name, size in MESSAGE_FIELDS:
        values[name] = int.from_bytes(frame[at:at + size], "little")
        at += size
    return Message(**values)


def frame_line_bits(frame):
    """The line's bits for a frame's bytes: per byte, start (1), data LSB first, stop (0)."""
    bits = []
    for byte in bytes(frame):
        bits += [1] + [byte >> i & 1 for i in range(8)] + [0]
    return bits


def line_samples(frames, bit_ticks, length):
    """A line of ``length`` ticks (a list of 0/1) with each ``(start_tick, frame_bytes)`` on it."""
    line = [0] * length
    for start, frame in frames:
        for i, bit in enumerate(frame_line_bits(frame)):
            for t in range(start + i * bit_ticks, start + (i + 1) * bit_ticks):
                if 0 <= t < length:
                    line[t] = bit
    return line


def decode_line(samples, bit_ticks):
    """What a receiver makes of a line sampled once a tick: a list of
    ``(arrival_tick, message)`` or ``(arrival_tick, "framing" | "crc")``.

    A frame starts at a high sample preceded by ``IDLE_BITS * bit_ticks``
    low ones, none of them before the end of the previous frame (nor before
    the first sample: the line's past is unknown). Each bit is read at its
    middle, ``bit_ticks // 2`` ticks into it, counted from the frame's first
    tick. A start or stop bit that is wrong ends the frame there ("framing");
    a frame ends at the last bit it reads. A frame still arriving when the
    samples end is not reported."""
    out = []
    idle = IDLE_BITS * bit_ticks
    low = 0                     # low samples since the last high one or the last frame's end
    t = 0
    while t < len(samples):
        if not (samples[t] and low >= idle):
            low = 0 if samples[t] else low + 1
            t += 1
            continue
        arrival, body, error = t, bytearray(), None
        for k in range(FRAME_BYTES):
            centres = [arrival + (k * SYMBOL_BITS + i) * bit_ticks + bit_ticks // 2 for i in range(SYMBOL_BITS)]
            if centres[-1] >= len(samples):
                return out
            bits = [samples[c] for c in centres]
            if bits[0] != 1:
                error, t = "framing", centres[0]
                break
            if bits[-1] != 0:
                error, t = "framing", centres[-1]
                break
            body.append(sum(b << i for i, b in enumerate(bits[1:9])))
        if error is None:
            t = centres[-1]
            try:
                out.append((arrival, decode_frame(body)))
            except FrameError:
                out.append((arrival, "crc"))
        else:
            out.append((arrival, error))
        low = 0
        t += 1
    return out


# --- the servo's arithmetic (docs/sync.md): shared by the gateware and its reference model ---

#: fractional bits of the offset and delay estimates ("subticks")
SUBTICK_BITS = 16
#: fractional bits of the rate trim: ticks added per core cycle, in 2**-RATE_BITS
RATE_BITS = 32
#: fractional bits of the asymmetry ratio (1 + alpha) / (2 + alpha)
RATIO_BITS = 24
#: the ratio of a symmetric link (alpha = 0)
SYMMETRIC_RATIO = 1 << (RATIO_BITS - 1)
#: the servo's default gains (docs/sync.md): 2**-kp_shift and 2**-ki_shift per exchange, damping
#: about 0.7 in every gear; once locked, up to ``gear`` gears, each a loop twice as narrow
DEFAULT_KP_SHIFT, DEFAULT_KI_SHIFT, DEFAULT_GEAR = 3, 7, 3
#: the exchange interval is 2**interval_log2 core cycles
INTERVAL_LOG2_RANGE = range(6, 17)


class ServoState(IntEnum):
    FREE = 0            # disabled, or no exchange yet: the timebase runs free
    ACQUIRING = 1       # steering, not yet within the lock threshold for long enough
    LOCKED = 2
    HOLDOVER = 3        # the link went quiet: the last rate trim is kept


def to_signed(value, bits):
    """``value``'s low ``bits`` bits read as a two's complement number."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def asymmetry_ratio(alpha):
    """The ratio register for a fibre asymmetry ``alpha`` (White Rabbit's: the
    there-delay is ``(1 + alpha) / (2 + alpha)`` of the fibre's round trip)."""
    return round((1 + alpha) / (2 + alpha) * (1 << RATIO_BITS))
