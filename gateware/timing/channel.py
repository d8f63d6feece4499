"""One time-tagging channel: edges, dead time, delay, and a lossless queue."""

from amaranth.hdl import Module, Signal, Mux, Cat
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from .event import TIME_WIDTH, LOST_WIDTH, EventKind, ChannelConfig, entry_layout, add3
from .edges import earliest_outside_dead_time
from ..bramfifo import BufferedFIFO

__all__ = ["TaggerChannel"]


class TaggerChannel(wiring.Component):
    """Turn a channel's sample words into timestamped edge events.

    Each cycle ``samples`` holds ``samples_per_cycle`` samples of the input,
    bit 0 the earliest, taken at fine times ``time + 0 ... time + N - 1`` (and
    at ``local + k`` on the free-running count). An edge is a change between
    consecutive samples, so its timestamp is that of the first sample showing
    the new level; a pulse that falls between two samples is not seen.

    After an accepted event the channel ignores edges for ``dead_time`` fine
    ticks, at least one cycle (``samples_per_cycle`` ticks): a channel yields
    at most one event per cycle (a change of ``dead_time`` applies from the
    next word on). The event's timestamp is its sample's time
    plus ``delay`` fine ticks. Increases of ``delay`` apply at once; a decrease
    by ``d`` ticks applies at the first pause of at least ``d`` ticks between
    the channel's events (disabling the channel makes one), so that its queue
    always holds events in time order.

    Events wait in a queue of ``depth`` entries until the merger takes them.
    An event arriving at a full queue is lost: ``lost_count`` counts it, and
    once the queue has drained to half full an ``OVERFLOW`` entry goes into
    the queue in its place, carrying the timestamp of the first lost event and
    how many were lost (events arriving until then, and in that very cycle,
    are lost too and counted in it).
    ``event_count`` counts every accepted event, queued or lost.

    Unless ``stamped``, entries carry no timestamp: ``time`` is replaced by
    ``gen``, the timebase generation of the word at ``samples``, which the
    entry keeps (see :func:`~qnu.gateware.timing.event.entry_layout`), and the sums
    are plain carry chains (a small FPGA's slow clock has time for them).
    ``gen_writes`` then has bit ``g`` set in a cycle an entry of generation
    ``g`` goes into the queue, and ``gen_pending`` bit ``g`` while a marker of
    generation ``g`` waits to go in: the core counts what each generation
    still has queued.
    """

    #: cycles from a sample word at the inputs to its event being readable at ``events``
    LATENCY = 5

    def __init__(self, *, samples_per_cycle, depth=16, key_width=32, counter_width=32,
                 stamped=True, lost_width=LOST_WIDTH):
        self.samples_per_cycle = samples_per_cycle
        self.depth = depth
        self.key_width = key_width
        self.stamped = stamped
        self.lost_width = lost_width
        self._entry = entry_layout(key_width, stamped=stamped, lost_width=lost_width)
        ports = {"time": In(TIME_WIDTH)} if stamped else {
            "gen": In(1), "gen_writes": Out(2), "gen_pending": Out(2)}
        super().__init__({
            "samples":     In(samples_per_cycle),
            **ports,
            "local":       In(key_width),
            "config":      In(ChannelConfig),
            "events":      Out(stream.Signature(self._entry)),
            "event_count": Out(counter_width),
            "lost_count":  Out(counter_width),
            # high in each cycle the counter above advances (for counters kept elsewhere)
            "event_inc":   Out(1),
            "lost_inc":    Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.samples_per_cycle
        cfg = self.config

        # Stage 0: register the inputs and remember the previous word's last sample.
        s0_samples = Signal(n)
        s0_last    = Signal()
        s0_time    = Signal(TIME_WIDTH if self.stamped else 1)    # the time, or its generation
        s0_local   = Signal(self.key_width)
        m.d.sync += [
            s0_samples.eq(self.samples),
            s0_last.eq(s0_samples[-1]),
            s0_time.eq(self.time if self.stamped else self.gen),
            s0_local.eq(self.local),
        ]

        # Stage 1: find the earliest wanted edge outside the dead time.
        previous = Cat(s0_last, s0_samples[:-1])
        rising   = s0_samples & ~previous
        falling  = ~s0_samples & previous
        wanted   = ((rising & cfg.rising.replicate(n)) |
                    (falling & cfg.falling.replicate(n))) & cfg.enable.replicate(n)

        found, first, position = earliest_outside_dead_time(m, wanted, cfg.dead_time, n)

        s1_valid    = Signal()
        s1_position = Signal(range(n))
        s1_kind     = Signal(EventKind)
        s1_time     = Signal.like(s0_time)
        s1_local    = Signal(self.key_width)
        m.d.sync += [
            s1_valid.eq(found),
            s1_position.eq(position),
            s1_kind.eq(Mux((falling & first).any(), EventKind.FALLING, EventKind.RISING)),
            s1_time.eq(s0_time),
            s1_local.eq(s0_local),
        ]
        m.d.comb += self.event_inc.eq(found)
        with m.If(found):
            m.d.sync += self.event_count.eq(self.event_count + 1)

        # Stage 2: apply the delay. (Stamped: three-operand sums, one carry
        # chain each, not two in a row: a large FPGA's fast clock needs that.)
        delay = Signal.like(cfg.delay)
        s2_valid = Signal()
        s2_entry = Signal(self._entry)
        m.d.sync += [s2_valid.eq(s1_valid), s2_entry.kind.eq(s1_kind)]
        if self.stamped:
            m.d.sync += [
                s2_entry.key.eq(add3(s1_local, s1_position, delay, self.key_width)),
                s2_entry.timestamp.eq(add3(s1_time, s1_position, delay, TIME_WIDTH)),
            ]
        else:
            m.d.sync += [
                s2_entry.key.eq(s1_local + (s1_position + delay)),
                s2_entry.gen.eq(s1_time),
            ]

        # Stage 3: queue, with loss accounting when the queue is full.
        queue = m.submodules.queue = BufferedFIFO(width=self._entry.size, depth=self.depth)
        pending = Signal(self.lost_width)           # events lost since the last marker
        pending_first = Signal(self._entry)         # the first of them
        pending_any = Signal()                      # pending != 0, as a register
        lost_max = 2 ** self.lost_width - 1

        marker = Signal(self._entry)
        m.d.comb += [
            marker.eq(pending_first),
            marker.kind.eq(EventKind.OVERFLOW),
            marker.lost.eq(Mux(s2_valid & (pending != lost_max), pending + 1, pending)),
        ]
        m.d.comb += self.lost_inc.eq(s2_valid & (~queue.w_rdy | pending_any))
        with m.If(self.lost_inc):
            m.d.sync += self.lost_count.eq(self.lost_count + 1)
        # A marker waits until the queue has drained to half full, taking in
        # every loss until then: under overload each marker then stands for
        # a run of losses, not one, and half a queue of events follows it.
        # (As of the previous cycle, so that no level arithmetic precedes the
        # write: the queue then holds at most one entry more, and has room.)
        room_for_marker = Signal()
        m.d.sync += room_for_marker.eq(queue.w_level <= self.depth // 2)
        with m.If(pending_any):
            with m.If(room_for_marker):
                m.d.comb += [queue.w_en.eq(1), queue.w_data.eq(marker)]
                m.d.sync += [pending.eq(0), pending_any.eq(0)]
            with m.Elif(s2_valid & (pending != lost_max)):
                m.d.sync += pending.eq(pending + 1)
        with m.Elif(s2_valid):
            with m.If(queue.w_rdy):
                m.d.comb += [queue.w_en.eq(1), queue.w_data.eq(s2_entry)]
            with m.Else():
                m.d.sync += [pending.eq(1), pending_any.eq(1), pending_first.eq(s2_entry)]

        # A lower delay is taken at the first pause of (old - new) ticks in the
        # channel's events: then every later key is past every queued one.
        # `gap` is the ticks from the newest event to the next word's start;
        # `since` keeps it, saturating at 2**16 (more than any delay step), so
        # it never wraps and the compare below is 17 bits wide, not a key's.
        longest = 2 ** len(cfg.delay)
        since = Signal(range(longest + 1), init=longest)
        gap = Signal(range(longest + n + 1))
        m.d.comb += gap.eq(Mux(s1_valid, n - s1_position, since + n))
        m.d.sync += since.eq(Mux(gap >= longest, longest, gap))
        paused = gap >= delay - cfg.delay
        with m.If((cfg.delay >= delay) | paused):
            m.d.sync += delay.eq(cfg.delay)

        if not self.stamped:
            written = self._entry(queue.w_data)
            m.d.comb += [
                self.gen_writes.eq(Cat(queue.w_en & ~written.gen, queue.w_en & written.gen)),
                self.gen_pending.eq(Cat(pending_any & ~pending_first.gen, pending_any & pending_first.gen)),
            ]
        m.d.comb += [
            self.events.valid.eq(queue.r_rdy),
            self.events.payload.eq(queue.r_data),
            queue.r_en.eq(self.events.ready),
        ]
        return m
