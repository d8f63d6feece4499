"""A QNU node as a Python object: identify, configure channels, count, record tags.

    with open_device("/dev/ttyUSB0") as dev:
        dev.configure(0, delay_ps=1_500)
        rec = dev.record(duration_s=2.0)
        channel, timestamp_ps, edge = rec.tags()
"""

import struct
import time
from dataclasses import dataclass

import numpy as np

from qnu import wire
from qnu.host.errors import DeviceError, LinkLost, QnuError, TimeChangeRefused, VersionMismatch
from qnu.host.link import Link
from qnu.host.registers import Registers, field_values
from qnu.host.stream import BlockCollector, EventStream
from qnu.recording import Recording
from qnu.units import TickClock
from qnu.regmap import MIN_PULSE_PERIOD, Features, register_map
from qnu.host.attempts import Attempts
from qnu.host.herald import Herald
from qnu.host.sync import Sync
from qnu.host.outputs import Outputs
from qnu.host.sequencer import Sequencer
from qnu.host.skew import load_skew
from qnu.wire import Command

__all__ = ["Device", "open_device", "ChannelConfig", "Counters", "CountRates", "PhyStatus"]

_MASK32 = 0xFFFFFFFF
_MAX_TICKS16 = 0xFFFF     # delay and dead time registers are 16 bits of fine ticks
_SETTLE_S = 0.2           # how long an EVENTS frame may trail the OK that stopped the stream
#: how long a time load or step is retried while a late-stamping node refuses it (TimeChangeRefused)
TIME_CHANGE_RETRY_S = 0.25


@dataclass(frozen=True)
class ChannelConfig:
    """A channel's settings as the node holds them (delays quantized to whole ticks)."""
    channel: int
    enable: bool
    rising: bool
    falling: bool
    delay_ticks: int
    dead_time_ticks: int
    delay_ps: int
    dead_time_ps: int


@dataclass(frozen=True)
class Counters:
    """Each channel's wrapping 32-bit event and lost counters, and the node time when read."""
    events: np.ndarray
    lost: np.ndarray
    time_ticks: int

    def rates_since(self, earlier, clock):
        """CountRates between an earlier snapshot and this one (counters wrap at 2**32)."""
        seconds = float((self.time_ticks - earlier.time_ticks) * clock.bin_ps) / 1e12
        if seconds <= 0:
            raise QnuError("the node's time did not advance between the two counter readings "
                           "(was it loaded or stepped?)")
        events = (self.events - earlier.events) & _MASK32
        lost = (self.lost - earlier.lost) & _MASK32
        return CountRates(events / seconds, lost / seconds, seconds)


@dataclass(frozen=True)
class CountRates:
    """Events and lost events per second of each channel, over ``interval_s`` of node time."""
    events_hz: np.ndarray
    lost_hz: np.ndarray
    interval_s: float


@dataclass(frozen=True)
class PhyStatus:
    inputs_running: bool
    outputs_running: bool
    input_error: bool
    output_error: bool

    @property
    def ok(self):
        return self.inputs_running and self.outputs_running and not (self.input_error or self.output_error)

    def __str__(self):
        if self.ok:
            return "running"
        def side(name, running, error):
            if error:
                return f"{name} GEARBOX ERROR: samples lost or repeated"
            return f"{name} {'running' if running else 'NOT RUNNING'}"
        return (f"{side('inputs', self.inputs_running, self.input_error)}, "
                f"{side('outputs', self.outputs_running, self.output_error)}")


