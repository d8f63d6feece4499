"""The node's timebase: a 64-bit fine-tick count and a pulse-per-period output."""

from amaranth.hdl import Module, Signal, Mux, Cat, signed, unsigned
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from qnu.regmap import MIN_PULSE_PERIOD
from qnu.units import SAMPLES_PER_CYCLE_CHOICES
from .event import TIME_WIDTH, add3

__all__ = ["Timebase"]

# The pulse output keeps ``time mod period`` incrementally, so steps smaller
# than a period cost nothing. After a load, a period change or a larger step
# the phase is recomputed by a bit-serial divider (TIME_WIDTH + 2 cycles); a
# pulse due in that window is not produced but counted in ``pulses_missed``.
MIN_PERIOD = MIN_PULSE_PERIOD      # (qnu.regmap: the node refuses a shorter period)


class Timebase(wiring.Component):
    """Time in fine ticks, advancing by ``samples_per_cycle`` each system cycle.

    ``time`` is the count of the sample taken first in the current cycle; the
    sample at position ``k`` of this cycle's word has time ``time + k``.

    ``load`` sets the time to its payload; ``adjust`` adds its signed payload
    to the time the next cycle would otherwise have. Both take effect in the
    next cycle, atomically; ``load`` wins if both are valid.

    ``pulse`` is high for one cycle when a multiple of ``period`` falls in this
    cycle's span ``[time, time + samples_per_cycle)``; ``pulse_offset`` is the
    sample position of that multiple within the cycle (for an output PHY that
    places the edge at fine resolution). ``period`` must be at least
    ``MIN_PERIOD`` fine ticks.

    ``pulses_missed`` counts the pulses not produced while the phase was being
    recomputed after a load, a period change or a step of a period or more
    (a time change during that recomputation restarts it, and the pulse due
    in the abandoned window is not counted: the time it belonged to is gone).

    ``fast_steps=False`` is a small board's timebase: every step recomputes
    the phase, the sums are plain carry chains, and ``pulse`` and
    ``pulse_offset`` are registers (the phase register holds the next
    cycle's phase), so the recomputation window is one cycle longer.
    """

    def __init__(self, samples_per_cycle, default_period, period_width=TIME_WIDTH, fast_steps=True):
        if samples_per_cycle not in SAMPLES_PER_CYCLE_CHOICES:
            raise ValueError(f"samples_per_cycle must be one of {SAMPLES_PER_CYCLE_CHOICES}, not {samples_per_cycle}")
        if default_period < MIN_PERIOD:
            raise ValueError(f"period must be at least {MIN_PERIOD} fine ticks")
        if not fast_steps and samples_per_cycle * (TIME_WIDTH + 4) >= MIN_PERIOD:
            raise ValueError("without fast steps, the divider's window must be shorter than the shortest period")
        if default_period >= 2 ** period_width:
            raise ValueError(f"the default period does not fit in {period_width} bits")
        self.samples_per_cycle = samples_per_cycle
        # the phase logic is this wide: a small board keeps it to 32 bits
        # (periods under 2**32 ticks), the bits above ``period`` are ignored
        self.period_width = period_width
        # without the small-step path (a small board's area), every step
        # recomputes the phase like a load does
        self.fast_steps = fast_steps
        super().__init__({
            "time":         Out(TIME_WIDTH),
            "load":         In(stream.Signature(unsigned(TIME_WIDTH), always_ready=True)),
            "adjust":       In(stream.Signature(signed(TIME_WIDTH), always_ready=True)),
            "period":       In(TIME_WIDTH, init=default_period),
            # (a small board's pulse is a register: time 0, out of reset, is on a boundary)
            "pulse":        Out(1, init=int(not fast_steps)),
            "pulse_offset": Out(range(samples_per_cycle)),
            "pulses_missed": Out(32),
            "pulse_missed":  Out(1),    # high in each cycle pulses_missed advances
        })

    def elaborate(self, platform):
        m = Module()
        n = self.samples_per_cycle
        pw = self.period_width
        # The period in force: the input, one cycle late, so that a change
        # never mixes with the phase of the cycle it arrives in; the constants
        # derived from it are registered with it.
        period_in = self.period[:pw]
        period = Signal(pw, init=self.period.init)
        period_less_n = Signal(pw, init=self.period.init - n)
        period_changed = Signal()
        m.d.sync += period.eq(period_in)
        if self.fast_steps:         # (only the large board's phase logic compares with it)
            m.d.sync += period_less_n.eq(period_in - n)
        m.d.comb += period_changed.eq(period_in != period)

        # time mod period, for the current cycle; meaningful when phase_valid.
        phase       = Signal(pw, init=0 if self.fast_steps else n)    # (small: the next cycle's)
        phase_valid = Signal(init=1)

        # Bit-serial restoring divider computing (dividend mod period).
        div_busy     = Signal()
        div_dividend = Signal(TIME_WIDTH)
        div_rem      = Signal(pw + 1)
        div_count    = Signal(range(TIME_WIDTH + 1))
        div_elapsed  = Signal(range((TIME_WIDTH + 4) * n))    # ticks since the dividend's cycle
        div_summed   = Signal()     # the final sum is in div_rem
        div_rem_zero = Signal()     # the dividend's cycle began on a boundary

        # The dividend is the time of the cycle after the start: the divider's
        # first step reads it from ``time`` (and starts from a zero remainder),
        # so that no wide register waits on the start decision.
        div_first    = Signal()

        # Boundary inside [time, time + n)? (phase + n > period)
        crossing = Signal()
        # Phase of the next cycle when nothing is loaded or stepped.
        wraps = Signal()                    # phase + n >= period
        phase_next = Signal(pw)
        if self.fast_steps:
            # a large board's fast clock: every comparison one carry chain deep
            m.d.comb += [
                crossing.eq((phase == 0) | (phase > period_less_n)),
                wraps.eq(phase >= period_less_n),
                phase_next.eq(Mux(wraps, phase - period_less_n, phase + n)),
            ]
        else:
            # a small board's area: phase + n, then one subtraction of the
            # period, whose sign says whether it wraps (and an equality whether
            # it lands on the boundary), instead of three comparisons
            # The divider's last cycle goes through here too: the phase of the
            # dividend's cycle plus the ticks since, fewer than a period.
            catching_up = div_busy & div_summed
            advanced = Signal(pw + 1)
            beyond = Signal(signed(pw + 2))
            m.d.comb += [
                advanced.eq(phase + Mux(catching_up, div_elapsed, n)),
                beyond.eq(advanced - period),
                wraps.eq(beyond >= 0),
                crossing.eq((phase == 0) | (wraps & (advanced != period))),
                phase_next.eq(Mux(wraps, beyond[:pw], advanced[:pw])),
            ]
        offset = Signal.like(self.pulse_offset)
        if n > 1:       # period - phase < n where it counts: its low bits are all of it
            b = n.bit_length() - 1
            m.d.comb += offset.eq(Mux(phase == 0, 0, period[:b] - phase[:b]))
        if self.fast_steps:
            m.d.comb += [self.pulse.eq(phase_valid & crossing), self.pulse_offset.eq(offset)]
        else:
            # A small board's outputs are registers (its slow fabric has no
            # time for the phase logic and an output PHY in one cycle): the
            # phase register holds the phase of the *next* cycle, and its
            # pulse is registered unless the time or the period changes now.
            unchanged = ~(self.load.valid | self.adjust.valid | period_changed)
            m.d.sync += [self.pulse.eq(phase_valid & crossing & unchanged), self.pulse_offset.eq(offset)]

        def start_divider():
            return [
                div_busy.eq(1),
                div_first.eq(1),
                div_count.eq(TIME_WIDTH),
                # (a small board's phase runs a cycle ahead: one cycle more to catch up)
                div_elapsed.eq(n if self.fast_steps else 2 * n),
                div_summed.eq(0),
                phase_valid.eq(0),
            ]

        adj = self.adjust.payload
        if self.fast_steps:
            small_step, stepped_phase = self._small_step(m, phase, wraps, period, adj)
            # a large board's fast clock: the step is one three-operand sum
            stepped = add3(self.time, adj, n, TIME_WIDTH)
            advanced = self.time + n
        else:
            # a small board's area: one chain advances the time, a second adds
            # the step (zero without one), a logic cell per bit each
            advanced = Signal(TIME_WIDTH)
            m.d.comb += advanced.eq(self.time + n + Mux(self.adjust.valid, adj, 0))
            stepped = advanced
        with m.If(self.load.valid):
            m.d.sync += self.time.eq(self.load.payload)
            m.d.sync += start_divider()
        with m.Elif(self.adjust.valid):
            m.d.sync += self.time.eq(stepped)
            if self.fast_steps:
                # the phase is written either way: if the step is not small, the
                # divider starts, and the phase is invalid until it is done
                m.d.sync += phase.eq(stepped_phase)
                with m.If(~(small_step & ~div_busy & phase_valid & ~period_changed)):
                    m.d.sync += start_divider()
            else:
                m.d.sync += start_divider()
        with m.Else():
            m.d.sync += self.time.eq(advanced)
            with m.If(period_changed):
                m.d.sync += start_divider()
            with m.Elif(div_busy):
                m.d.sync += div_elapsed.eq(div_elapsed + n)
                with m.If(div_count != 0):
                    dividend = Mux(div_first, self.time, div_dividend)
                    shifted = Cat(dividend[-1], Mux(div_first, 0, div_rem[:-1]))
                    m.d.sync += [
                        div_first.eq(0),
                        div_dividend.eq(dividend << 1),
                        div_count.eq(div_count - 1),
                        div_rem.eq(Mux(shifted >= period, shifted - period, shifted)),
                    ]
                if not self.fast_steps:
                    with m.Elif(~div_summed):
                        # small board: div_rem is the phase of the dividend's
                        # cycle; the phase logic adds the ticks since in the next
                        m.d.sync += [phase.eq(div_rem[:pw]), div_summed.eq(1)]
                    with m.Else():
                        # a pulse due in the window (it began on a boundary, or
                        # one lies inside it) was missed
                        with m.If(crossing):
                            m.d.sync += self.pulses_missed.eq(self.pulses_missed + 1)
                            m.d.comb += self.pulse_missed.eq(1)
                        m.d.sync += [phase.eq(phase_next), phase_valid.eq(1), div_busy.eq(0)]
                else:
                    with m.Elif(~div_summed):
                        # div_rem is the phase of the dividend's cycle; add the
                        # ticks from it to the cycle after next (fewer than one
                        # period), and reduce in that cycle: one carry chain each
                        m.d.sync += [
                            div_rem.eq(div_rem + (div_elapsed + n)),
                            div_rem_zero.eq(div_rem == 0),
                            div_summed.eq(1),
                        ]
                    with m.Else():
                        with m.If(div_rem_zero | (div_rem > period)):
                            m.d.sync += self.pulses_missed.eq(self.pulses_missed + 1)
                            m.d.comb += self.pulse_missed.eq(1)
                        m.d.sync += [
                            phase.eq(Mux(div_rem >= period, div_rem - period, div_rem)),
                            phase_valid.eq(1),
                            div_busy.eq(0),
                        ]
            with m.Else():
                m.d.sync += phase.eq(phase_next)

        return m

    def _small_step(self, m, phase, wraps, period, adj):
        """Whether ``adj`` is a small step (less than a period), and the phase it gives."""
        n, pw = self.samples_per_cycle, self.period_width
        # n, n - period, n + period, n - 2 * period: what a step adds to phase + adj,
        # registered with the period (from its input, like ``period``), so that
        # the phase logic is at most two carry chains deep, not four
        period_in = self.period[:pw]
        w = pw + 3
        step_k = [Signal(signed(w), init=n + j * self.period.init, name=f"step_k{i}")
                  for i, j in enumerate((0, -1, 1, -2))]
        m.d.sync += [
            # (no multiplications: a constant product would take a DSP)
            step_k[0].eq(n), step_k[1].eq(n - period_in), step_k[2].eq(n + period_in),
            step_k[3].eq(n - Cat(0, period_in)),
        ]
        small_step = Signal()
        m.d.comb += small_step.eq((adj < period) & (adj > -period))
        # For a small step the new phase is (phase_next + adj) mod period, and
        # one correction by a period suffices. Every candidate is computed
        # from phase + adj at once, each a three-operand sum done as one
        # carry-save layer and one carry chain, and the signs pick one:
        # stepped is (phase + adj + n) less a period if the phase wraps. A
        # small step fits in pw + 1 bits, so the chains are the phase's width.
        small_adj = adj[:pw + 1].as_signed()
        plain, less, more, less2 = (add3(phase, small_adj, k, w) for k in step_k)
        stepped_phase = Signal(pw)
        with m.If(~wraps):                  # stepped = plain
            m.d.comb += stepped_phase.eq(Mux(plain < 0, more, Mux(less >= 0, less, plain)))
        with m.Else():                      # stepped = less
            m.d.comb += stepped_phase.eq(Mux(less < 0, plain, Mux(less2 >= 0, less2, less)))
        return small_step, stepped_phase
