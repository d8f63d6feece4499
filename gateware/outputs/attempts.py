"""The attempt loop: a pattern of pulses replayed every period until a count,
the host, or a herald stops it."""

from amaranth.hdl import Module, Signal, Mux, Cat, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from qnu.regmap import AttemptState, StopReason
from qnu.wire import MAX_PULSE_WIDTH
from ..timing.event import TIME_WIDTH
from .waveform import LEAD_CYCLES, PulseGenerator

__all__ = ["AttemptLoop", "PATTERN_ENTRY", "AttemptState", "StopReason"]

#: one pulse of the pattern: on ``output``, ``offset`` ticks after the start of
#: each attempt (or, ``on_success``, after the loop stopped on its stop input)
PATTERN_ENTRY = data.StructLayout({
    "offset":     32,
    "output":     4,
    "width":      range(MAX_PULSE_WIDTH + 1),
    "enable":     1,
    "on_success": 1,
})


class AttemptLoop(wiring.Component):
    """Attempts every ``period`` ticks from ``start_time``, ``count`` of them
    (0: until stopped), each firing the pattern's enabled entries.

    Attempt starts are planned ``LEAD_CYCLES`` ahead on the timebase, like
    the sequencer's events: the first attempt starts at tick ``start_time``
    exactly; later ones follow at ``period`` ticks on the free-running count,
    so a time load or step during a run does not move them. A start time
    already past when ``start`` comes stops the loop at once (reason
    LATE_START, nothing played); a start during a run starts afresh, and
    pulses of the run not yet played are dropped (counted in ``attempts``
    only as the attempts they belonged to). ``period`` must be at least N ticks and
    every enabled entry end within it (``pattern_fits``; the node refuses a
    start otherwise).

    Stop input: a rising edge of channel ``stop_channel``'s samples (raw,
    before delay and dead time) in cycle ``c`` stops the loop in cycle
    ``c + 1``: no attempt starts from that cycle's planned span on (which
    starts ``(1 + LEAD_CYCLES) * N`` ticks after cycle ``c``'s first sample), attempts
    already started finish their pattern, and the on-success entries fire
    ``offset`` ticks after the start of that span. ``stop_latency_ticks``
    bounds it: an attempt that would start at least that many ticks after
    the edge does not.
    """

    def __init__(self, outputs, channels, samples_per_cycle, entries=12):
        self.outputs, self.channels, self.samples_per_cycle = outputs, channels, samples_per_cycle
        self.entries = entries
        n = samples_per_cycle
        self.lead = LEAD_CYCLES * n
        super().__init__({
            "now":          In(TIME_WIDTH),
            "start":        In(1),
            "stop":         In(1),
            "start_time":   In(TIME_WIDTH),
            "period":       In(32),
            "count":        In(32),
            "pattern":      In(data.ArrayLayout(PATTERN_ENTRY, entries)),
            "pattern_fits": Out(1),
            "stop_enable":  In(1),
            "stop_channel": In(range(max(2, channels))),
            "herald":       In(1),
            "herald_stops": In(1),
            "inputs":       In(data.ArrayLayout(n, channels)),
            "samples":      Out(data.ArrayLayout(n, outputs)),
            "state":        Out(2),         # an AttemptState
            "reason":       Out(3),         # a StopReason
            "attempts":     Out(32),        # started since the last start
            "attempt":      Out(1),         # an attempt starts in this cycle's planned span ...
            "attempt_offset": Out(range(n)),  # ... at this sample
        })

    @staticmethod
    def stop_latency_ticks(samples_per_cycle):
        """The longest delay from a stop edge to the first attempt start it prevents."""
        return (1 + LEAD_CYCLES) * samples_per_cycle

    def elaborate(self, platform):
        m = Module()
        n = self.samples_per_cycle
        lg = max(1, (n - 1).bit_length())
        # n is a power of two: `0 <= x < n` is `x >> shift == 0`, a few LUTs and no carry chain
        shift = n.bit_length() - 1

        # the pattern fits the period: checked each cycle, registered
        fits = [~e.enable | e.on_success | (e.offset + e.width <= self.period) for e in self.pattern]
        m.d.sync += self.pattern_fits.eq(Cat(*fits).all() & (self.period >= n))

        # the stop input: a rising edge anywhere in the word (the previous
        # word's last sample before bit 0), registered
        word = self.inputs[self.stop_channel]
        last = Signal()
        m.d.sync += last.eq(word[-1])
        rising = Cat(word[i] & ~(word[i - 1] if i else last) for i in range(n)).any()
        edge = Signal()
        m.d.sync += edge.eq(rising & self.stop_enable)
        herald = Signal()
        m.d.sync += herald.eq(self.herald & self.herald_stops)

        # Every decision below starts from a flip-flop: the sign of a register
        # computed a cycle ahead, never a comparison of a wide value in the cycle.
        # `wait`: ticks from the planned span's start to the next attempt, less N:
        # the attempt starts in this span when it is negative, at sample wait % N.
        wait = Signal(signed(34))
        starting = Signal()             # an attempt starts in this span
        succeeded = Signal()            # the stop input stopped the loop in this span
        # the start time against the span planned a cycle later (now + LEAD + N):
        # the 64-bit subtractions end in registers
        first_diff = Signal(TIME_WIDTH + 1)         # start time - plan: late when negative
        first_early = Signal()                      # start time >= plan + N: not in this span
        m.d.sync += [first_diff.eq(self.start_time - (self.now + self.lead + n)),
                     first_early.eq(self.start_time >= self.now + (self.lead + 2 * n))]

        def stop(reason):
            m.d.sync += [self.state.eq(AttemptState.IDLE), self.reason.eq(reason)]

        with m.If(self.start):
            m.d.sync += [self.state.eq(AttemptState.WAITING), self.attempts.eq(0)]
        with m.Elif(self.state != AttemptState.IDLE):
            with m.If(self.stop):
                stop(StopReason.HOST)
            with m.Elif(edge):
                stop(StopReason.INPUT)
                m.d.comb += succeeded.eq(1)
            with m.Elif(herald):
                stop(StopReason.HERALD)
                m.d.comb += succeeded.eq(1)
            with m.Elif(self.state == AttemptState.WAITING):
                with m.If(first_diff[-1]):
                    stop(StopReason.LATE_START)
                with m.Elif(~first_early):
                    m.d.comb += [starting.eq(1), self.attempt_offset.eq(first_diff[:lg])]
                    m.d.sync += [self.state.eq(AttemptState.RUNNING),
                                 wait.eq(first_diff[:32] + self.period - 2 * n)]
            with m.Else():
                with m.If(wait[-1]):
                    # (its sample: wait % N, as wait + N is a multiple of N more)
                    m.d.comb += [starting.eq(1), self.attempt_offset.eq(wait[:lg])]
                    m.d.sync += wait.eq(wait + self.period - n)
                with m.Else():
                    m.d.sync += wait.eq(wait - n)
        m.d.comb += self.attempt.eq(starting)
        with m.If(starting):
            m.d.sync += self.attempts.eq(self.attempts + 1)
            # the count-th attempt is the last: its pattern still plays
            with m.If((self.count != 0) & (self.attempts + 1 == self.count)):
                stop(StopReason.COUNT)

        # each entry fires once per start of its group, offset ticks after it
        words = [0] * self.outputs
        for i, entry in enumerate(self.pattern):
            # ticks from the previous span's start (so that a fresh entry's is
            # its offset from the group start, with no subtraction on the way):
            # it fires in this span when due < 2n, at sample due % n
            due = Signal(33, name=f"due{i}")
            armed = Signal(name=f"armed{i}")
            group_start = Mux(entry.on_success, succeeded, starting)
            base = Mux(entry.on_success, 0, self.attempt_offset)
            fresh = Signal(33, name=f"fresh{i}")
            m.d.comb += fresh.eq(base + entry.offset)
            begin = entry.enable & group_start
            # fresh < n, without the 33-bit sum on the way (base < n): a short path
            in_span = Signal(name=f"in_span{i}")
            low = Signal(lg + 1, name=f"low{i}")
            m.d.comb += [low.eq(base + entry.offset[:lg]),
                         in_span.eq((entry.offset[lg:] == 0) & (low[shift:] == 0))]
            fire_new = begin & in_span
            fire_old = armed & (due[shift + 1:] == 0)
            with m.If(begin & ~fire_new):
                m.d.sync += [armed.eq(1), due.eq(fresh)]
            with m.Elif(fire_old | fire_new):
                m.d.sync += armed.eq(0)
            with m.Elif(armed):
                m.d.sync += due.eq(due - n)
            with m.If(self.start):
                m.d.sync += armed.eq(0)
            # the decision, registered: the pulse logic starts from flip-flops
            gen = m.submodules[f"pulse{i}"] = PulseGenerator(n)
            m.d.sync += [gen.fire.eq(fire_new | fire_old),
                         gen.offset.eq(Mux(fire_new, fresh[:lg], due[:lg])),
                         gen.width.eq(entry.width)]
            for out in range(self.outputs):
                words[out] = words[out] | Mux(entry.output == out, gen.samples, 0)
        for out in range(self.outputs):
            m.d.sync += self.samples[out].eq(words[out])
        return m
