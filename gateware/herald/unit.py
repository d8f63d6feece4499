"""The herald unit: windows after each attempt's reference, the detectors'
click pattern in them, a decision table, and the herald it raises."""

from amaranth.hdl import Module, Signal, Mux, Cat, Const, signed
from amaranth.lib import data, wiring, stream
from amaranth.lib.wiring import In, Out

from qnu.herald import (Outcome, MAX_DETECTORS, MAX_WINDOWS, TABLE_ENTRIES, FIXED_DETECTOR_CHANNELS,
                        FIXED_REFERENCE_CHANNEL)
from qnu.wire import MAX_PULSE_WIDTH
from ..timing.event import TIME_WIDTH, ChannelConfig
from ..timing.edges import earliest_outside_dead_time
from ..outputs.waveform import LEAD_CYCLES, PulseGenerator

__all__ = ["HeraldUnit", "HERALD_CONFIG", "herald_record_layout", "LATENCY_CYCLES", "OFFSET_WIDTH",
           "CLICK_WIDTH"]

#: cycles from the core cycle whose sample word holds a window's last tick to
#: the cycle the herald's word is at the node's ``triggers`` port
LATENCY_CYCLES = 2
OFFSET_WIDTH = 24       # window offsets and widths, ticks
CLICK_WIDTH = 24        # a click's time after the reference in a record, ticks

#: the unit's settings (register fields: see qnu.regmap)
HERALD_CONFIG = data.StructLayout({
    "enable":        1,
    "input_ref":     1,             # the reference is an input edge, not the attempt loop's start
    "ref_channel":   6,
    "windows":       2,             # 1 or 2
    "multi_outcome": 2,             # an Outcome
    "record":        4,             # outcomes recorded in the event stream (bit = Outcome)
    "detectors":     data.ArrayLayout(data.StructLayout({"channel": 6, "enable": 1}), MAX_DETECTORS),
    "window":        data.ArrayLayout(data.StructLayout({"offset": OFFSET_WIDTH, "width": OFFSET_WIDTH}),
                                      MAX_WINDOWS),
    "success_output": 4,
    "state_output":   4,
    "width":         range(MAX_PULSE_WIDTH + 1),
})


def herald_record_layout():
    """One decided attempt, for the event stream: the reference tick (after
    its delay), the attempt's number, its outcome and pattern, and each
    pattern bit's first click, in ticks after the reference (delay applied)."""
    return data.StructLayout({
        "reference": TIME_WIDTH,
        "attempt":   32,
        "outcome":   2,
        "multi":     1,
        "pattern":   MAX_DETECTORS * MAX_WINDOWS,
        "clicks":    data.ArrayLayout(CLICK_WIDTH, MAX_DETECTORS * MAX_WINDOWS),
    })


