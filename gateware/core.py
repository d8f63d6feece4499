"""The timing core: timebase, tagging channels, merger and event FIFO."""

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import wiring, stream, data
from amaranth.lib.wiring import In, Out, connect, flipped

from .event import TIME_WIDTH, ChannelConfig, event_layout
from .timebase import Timebase
from .channel import TaggerChannel
from .merge import EventMerger
from .flatmerge import FlatMerger
from .bramfifo import BufferedFIFO

__all__ = ["TimingCore"]


class TimingCore(wiring.Component):
    """The platform-free timing core of a node.

    ``samples`` carries, each system cycle, ``samples_per_cycle`` samples of
    every channel (channel ``c``'s word is ``samples[c]``, bit 0 earliest),
    from whatever PHY the board has. A fine tick is the clock period divided
    by ``samples_per_cycle``. ``events`` is the merged stream of every
    channel's events and overflow markers in non-decreasing timestamp order,
    through a FIFO of ``fifo_depth`` records; it sustains one record per cycle.

    ``clock_hz`` sets the default pulse period to one second.

    For small FPGAs: ``merger="flat"`` takes :class:`FlatMerger` (one register,
    the same stream) instead of the pipelined tree, and ``period_width``
    narrows the pulse-phase logic (periods must then be below
    ``2**period_width`` ticks; the bits above are ignored), and
    ``fast_steps=False`` drops the timebase's small-step path (every step
    then recomputes the pulse phase, as a load does).
    """

    def __init__(self, *, channels=4, samples_per_cycle=4, clock_hz=100_000_000,
                 channel_depth=32, fifo_depth=256, key_width=32, counter_width=32,
                 merger="tree", period_width=TIME_WIDTH, fast_steps=True):
        mergers = {"tree": EventMerger, "flat": FlatMerger}
        if merger not in mergers:
            raise ValueError(f"merger must be one of {', '.join(mergers)}, not {merger!r}")
        self._merger_class = mergers[merger]
        if not 1 <= channels <= 64:
            raise ValueError(f"channels must be 1 to 64, not {channels}")
        self.channels = channels
        self.samples_per_cycle = samples_per_cycle
        self.clock_hz = clock_hz
        self.channel_depth = channel_depth
        self.fifo_depth = fifo_depth
        self.key_width = key_width
        self.counter_width = counter_width
        self.event_layout = event_layout(channels)
        self._timebase = Timebase(samples_per_cycle, default_period=clock_hz * samples_per_cycle,
                                  period_width=period_width, fast_steps=fast_steps)
        super().__init__({
            "samples":       In(data.ArrayLayout(samples_per_cycle, channels)),
            "channel_config": In(data.ArrayLayout(ChannelConfig, channels)),
            "events":        Out(stream.Signature(self.event_layout)),
            "event_counts":  Out(data.ArrayLayout(counter_width, channels)),
            "lost_counts":   Out(data.ArrayLayout(counter_width, channels)),
            # the timebase, passed through; ``now`` is the time of this cycle's first sample
            "now":           Out(TIME_WIDTH),
            "load":          In(stream.Signature(unsigned(TIME_WIDTH), always_ready=True)),
            "adjust":        In(stream.Signature(signed(TIME_WIDTH), always_ready=True)),
            "pulse_period":  In(TIME_WIDTH, init=clock_hz * samples_per_cycle),
            "pulse":         Out(1),
            "pulse_offset":  Out(range(samples_per_cycle)),
            "pulses_missed": Out(32),
        })

    @property
    def latency(self):
        """Cycles from a sample word at ``samples`` to its event at ``events``,
        with zero delay and nothing queued: the channel, the merger's registers
        (a leaf per queue, then one per level of its tree) and the FIFO's two."""
        return TaggerChannel.LATENCY + self._merger_class.stages(self.channels) + 2

    @property
    def _horizon_cycles(self):
        # An entry readable at cycle m came from a word at cycle m - LATENCY
        # or earlier, so every entry not yet readable has a key of at least
        # local - (LATENCY - 1) * N: older keys are final.
        return TaggerChannel.LATENCY - 1

    def elaborate(self, platform):
        m = Module()
        n = self.samples_per_cycle

        tb = m.submodules.timebase = self._timebase
        connect(m, flipped(self.load), tb.load)
        connect(m, flipped(self.adjust), tb.adjust)
        m.d.comb += [
            tb.period.eq(self.pulse_period),
            self.now.eq(tb.time),
            self.pulse.eq(tb.pulse),
            self.pulse_offset.eq(tb.pulse_offset),
            self.pulses_missed.eq(tb.pulses_missed),
        ]

        # Free-running fine-tick count that orders events across time steps.
        local = Signal(self.key_width)
        m.d.sync += local.eq(local + n)

        merger = m.submodules.merger = self._merger_class(
            channels=self.channels, key_width=self.key_width,
            horizon=self._horizon_cycles * n, ticks_per_cycle=n)
        m.d.comb += merger.local.eq(local)

        for c in range(self.channels):
            ch = TaggerChannel(samples_per_cycle=n, depth=self.channel_depth,
                               key_width=self.key_width, counter_width=self.counter_width)
            m.submodules[f"channel{c}"] = ch
            m.d.comb += [
                ch.samples.eq(self.samples[c]),
                ch.time.eq(tb.time),
                ch.local.eq(local),
                ch.config.eq(self.channel_config[c]),
                self.event_counts[c].eq(ch.event_count),
                self.lost_counts[c].eq(ch.lost_count),
            ]
            connect(m, ch.events, merger.inputs[c])

        out = m.submodules.fifo = BufferedFIFO(width=self.event_layout.size, depth=self.fifo_depth)
        m.d.comb += [
            out.w_data.eq(merger.events.payload),
            out.w_en.eq(merger.events.valid),
            merger.events.ready.eq(out.w_rdy),
            self.events.valid.eq(out.r_rdy),
            self.events.payload.eq(out.r_data),
            out.r_en.eq(self.events.ready),
        ]
        return m
