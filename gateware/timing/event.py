"""Data layouts shared by the timing core's blocks."""

from amaranth.hdl import Cat, Const, Value, signed, unsigned
from amaranth.lib import data, enum

TIME_WIDTH = 64     # timestamps and the timebase count fine ticks in 64 bits
LOST_WIDTH = 32     # lost-event count carried by an overflow marker (saturates)
ENTRY_WIDTH = 64    # a late-stamped channel entry: four 16-bit-wide block RAMs


class EventKind(enum.Enum, shape=2):
    RISING   = 0
    FALLING  = 1
    OVERFLOW = 2    # marker: ``lost`` events of ``channel`` are missing here


class ChannelConfig(data.Struct):
    """Per-channel settings. Times are in fine ticks."""
    enable:    1
    rising:    1
    falling:   1
    delay:     unsigned(16)
    dead_time: unsigned(16)


def event_layout(channels):
    """Layout of one record of the merged event stream.

    ``timestamp`` is in fine ticks, after the channel's delay. For an overflow
    marker it is the timestamp the first lost event would have had, and
    ``lost`` says how many consecutive events of ``channel`` are missing.
    """
    return data.StructLayout({
        "timestamp": unsigned(TIME_WIDTH),
        "channel":   unsigned(max(1, (channels - 1).bit_length())),
        "kind":      EventKind,
        "lost":      unsigned(LOST_WIDTH),
    })


def entry_layout(key_width, *, stamped=True, lost_width=LOST_WIDTH):
    """Layout of an entry queued inside a channel, before merging.

    ``key`` is the event's position on the free-running local fine-tick count
    (never loaded or stepped), so queued events stay ordered across timebase
    loads and steps; it wraps and is compared modulo 2**key_width.

    A ``stamped`` entry carries its timestamp. An unstamped one (a small
    FPGA's, where block RAM is bound by width) carries instead the one-bit
    generation ``gen`` of the timebase it was tagged under, which changes at
    every load or step; the timestamp is formed after the merger from the key
    and that generation's time (see :class:`~qnu.gateware.timing.core.TimingCore`).
    ``lost`` then saturates at ``2**lost_width - 1``, so that the entry is 64
    bits, four block RAMs.
    """
    if stamped:
        return data.StructLayout({
            "key":       unsigned(key_width),
            "timestamp": unsigned(TIME_WIDTH),
            "kind":      EventKind,
            "lost":      unsigned(lost_width),
        })
    return data.StructLayout({
        "key":  unsigned(key_width),
        "gen":  unsigned(1),
        "kind": EventKind,
        "lost": unsigned(lost_width),
    })


def merged_layout(channels, entry):
    """What a merger puts out for queues of ``entry``: its fields but the key,
    and the channel; for stamped entries, :func:`event_layout`. Unstamped
    entries keep their key, which their timestamp is formed from."""
    channel = unsigned(max(1, (channels - 1).bit_length()))
    if "timestamp" in entry.members:
        return event_layout(channels)
    return data.StructLayout({"channel": channel, **dict(entry.members)})


def _extend(x, width):
    x = Value.cast(x)
    if len(x) >= width:
        return x[:width]
    top = x[-1] if x.shape().signed else Const(0, 1)
    return Cat(x, top.replicate(width - len(x)))


def add3(a, b, c, width):
    """a + b + c modulo 2**width, as a signed value: a carry-save layer (one
    LUT per bit) then a single carry chain, where a + b + c chains two adders."""
    a, b, c = (_extend(Const(x, signed(width)) if isinstance(x, int) else x, width) for x in (a, b, c))
    half = a ^ b ^ c
    carries = Cat(Const(0, 1), ((a & b) | (a & c) | (b & c))[:-1])
    return (half + carries)[:width].as_signed()