class HeraldUnit(wiring.Component):
    """Heralds entanglement attempts from detector clicks (docs/herald.md).

    Each attempt starts at a *reference*: the attempt loop's start tick
    (``attempt`` and ``attempt_offset``, as the loop plans them,
    ``LEAD_CYCLES`` ahead), or an accepted rising edge of channel
    ``ref_channel``. Window ``w`` covers ``[R + offset, R + offset + width)``
    of each detector's click times, ``R`` being the reference's tick; every
    time is after its channel's delay. A click is an accepted rising edge of
    the detector's channel as its tagger settings define it (edge kinds,
    dead time), tagged or not.

    The unit works on the raw sample words (each detector's delay moves its
    windows, not its clicks), so its decision comes in the cycle whose word
    holds the last tick any window covers, and the herald's word is at
    ``herald`` for the output multiplexer in the next: ``LATENCY_CYCLES`` at
    ``triggers`` (one more with ``decision_stage``: ``latency_cycles``). A
    reference arriving while an attempt is undecided is ignored and counted
    (``overlap``). A window must open at or after its
    reference on every detector (``INPUT_REFERENCE_LEAD_CYCLES`` cycles'
    worth of ticks after it for an input reference): earlier clicks are not
    seen.
    """

    def __init__(self, *, channels, samples_per_cycle, outputs, fixed_channels=False, decision_stage=False,
                 split_table=False):
        self.channels, self.samples_per_cycle, self.outputs = channels, samples_per_cycle, outputs
        # the bit tables' row picked by the pattern's high half in the closing cycle, the entry
        # by its low half in the next: the decision path is a 16:1 multiplexer, not 256:1, at no
        # cost in latency (the closing cycle's path grows by the 16:1 row multiplexer instead)
        self.split_table = split_table
        # a register between the decision table and the pulses: one more cycle of latency, for a
        # board whose routing does not reach from the final pattern to the output words in one
        self.decision_stage = decision_stage
        self.latency_cycles = LATENCY_CYCLES + decision_stage
        # detectors on inputs 0..3 and the reference on input 4, whatever the settings' channel fields say
        self.fixed_channels = fixed_channels
        if fixed_channels and channels <= FIXED_REFERENCE_CHANNEL:
            raise ValueError(f"fixed herald channels need at least {FIXED_REFERENCE_CHANNEL + 1} inputs")
        n = samples_per_cycle
        super().__init__({
            "now":            In(TIME_WIDTH),
            "samples":        In(data.ArrayLayout(n, channels)),
            "channel_config": In(data.ArrayLayout(ChannelConfig, channels)),
            "config":         In(HERALD_CONFIG),
            "table":          In(2 * TABLE_ENTRIES),
            "clear":          In(1),        # a new configuration: attempt numbers start again
            "attempt":        In(1),
            "attempt_offset": In(range(n)),
            "herald":         Out(data.ArrayLayout(n, outputs)),
            "success":        Out(1),       # an attempt was heralded (psi+ or psi-), this cycle
            "decided":        Out(4),       # one-hot, by Outcome: an attempt was decided the cycle before
            "reference_inc":  Out(1),       # a reference started an attempt
            "overlap_inc":    Out(1),       # a reference came while an attempt was undecided
            "record_lost_inc": Out(1),      # a record the event stream had no room for
            "busy":           Out(1),
            "records":        Out(stream.Signature(herald_record_layout())),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.samples_per_cycle
        shift = n.bit_length() - 1      # n is a power of two
        cfg = self.config
        pairs = [(w, d) for w in range(MAX_WINDOWS) for d in range(MAX_DETECTORS)]

        # --- each detector's clicks: the channel's edge rules and dead time ---
        def accepted_rising(channel, fixed):   # (channel: a register field; fixed: the input if fixed)
            word = Signal(n, name="selected_word")
            ccfg = Signal(ChannelConfig)
            if self.fixed_channels:
                m.d.comb += [word.eq(self.samples[fixed]), ccfg.eq(self.channel_config[fixed])]
            else:
                with m.Switch(channel):
                    for c in range(self.channels):
                        with m.Case(c):
                            m.d.comb += [word.eq(self.samples[c]), ccfg.eq(self.channel_config[c])]
            last = Signal()
            m.d.sync += last.eq(word[-1])
            previous = Cat(last, word[:-1])
            rising, falling = word & ~previous, ~word & previous
            wanted = (rising & ccfg.rising.replicate(n)) | (falling & ccfg.falling.replicate(n))
            found, first, position = earliest_outside_dead_time(m, wanted, ccfg.dead_time, n)
            return first & rising, position, ccfg.delay

        clicks, positions, delays = [], [], []
        for d in range(MAX_DETECTORS):
            det = cfg.detectors[d]
            click, position, delay = accepted_rising(det.channel, FIXED_DETECTOR_CHANNELS[d])
            clicks.append(Mux(det.enable, click, 0))
            positions.append(position)
            delays.append(delay)
        ref_click, ref_position, ref_delay = accepted_rising(cfg.ref_channel, FIXED_REFERENCE_CHANNEL)

        # --- window bounds in raw ticks after the raw reference, per detector (registered) ---
        wide = signed(OFFSET_WIDTH + 3)
        ref_delay_used = Mux(cfg.input_ref, ref_delay, 0)
        lo_bound = [[Signal(wide, name=f"lo_bound{w}_{d}") for d in range(MAX_DETECTORS)] for w in range(MAX_WINDOWS)]
        hi_bound = [[Signal(wide, name=f"hi_bound{w}_{d}") for d in range(MAX_DETECTORS)] for w in range(MAX_WINDOWS)]
        skew = [Signal(signed(18), name=f"skew{d}") for d in range(MAX_DETECTORS)]
        for w in range(MAX_WINDOWS):
            win = cfg.window[w]
            for d in range(MAX_DETECTORS):
                base = win.offset + ref_delay_used - delays[d]
                m.d.sync += [lo_bound[w][d].eq(base), hi_bound[w][d].eq(base + win.width - 1)]
        for d in range(MAX_DETECTORS):
            m.d.sync += skew[d].eq(delays[d] - ref_delay_used)
        active = [[Signal(name=f"active{w}_{d}") for d in range(MAX_DETECTORS)] for w in range(MAX_WINDOWS)]
        for w, d in pairs:
            m.d.sync += active[w][d].eq(cfg.detectors[d].enable & (cfg.windows > w))

        # --- references: the loop's, moved to the cycle before its start's word; or an input's ---
        planned, planned_offset = self.attempt, self.attempt_offset
        for i in range(LEAD_CYCLES - 1):
            p, o = Signal(name=f"planned{i}"), Signal(range(n), name=f"planned_offset{i}")
            m.d.sync += [p.eq(planned), o.eq(planned_offset)]
            planned, planned_offset = p, o
        # An input reference acts in the cycle after its word (``pending``):
        # its edge logic ends at a register, not at the enables of every
        # register of the attempt. Whether it starts an attempt is judged in
        # its own word's cycle, as if it had acted there (``ready``).
        pending = Signal()
        pending_delta = Signal(signed(shift + 2))
        ready = Signal()
        reference = Signal()
        delta = Signal(signed(shift + 2))       # reference tick - the next word's first tick
        ref_seen = cfg.enable & cfg.input_ref & ref_click.any()
        m.d.sync += [pending.eq(ref_seen & ready & ~self.clear), pending_delta.eq(ref_position - 2 * n)]
        with m.If(cfg.input_ref):
            m.d.comb += [reference.eq(pending), delta.eq(pending_delta)]
        with m.Else():
            m.d.comb += [reference.eq(cfg.enable & planned), delta.eq(planned_offset)]

        # --- the open attempt: ticks from this word's first tick to each bound ---
        lo_left = [[Signal(wide, name=f"lo_left{w}_{d}") for d in range(MAX_DETECTORS)] for w in range(MAX_WINDOWS)]
        hi_left = [[Signal(wide, name=f"hi_left{w}_{d}") for d in range(MAX_DETECTORS)] for w in range(MAX_WINDOWS)]
        elapsed = [Signal(signed(CLICK_WIDTH + 2), name=f"elapsed{d}") for d in range(MAX_DETECTORS)]

        def small(x):           # 0 <= x < n, with no carry chain
            return ~x[-1] & (x[shift:] == 0)

        def up_to(x, i, strict):    # tick x of this word is before sample i (or at it, unless strict)
            low = x[:shift] < i if strict else x[:shift] <= i
            return x[-1] | (small(x) & low) if shift else x[-1] | (Const(0) if strict else x == 0)

        in_window = {}
        for w, d in pairs:
            lo, hi = lo_left[w][d], hi_left[w][d]       # (hi: the window's last tick)
            mask = Cat(up_to(lo, i, strict=False) & ~up_to(hi, i, strict=True) for i in range(n))
            in_window[w, d] = Signal(n, name=f"in_window{w}_{d}")
            m.d.comb += in_window[w, d].eq(mask)

        def closes(his):        # with these last ticks, every window's is in this word or behind, one here
            past = [~active[w][d] | h[-1] | small(h) for (w, d), h in zip(pairs, his)]
            ends_here = [active[w][d] & small(h) for (w, d), h in zip(pairs, his)]
            return Cat(*past).all() & Cat(*ends_here).any()

        # `closing` is known a cycle ahead, from the bounds' next values (whether a reference
        # is accepted or not): it then starts no long path to the attempt's registers
        closing_next = Signal()
        closing = Signal()
        m.d.comb += closing.eq(self.busy & closing_next)

        pattern = Signal(len(pairs))
        multi = Signal()
        # each pattern bit's first click: the elapsed ticks at its word and its sample, added up
        # only for the record (an adder after the dead-time logic is a long path)
        first_elapsed = Signal(data.ArrayLayout(CLICK_WIDTH, len(pairs)))
        first_position = Signal(data.ArrayLayout(shift or 1, len(pairs)))
        hits = Signal(len(pairs))
        for i, (w, d) in enumerate(pairs):
            m.d.comb += hits[i].eq(self.busy & active[w][d] & (clicks[d] & in_window[w, d]).any())

        reference_time = Signal(TIME_WIDTH)
        attempt = Signal(32)                    # the next attempt's number
        accept = Signal()
        with m.If(cfg.input_ref):
            m.d.comb += [accept.eq(pending & cfg.enable), self.overlap_inc.eq(ref_seen & ~ready)]
        with m.Else():
            m.d.comb += [accept.eq(reference & (~self.busy | closing)),
                         self.overlap_inc.eq(reference & self.busy & ~closing)]
        m.d.comb += [ready.eq(~(self.busy | accept) | closing), self.reference_inc.eq(accept)]

        # the decided attempt, for the cycle after: the final pattern and its clicks
        decided = Signal()
        final = Signal(herald_record_layout())
        final_elapsed = Signal.like(first_elapsed)
        final_position = Signal.like(first_position)
        m.d.sync += decided.eq(closing)
        with m.If(closing):
            m.d.sync += [final.pattern.eq(pattern | hits),
                         final.multi.eq(multi | (hits & pattern).any()),
                         final.reference.eq(reference_time), final.attempt.eq(attempt - 1)]
            for i, (w, d) in enumerate(pairs):
                m.d.sync += [final_elapsed[i].eq(Mux(pattern[i], first_elapsed[i], elapsed[d])),
                             final_position[i].eq(Mux(pattern[i], first_position[i], positions[d]))]

        counting_down = [hi_left[w][d] - n for w, d in pairs]
        starting = [hi_bound[w][d] + delta for w, d in pairs]
        m.d.sync += closing_next.eq(Mux(accept, closes(starting), closes(counting_down)))

        with m.If(accept):
            m.d.sync += [self.busy.eq(1), pattern.eq(0), multi.eq(0), attempt.eq(attempt + 1),
                         reference_time.eq(self.now + n + delta + ref_delay_used)]
            for w, d in pairs:
                m.d.sync += [lo_left[w][d].eq(lo_bound[w][d] + delta), hi_left[w][d].eq(hi_bound[w][d] + delta)]
            for d in range(MAX_DETECTORS):
                m.d.sync += elapsed[d].eq(skew[d] - delta)
        with m.Else():
            with m.If(closing):
                m.d.sync += self.busy.eq(0)
            with m.If(self.busy):
                m.d.sync += [pattern.eq(pattern | hits), multi.eq(multi | (hits & pattern).any())]
                for i, (w, d) in enumerate(pairs):
                    with m.If(hits[i] & ~pattern[i]):
                        m.d.sync += [first_elapsed[i].eq(elapsed[d]), first_position[i].eq(positions[d])]
            for w, d in pairs:
                m.d.sync += [lo_left[w][d].eq(lo_left[w][d] - n), hi_left[w][d].eq(hi_left[w][d] - n)]
            for d in range(MAX_DETECTORS):
                m.d.sync += elapsed[d].eq(elapsed[d] + n)
        with m.If(~cfg.enable | self.clear):
            m.d.sync += self.busy.eq(0)
        with m.If(self.clear):
            m.d.sync += attempt.eq(0)

        # --- the decision, the cycle after the last window's last word ---
        outcome = Signal(2)
        m.d.comb += outcome.eq(Mux(final.multi, cfg.multi_outcome, self.table.word_select(final.pattern, 2)))
        m.d.sync += self.decided.eq(Mux(decided, 1 << outcome, 0))     # (for the counters: a cycle later)
        # The pulses fire from one bit per table entry, not from the 2-bit outcome: the bit
        # tables follow the settings a cycle behind (they are static while attempts run), so
        # the path from the final pattern to the output word is one 256:1 multiplexer deep.
        heralds, minus = Signal(TABLE_ENTRIES), Signal(TABLE_ENTRIES)
        multi_heralds, multi_minus = Signal(), Signal()
        for i in range(TABLE_ENTRIES):
            entry = self.table.word_select(i, 2)
            m.d.sync += [heralds[i].eq((entry == Outcome.PSI_PLUS) | (entry == Outcome.PSI_MINUS)),
                         minus[i].eq(entry == Outcome.PSI_MINUS)]
        m.d.sync += [multi_heralds.eq((cfg.multi_outcome == Outcome.PSI_PLUS) |
                                      (cfg.multi_outcome == Outcome.PSI_MINUS)),
                     multi_minus.eq(cfg.multi_outcome == Outcome.PSI_MINUS)]
        if self.split_table:
            low = len(pairs) // 2
            row_heralds, row_minus = Signal(1 << low), Signal(1 << low)
            with m.If(closing):
                m.d.sync += [row_heralds.eq(heralds.word_select((pattern | hits)[low:], 1 << low)),
                             row_minus.eq(minus.word_select((pattern | hits)[low:], 1 << low))]
            heralded = row_heralds.bit_select(final.pattern[:low], 1)
            minused = row_minus.bit_select(final.pattern[:low], 1)
        else:
            heralded, minused = heralds.bit_select(final.pattern, 1), minus.bit_select(final.pattern, 1)
        success = decided & Mux(final.multi, multi_heralds, heralded)
        state = decided & Mux(final.multi, multi_minus, minused)
        if self.decision_stage:
            staged = Signal(2)
            m.d.sync += staged.eq(Cat(success, state))
            success, state = staged
        m.d.comb += self.success.eq(success)
        lines = []
        for name, fire in (("success", success), ("state", state)):
            gen = m.submodules[f"{name}_pulse"] = PulseGenerator(n)
            m.d.comb += [gen.fire.eq(fire), gen.offset.eq(0), gen.width.eq(cfg.width)]
            lines.append(gen.samples)
        on_success, on_state = Signal(self.outputs), Signal(self.outputs)     # (one-hot, registered)
        for k in range(self.outputs):
            m.d.sync += [on_success[k].eq(cfg.success_output == k), on_state[k].eq(cfg.state_output == k)]
            m.d.comb += self.herald[k].eq(Mux(on_success[k], lines[0], 0) | Mux(on_state[k], lines[1], 0))

        # --- the record: made the cycle after the decision, then held until the event stream takes it ---
        made = Signal(herald_record_layout())
        made_valid = Signal()
        m.d.sync += made_valid.eq(decided)
        with m.If(decided):
            m.d.sync += [made.eq(final), made.outcome.eq(outcome)]
            for i in range(len(pairs)):     # (clicks not in the pattern read 0)
                m.d.sync += made.clicks[i].eq(Mux(final.pattern[i], final_elapsed[i] + final_position[i], 0))
        records = self.records
        with m.If(records.ready):
            m.d.sync += records.valid.eq(0)
        wanted = made_valid & cfg.record.bit_select(made.outcome, 1)
        m.d.comb += self.record_lost_inc.eq(wanted & records.valid & ~records.ready)
        with m.If(wanted & ~self.record_lost_inc):
            m.d.sync += [records.valid.eq(1), records.payload.eq(made)]
        return m
