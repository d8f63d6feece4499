"""The output sequencer: timestamped events played at their fine tick."""

from amaranth.hdl import Module, Mux, Signal, Cat, Const, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from qnu.wire import MAX_PULSE_WIDTH
from ..bramfifo import BufferedFIFO
from ..timing.event import TIME_WIDTH
from .waveform import LEAD_CYCLES, LevelAndPulse

__all__ = ["Sequencer", "SEQUENCER_EVENT"]

SEQUENCER_EVENT = data.StructLayout({
    "time":   TIME_WIDTH,
    "output": 4,
    "action": 2,
    "width":  range(MAX_PULSE_WIDTH + 1),
})


class Sequencer(wiring.Component):
    """Output events queued per output, each played at its tick.

    ``push`` takes an event into its output's queue (``depth`` entries, in
    block RAM) while that has room; ``free`` says how many more each takes.
    Each queue holds its output's events in time order (the host sorts
    them), like an ARTIQ SED lane: outputs never wait for each other, so
    events on different outputs at the same tick all play, and one output
    takes an event every cycle. The head of each queue is compared in every
    cycle with the planned span ``[now + LEAD, now + LEAD + N)``: inside it,
    it plays at its sample; before it, it is late; either way it leaves.

    A late event (queued too late, a second event on one output within one
    cycle, or a time load or step past it) is not played: it is counted in
    ``late_count``, and the first one since ``clear_late`` is latched in
    ``first_late`` (its output and time, and how many ticks late it was).
    ``played_count`` counts events played (the counters and the latch move a
    cycle after the decision). Events queued across a time load
    or step keep their absolute ticks: ahead of the new time they wait,
    behind it they are late; none plays twice. An event pushed in cycle
    ``p`` into an empty queue is first compared in cycle ``p + 4``: the
    queue's write, its block RAM's read register, then two registers in the
    fabric, `next` and the head. The head's comparison is computed a cycle
    ahead, from `next` or the head, so that it never starts at the block
    RAM's output (5.6 ns on an ECP5 at speed grade 6) nor at a shared
    planned-span register across the chip.
    """

    QUEUE_LATENCY_CYCLES = 4

    def __init__(self, outputs, samples_per_cycle, depth=512):
        if not 1 <= outputs <= 16:
            raise ValueError("the sequencer drives 1 to 16 outputs")
        if samples_per_cycle & (samples_per_cycle - 1) or depth < 4:
            raise ValueError("the sequencer takes a power of two samples per cycle and a depth of at least 4")
        self.outputs, self.samples_per_cycle, self.depth = outputs, samples_per_cycle, depth
        self.lead = LEAD_CYCLES * samples_per_cycle
        super().__init__({
            "now":          In(TIME_WIDTH),
            "push":         In(stream.Signature(SEQUENCER_EVENT)),
            "free":         Out(data.ArrayLayout(range(depth + 1), outputs)),
            "samples":      Out(data.ArrayLayout(samples_per_cycle, outputs)),
            "played_count": Out(32),
            "late_count":   Out(32),
            "clear_late":   In(1),
            "first_late":   Out(data.StructLayout({"valid": 1, "output": 4, "time": TIME_WIDTH, "late_by": 32})),
        })

    def elaborate(self, platform):
        m = Module()
        n, k = self.samples_per_cycle, self.outputs
        shift = n.bit_length() - 1          # n is a power of two: ticks >> shift count cycles
        queued = data.StructLayout({"time": TIME_WIDTH, "action": 2, "width": range(MAX_PULSE_WIDTH + 1)})
        push = self.push.payload

        lates, fires, late_info = [], [], []
        for lane in range(k):
            # the queue holds depth - 2 entries, `next` and the head one each
            fifo = m.submodules[f"queue{lane}"] = BufferedFIFO(width=queued.size, depth=self.depth - 2)
            following = Signal(queued, name=f"next{lane}")
            following_valid = Signal(name=f"next_valid{lane}")
            head = Signal(queued, name=f"head{lane}")
            head_valid = Signal(name=f"head_valid{lane}")
            mine = push.output == lane
            m.d.comb += [
                fifo.w_data.eq(Cat(push.time, push.action, push.width)),
                fifo.w_en.eq(self.push.valid & mine),
                self.free[lane].eq(self.depth - fifo.level - head_valid - following_valid),
            ]
            with m.If(mine):
                m.d.comb += self.push.ready.eq(fifo.w_rdy)

            # the head's tick against this cycle's planned span, registered: in
            # the cycle before, from `now` and the head of the next cycle (which
            # is `next` if the head leaves). Both come from flip-flops in the
            # fabric, not from the block RAM (5.6 ns to its output), and the
            # subtraction of two operands and a constant is one carry chain.
            diff = Signal(signed(TIME_WIDTH + 2), name=f"diff{lane}")     # head.time - plan
            late, fire = Signal(name=f"late{lane}"), Signal(name=f"fire{lane}")
            advance = Signal(name=f"advance{lane}")     # the head takes `next`
            m.d.comb += [
                late.eq(head_valid & diff[-1]),
                fire.eq(head_valid & (diff[shift:] == 0)),      # 0 <= diff < n
                advance.eq(~head_valid | late | fire),
                fifo.r_en.eq(~following_valid | advance),
            ]
            coming = Mux(advance, following.time, head.time)
            m.d.sync += diff.eq(coming - self.now - (self.lead + n))
            with m.If(advance):
                m.d.sync += [head.eq(following), head_valid.eq(following_valid)]
            with m.If(fifo.r_en):
                m.d.sync += [following.eq(fifo.r_data), following_valid.eq(fifo.r_rdy)]

            # the decision, registered: the waveform logic starts from flip-flops
            wave = m.submodules[f"wave{lane}"] = LevelAndPulse(n)
            m.d.sync += [wave.fire.eq(fire), wave.offset.eq(diff[:max(1, (n - 1).bit_length())]),
                         wave.action.eq(head.action), wave.width.eq(head.width)]
            m.d.sync += self.samples[lane].eq(wave.samples)
            # what the counters and the first-late latch need, registered
            late_r, fire_r = Signal(name=f"late_r{lane}"), Signal(name=f"fire_r{lane}")
            time_r = Signal(TIME_WIDTH, name=f"time_r{lane}")
            late_by = Signal(TIME_WIDTH, name=f"late_by{lane}")
            m.d.sync += [late_r.eq(late), fire_r.eq(fire), time_r.eq(head.time), late_by.eq(-diff)]
            lates.append(late_r)
            fires.append(fire_r)
            late_info.append((late_r, lane, time_r, late_by))

        # an output the node does not have (the engine refuses it): taken and
        # counted late, never wedged on
        stray = Signal()                # (registered, as the lanes' lates are)
        stray_output, stray_time = Signal(4), Signal(TIME_WIDTH)
        m.d.sync += [stray.eq(self.push.valid & (push.output >= k)), stray_output.eq(push.output),
                     stray_time.eq(push.time)]
        with m.If(push.output >= k):
            m.d.comb += self.push.ready.eq(1)

        def popcount(bits):
            return sum((b.as_unsigned() for b in bits), Const(0, range(len(bits) + 1)))
        m.d.sync += [
            self.played_count.eq(self.played_count + popcount(fires)),
            self.late_count.eq(self.late_count + popcount(lates + [stray])),
        ]
        first = self.first_late
        with m.If(self.clear_late):
            m.d.sync += first.valid.eq(0)
        with m.Elif(~first.valid):
            with m.If(stray):
                m.d.sync += [first.valid.eq(1), first.output.eq(stray_output), first.time.eq(stray_time),
                             first.late_by.eq(0)]
            # the lowest output wins among events late in one cycle
            for late, lane, time, late_by in reversed(late_info):
                with m.If(late):
                    m.d.sync += [first.valid.eq(1), first.output.eq(lane), first.time.eq(time),
                                 first.late_by.eq(Mux(late_by[32:].any(), 0xFFFF_FFFF, late_by[:32]))]
        return m