class Device:
    """A node on a serial port path or pyserial URL; a context manager.

    Opening sends IDENTIFY and refuses another protocol version
    (VersionMismatch). ``info`` is the node's IdentifyInfo, ``clock`` its
    TickClock, ``features`` what it has besides its channels, ``regs`` its
    registers by name. Each feature is an interface on the device:
    ``outputs[k]`` (:mod:`qnu.host.outputs`), ``sequencer``
    (:mod:`qnu.host.sequencer`) and ``attempts`` (:mod:`qnu.host.attempts`).

    ``skew``: the node's per-channel skew corrections (:mod:`qnu.host.skew`,
    measured by ``qnu bench skew``). True (the default) applies those saved
    for this port and build, if any; False none; or a SkewCalibration.
    Opening sets each corrected channel's delay to its correction, and
    :meth:`configure` adds it to the delay asked for.
    """

    def __init__(self, port, *, baudrate=3_000_000, timeout=1.0, skew=True):
        self.port = port
        self.skew = None
        self._streaming = False
        self.link = Link.open(port, baudrate=baudrate, timeout=timeout)
        try:
            self.info = self.identify()
            self.channels = self.info.channels
            self.clock = TickClock(self.info.clock_hz, self.info.samples_per_cycle)
            # (the features register is at the same address in every map)
            self.features = Features.from_word(self.link.read(register_map(1)["features"].address, 1)[0])
            self.regs = Registers(self.link, register_map(self.channels, self.features))
            self.outputs = Outputs(self)
            self._sequencer = Sequencer(self) if self.features.sequencer else None
            self._attempts = Attempts(self) if self.features.attempts else None
            self._herald = Herald(self) if self.features.herald else None
            self._sync = Sync(self) if self.features.sync else None
            # A stream left running by an earlier session would crowd the link; its frames
            # predate this session, which counts records from the node's records_sent on.
            self.stream(False)
            if self.link.take_events():
                self.link.collect_events(_SETTLE_S)     # let a frame that was under way land
                self.link.take_events()
            self._events = EventStream(self.clock, next_index=self.regs.records_sent)
            self.apply_skew(load_skew(port, self.info.build_id) if skew is True else skew or None)
        except BaseException:
            self.link.close()
            raise

    def __repr__(self):
        return f"Device({self.port!r}, {getattr(self, 'info', 'not identified')})"

    def close(self):
        """Stop streaming if on (best effort) and close the port."""
        if self._streaming:
            try:
                self.stream(False)
            except QnuError:
                pass
        self.link.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def sequencer(self):
        """The output sequencer (:class:`qnu.host.sequencer.Sequencer`)."""
        if self._sequencer is None:
            raise QnuError(f"the node on {self.port} has no output sequencer (a small board's build)")
        return self._sequencer

    @property
    def attempts(self):
        """The attempt loop (:class:`qnu.host.attempts.Attempts`)."""
        if self._attempts is None:
            raise QnuError(f"the node on {self.port} has no attempt loop (a small board's build)")
        return self._attempts

    @property
    def sync(self):
        """Node-to-node sync: the peer link's ports and the servo (:class:`qnu.host.sync.Sync`)."""
        if self._sync is None:
            raise QnuError(f"the node on {self.port} has no sync block (a build without it)")
        return self._sync

    @property
    def herald(self):
        """The herald unit (:class:`qnu.host.herald.Herald`)."""
        if self._herald is None:
            raise QnuError(f"the node on {self.port} has no herald unit (a build without it)")
        return self._herald

    def time_ps(self):
        """The node's time now, in integer ps (the start of the current tick)."""
        return round(self.read_time() * self.clock.bin_ps)

    def identify(self):
        """Ask the node who it is: an IdentifyInfo; VersionMismatch if it speaks another protocol."""
        payload = self.link.request(Command.IDENTIFY)
        if len(payload) < 5:
            raise QnuError(f"{self.port} answered IDENTIFY with {len(payload)} bytes: not a QNU node?")
        # magic and protocol version lead the IDENTIFY reply of every protocol version
        magic, version = struct.unpack_from("<IB", payload)
        if magic != wire.MAGIC:
            raise QnuError(f"{self.port} answered IDENTIFY with magic {magic:#010x}, not "
                           f"{wire.MAGIC:#010x} ('QNU1'): not a QNU node")
        if version != wire.PROTOCOL_VERSION:
            raise VersionMismatch(self.port, version, wire.PROTOCOL_VERSION)
        return wire.IdentifyInfo.unpack(payload)

    # --- channels and counters --------------------------------------------------

    def apply_skew(self, calibration):
        """Use ``calibration``'s corrections (None: none) from now on, and set each
        corrected channel's delay to its correction."""
        if calibration is not None:
            for channel in calibration.corrections_ps:
                self._check_channel(channel)
        self.skew = calibration
        if calibration is not None and calibration.corrections_ps:
            self.regs.write({f"ch{c}_delay": self._ticks16("a skew correction", calibration.correction(c))
                             for c in calibration.corrections_ps})

    def skew_correction_ps(self, channel):
        """What :meth:`configure` adds to this channel's delay (0 without a calibration)."""
        return self.skew.correction(channel) if self.skew else 0

    def configure(self, channel, *, enable=True, rising=True, falling=False, delay_ps=0, dead_time_ps=0):
        """Set a channel's edges, delay and dead time (ps, rounded to whole ticks) in one write.

        The node applies a dead time of at least one system cycle whatever is asked.
        The channel's skew correction, if any, is added to ``delay_ps``.
        Returns the ChannelConfig as applied (its delay with the correction).
        """
        self._check_channel(channel)
        delay = self._ticks16("delay_ps", delay_ps + self.skew_correction_ps(channel))
        dead_time = self._ticks16("dead_time_ps", dead_time_ps)
        ctrl = self._pack_fields(f"ch{channel}_ctrl", enable=enable, rising=rising, falling=falling)
        self.regs.write({f"ch{channel}_ctrl": ctrl, f"ch{channel}_delay": delay,
                         f"ch{channel}_dead_time": dead_time})
        return self._channel_config(channel, ctrl, delay, dead_time)

    def channel_config(self, channel):
        """Read back a channel's settings."""
        self._check_channel(channel)
        v = self.regs.read(f"ch{channel}_ctrl", f"ch{channel}_delay", f"ch{channel}_dead_time")
        return self._channel_config(channel, *v.values())

    def counters(self):
        """Counters: each channel's events and lost (wrapping u32 arrays), and the node time.

        The counters take one READ per channel; the time is the midpoint of
        readings taken just before and just after them.
        """
        names = [f"ch{c}_{k}" for c in range(self.channels) for k in ("events", "lost")]
        before = self.read_time()
        values = self.regs.read(*names)
        after = self.read_time()
        events = np.array([values[f"ch{c}_events"] for c in range(self.channels)], dtype=np.int64)
        lost = np.array([values[f"ch{c}_lost"] for c in range(self.channels)], dtype=np.int64)
        return Counters(events, lost, (before + after) // 2)

    def phy_status(self):
        """The board's sample front end, as :class:`PhyStatus`: whether input samples
        reach the core and the trigger outputs run, and whether a gearbox ever
        lost or repeated samples (sticky until the node is reset)."""
        f = field_values(self.regs.map["phy_status"], self.regs.phy_status)
        return PhyStatus(**{k: bool(v) for k, v in f.items()})

    def count_rates(self, interval_s=1.0):
        """Events and lost per second of each channel, from counters read ``interval_s`` apart."""
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, not {interval_s}")
        first = self.counters()
        time.sleep(interval_s)
        return self.counters().rates_since(first, self.clock)

    # --- time -------------------------------------------------------------------

    def read_time(self):
        """The node's time in fine ticks (time_lo and time_hi in one burst: reading lo latches hi)."""
        return self.regs.time

    def load_time(self, ticks):
        """Set the node's time to ``ticks``, atomically. A small node refuses while events
        from before its previous time change are queued: retried for ``TIME_CHANGE_RETRY_S``,
        then :class:`TimeChangeRefused`."""
        if not 0 <= ticks < 1 << 64:
            raise ValueError(f"time must be 0 to 2**64 - 1 ticks, not {ticks}")
        self._time_cmd(ticks, 1)

    def step_time(self, delta_ticks):
        """Step the node's time by a signed number of ticks, atomically (refusals as :meth:`load_time`)."""
        if not -(1 << 63) <= delta_ticks < 1 << 63:
            raise ValueError(f"a time step must fit a signed 64-bit count of ticks, not {delta_ticks}")
        self._time_cmd(delta_ticks & (1 << 64) - 1, 2)

    # --- the pulse output ---------------------------------------------------------

    def pulse_period(self):
        """The trigger output's period in fine ticks: a pulse leaves on every multiple of it."""
        return self.regs.pulse_period

    def set_pulse_period(self, ticks):
        """Set the trigger output's period in fine ticks (at least MIN_PULSE_PERIOD). A node
        whose pulse logic is narrower (a small board's) refuses a longer one: DeviceError
        BAD_VALUE. A pulse due while the node recomputes its phase (66 cycles) is counted
        in ``pulses_missed``."""
        if not MIN_PULSE_PERIOD <= ticks < 1 << 64:
            raise ValueError(f"the pulse period must be {MIN_PULSE_PERIOD} to 2**64 - 1 ticks, not {ticks}")
        self.regs.pulse_period = ticks

    # --- events -----------------------------------------------------------------

    def stream(self, on):
        """Start (True) or stop (False) streaming EVENTS frames."""
        self.link.request(Command.STREAM, bytes([1 if on else 0]))
        self._streaming = bool(on)

    def read_events(self):
        """One READ_EVENTS: a TagBlock of what the node had (plus anything already streamed)."""
        self.link.request(Command.READ_EVENTS)
        return self._events.block(self.link.take_events())

    def record(self, duration_s=None, *, max_tags=None, until=None, block_callback=None, progress=None,
               poll_s=0.05):
        """Stream tags into a Recording, for ``duration_s`` seconds, until ``max_tags`` tags or
        until ``until()`` (asked at every poll) is true.

        Stops at whichever comes first and keeps every record received (the
        last block may take it past ``max_tags``). ``block_callback(block)``
        sees each TagBlock as it is made (every ``poll_s``);
        ``progress(elapsed_s, tags)`` is called at every poll. Any exception
        that interrupts the recording carries the blocks so far in ``partial``.
        """
        if duration_s is None and max_tags is None and until is None:
            raise ValueError("record needs duration_s, max_tags or until")
        if duration_s is not None and duration_s < 0:
            raise ValueError(f"duration_s must not be negative, not {duration_s}")
        blocks = BlockCollector(self.link, self._events, block_callback)
        try:
            node_start = self.read_time()
            self.stream(True)
            start = time.monotonic()
            while True:
                blocks.collect(self.link.collect_events(poll_s))
                elapsed = time.monotonic() - start
                if progress is not None:
                    progress(elapsed, blocks.tags)
                if ((duration_s is not None and elapsed >= duration_s)
                        or (max_tags is not None and blocks.tags >= max_tags)
                        or (until is not None and until())):
                    break
            self.stream(False)
            duration = time.monotonic() - start
            node_ticks = self.read_time() - node_start
            self._finish_recording(blocks, poll_s)
        except BaseException as e:
            self._abandon_recording(e, blocks)
            raise
        node_s = float(node_ticks * self.clock.bin_ps) / 1e12 if node_ticks > 0 else None  # None: time stepped
        return Recording(blocks.blocks, clock_hz=self.info.clock_hz,
                         samples_per_cycle=self.info.samples_per_cycle, duration_s=duration,
                         node_duration_s=node_s)

    # --- internals --------------------------------------------------------------

    def _finish_recording(self, blocks, poll_s):
        """After STREAM 0: take the last frames and count records lost at the very end.

        Those show only against the node's own count, records_sent. A frame
        still under way when the stream stopped may land after the OK, so wait
        a little for the received count to catch up.
        """
        blocks.collect(self.link.take_events())
        sent = self.regs.records_sent
        settle = time.monotonic() + _SETTLE_S
        while self._events.next_index != sent and time.monotonic() < settle:
            blocks.collect(self.link.collect_events(poll_s))
        blocks.collect(self.link.take_events())
        blocks.add_final_gap(self._events.catch_up(sent))

    def _abandon_recording(self, error, blocks):
        """Keep what arrived before ``error`` and leave the node quiet if it can still hear us."""
        try:
            blocks.collect(self.link.take_events())
        except QnuError:
            pass
        if not isinstance(error, LinkLost) and self._streaming:
            try:
                self.stream(False)
            except QnuError:
                pass
        error.partial = blocks.blocks

    def _time_cmd(self, arg, cmd):
        # time_cmd is 1 or 2 here, so BAD_VALUE means a late-stamping node still
        # holds events from before its previous time change: they drain as the
        # events are read (streaming, in milliseconds), so wait and retry
        deadline = time.monotonic() + TIME_CHANGE_RETRY_S
        while True:
            try:
                self.regs.write({"time_arg": arg, "time_cmd": cmd})     # one burst
                return
            except DeviceError as e:
                if e.code != wire.ErrorCode.BAD_VALUE:
                    raise
                if time.monotonic() >= deadline:
                    raise TimeChangeRefused(
                        e.code, e.detail, register="time_cmd",
                        request=f"time {'load' if cmd == 1 else 'step'} (events from before the previous time "
                                f"change are still queued in the node: read them, then retry)") from None
            time.sleep(0.01)

    def _check_channel(self, channel):
        if not (isinstance(channel, (int, np.integer)) and 0 <= channel < self.channels):
            raise ValueError(f"channel must be 0 to {self.channels - 1} (this node has {self.channels}), "
                             f"not {channel!r}")

    def _ticks16(self, what, ps):
        """A non-negative duration in ps as 16 bits of ticks; ValueError naming the range in ps."""
        bin_ps = self.clock.bin_ps
        # the largest duration that still rounds to 0xFFFF ticks
        max_ps = ((2 * _MAX_TICKS16 + 1) * bin_ps.numerator - 1) // (2 * bin_ps.denominator)
        if not 0 <= ps <= max_ps:
            raise ValueError(f"{what} must be 0 to {max_ps} ps ({_MAX_TICKS16} ticks of "
                             f"{float(bin_ps):g} ps), not {ps}")
        return self.clock.to_ticks(round(ps))

    def _pack_fields(self, name, **fields):
        reg = self.regs.map[name]
        by_name = {f.name: f for f in reg.fields}
        return sum(int(v) << by_name[k].offset for k, v in fields.items())

    def _channel_config(self, channel, ctrl, delay, dead_time):
        bin_ps = self.clock.bin_ps
        f = field_values(self.regs.map[f"ch{channel}_ctrl"], ctrl)
        return ChannelConfig(channel, bool(f["enable"]), bool(f["rising"]), bool(f["falling"]), delay, dead_time,
                             round(delay * bin_ps), round(dead_time * bin_ps))


def open_device(port, *, baudrate=3_000_000, timeout=1.0, skew=True):
    """Open a node by serial port path or pyserial URL; use as ``with open_device(p) as dev:``."""
    return Device(port, baudrate=baudrate, timeout=timeout, skew=skew)
