"""The timing core: timebase, tagging channels, merger and event FIFO."""

from amaranth.hdl import Module, Signal, Mux, Cat, signed, unsigned
from amaranth.lib import wiring, stream, data
from amaranth.lib.wiring import In, Out, connect, flipped

from .event import TIME_WIDTH, LOST_WIDTH, ENTRY_WIDTH, ChannelConfig, entry_layout, event_layout
from .timebase import Timebase
from .channel import TaggerChannel
from .merge import EventMerger
from .flatmerge import FlatMerger
from ..bramfifo import BufferedFIFO

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

    ``late_stamps=True`` (small FPGAs, where a block RAM is 16 bits wide)
    queues 64-bit entries: the key, the one-bit timebase generation, which
    every load and step flips, the kind and a lost count that saturates at
    ``2**lost_width - 1`` (29 bits with 32-bit keys). The timestamp is formed
    as an entry leaves the merger: the time now of its generation (the
    timebase, or for the previous generation a count continuing the time as
    it was before the change) less the entry's age on the local count,
    ``local - key``. That is the stamped core's timestamp exactly, for events
    less than ``2**(key_width-1)`` ticks old, the bound key ordering has
    anyway. Two generations can be told apart, so ``time_busy`` is high while
    the previous generation still has entries queued: a load or step then
    would give them the wrong time, and the node refuses it.
    """

    def __init__(self, *, channels=4, samples_per_cycle=4, clock_hz=100_000_000,
                 channel_depth=32, fifo_depth=256, key_width=32, counter_width=32,
                 merger="tree", period_width=TIME_WIDTH, fast_steps=True, late_stamps=False):
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
        self.late_stamps = late_stamps
        self.lost_width = ENTRY_WIDTH - key_width - 3 if late_stamps else None
        self._entry = entry_layout(key_width, stamped=not late_stamps,
                                   **({"lost_width": self.lost_width} if late_stamps else {}))
        if late_stamps and self.lost_width < 16:
            raise ValueError(f"a {key_width}-bit key leaves too few bits of a late-stamped entry for the lost count")
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
            # high in each cycle the counters above advance (for a node that keeps them in RAM)
            "event_incs":    Out(channels),
            "lost_incs":     Out(channels),
            "pulse_missed":  Out(1),
            # late stamps: a load or step now would mis-stamp queued entries
            "time_busy":     Out(1),
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
            self.pulse_missed.eq(tb.pulse_missed),
        ]

        # Free-running fine-tick count that orders events across time steps.
        local = Signal(self.key_width)
        m.d.sync += local.eq(local + n)

        merger = m.submodules.merger = self._merger_class(
            channels=self.channels, key_width=self.key_width,
            horizon=self._horizon_cycles * n, ticks_per_cycle=n, entry=self._entry)
        m.d.comb += merger.local.eq(local)

        channels = []
        for c in range(self.channels):
            ch = TaggerChannel(samples_per_cycle=n, depth=self.channel_depth,
                               key_width=self.key_width, counter_width=self.counter_width,
                               stamped=not self.late_stamps, lost_width=self.lost_width or LOST_WIDTH)
            m.submodules[f"channel{c}"] = ch
            channels.append(ch)
            m.d.comb += [
                ch.samples.eq(self.samples[c]),
                ch.local.eq(local),
                ch.config.eq(self.channel_config[c]),
                self.event_counts[c].eq(ch.event_count),
                self.lost_counts[c].eq(ch.lost_count),
                self.event_incs[c].eq(ch.event_inc),
                self.lost_incs[c].eq(ch.lost_inc),
            ]
            connect(m, ch.events, merger.inputs[c])

        out = m.submodules.fifo = BufferedFIFO(width=self.event_layout.size, depth=self.fifo_depth)
        merged = merger.events
        m.d.comb += [
            out.w_en.eq(merged.valid),
            merged.ready.eq(out.w_rdy),
        ]
        if self.late_stamps:
            self._stamp(m, tb, local, channels, merged, out)
        else:
            for ch in channels:
                m.d.comb += ch.time.eq(tb.time)
            m.d.comb += out.w_data.eq(merged.payload)
        m.d.comb += [
            self.events.valid.eq(out.r_rdy),
            self.events.payload.eq(out.r_data),
            out.r_en.eq(self.events.ready),
        ]
        return m

    def _stamp(self, m, tb, local, channels, merged, out):
        """Late stamps: the generation, the previous generation's time, the
        timestamp of each merged entry, and what each generation has queued."""
        n, kw = self.samples_per_cycle, self.key_width
        changing = tb.load.valid | tb.adjust.valid      # the time changes in the next cycle
        gen = Signal()
        before = Signal(TIME_WIDTH)     # the time had the last change not happened
        with m.If(changing):
            m.d.sync += [gen.eq(~gen), before.eq(tb.time + n)]
        with m.Else():
            m.d.sync += before.eq(before + n)
        for ch in channels:
            m.d.comb += ch.gen.eq(gen)

        entry = merged.payload
        age = Signal(signed(kw))        # ticks since the entry's key (negative for a delay not yet passed)
        stamp = Signal(self.event_layout)
        m.d.comb += [
            age.eq(local - entry.key),
            stamp.timestamp.eq(Mux(entry.gen == gen, tb.time, before) - age),
            stamp.channel.eq(entry.channel),
            stamp.kind.eq(entry.kind),
            stamp.lost.eq(entry.lost),
            out.w_data.eq(stamp),
        ]

        # entries of each generation in the queues or the merger (markers
        # waiting to be queued are reported by their channel)
        taken = merged.valid & out.w_rdy
        most = self.channels * (self.channel_depth + 1) + 2
        busy = []
        for g in (0, 1):
            queued = Signal(range(most + 1), name=f"queued_gen{g}")
            writes = sum(ch.gen_writes[g] for ch in channels)
            m.d.sync += queued.eq(queued + writes - (taken & (entry.gen == g)))
            busy.append((queued != 0) | Cat(ch.gen_pending[g] for ch in channels).any())
        m.d.comb += self.time_busy.eq(Mux(gen, busy[0], busy[1]))
