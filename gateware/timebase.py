"""The node's timebase: a 64-bit fine-tick count and a pulse-per-period output."""

from amaranth.hdl import Module, Signal, Mux, Cat, signed, unsigned
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from .event import TIME_WIDTH

__all__ = ["Timebase"]

# The pulse output keeps ``time mod period`` incrementally, so steps smaller
# than a period cost nothing. After a load, a period change or a larger step
# the phase is recomputed by a bit-serial divider (TIME_WIDTH + 1 cycles); a
# pulse due in that window is not produced but counted in ``pulses_missed``.
MIN_PERIOD = 1024


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
    """

    def __init__(self, samples_per_cycle, default_period):
        if samples_per_cycle not in (1, 2, 4, 8):
            raise ValueError(f"samples_per_cycle must be 1, 2, 4 or 8, not {samples_per_cycle}")
        if default_period < MIN_PERIOD:
            raise ValueError(f"period must be at least {MIN_PERIOD} fine ticks")
        self.samples_per_cycle = samples_per_cycle
        super().__init__({
            "time":         Out(TIME_WIDTH),
            "load":         In(stream.Signature(unsigned(TIME_WIDTH), always_ready=True)),
            "adjust":       In(stream.Signature(signed(TIME_WIDTH), always_ready=True)),
            "period":       In(TIME_WIDTH, init=default_period),
            "pulse":        Out(1),
            "pulse_offset": Out(range(samples_per_cycle)),
            "pulses_missed": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.samples_per_cycle
        # The period in force: the input, one cycle late, so that a change
        # never mixes with the phase of the cycle it arrives in.
        period = Signal(TIME_WIDTH, init=self.period.init)
        period_changed = Signal()
        m.d.sync += period.eq(self.period)
        m.d.comb += period_changed.eq(self.period != period)

        # time mod period, for the current cycle; meaningful when phase_valid.
        phase       = Signal(TIME_WIDTH)
        phase_valid = Signal(init=1)

        # Boundary inside [time, time + n)?
        crossing = Signal()
        m.d.comb += crossing.eq((phase == 0) | (phase + n > period))
        m.d.comb += [
            self.pulse.eq(phase_valid & crossing),
            self.pulse_offset.eq(Mux(phase == 0, 0, period - phase)),
        ]
        # Phase of the next cycle when nothing is loaded or stepped.
        phase_next = Signal(TIME_WIDTH)
        m.d.comb += phase_next.eq(Mux(phase + n >= period, phase + n - period, phase + n))

        # Bit-serial restoring divider computing (dividend mod period).
        div_busy     = Signal()
        div_dividend = Signal(TIME_WIDTH)
        div_rem      = Signal(TIME_WIDTH + 1)
        div_count    = Signal(range(TIME_WIDTH + 1))
        div_elapsed  = Signal(range((TIME_WIDTH + 4) * n))    # ticks since the dividend's cycle

        def start_divider(dividend):
            return [
                div_busy.eq(1),
                div_dividend.eq(dividend),
                div_rem.eq(0),
                div_count.eq(TIME_WIDTH),
                div_elapsed.eq(n),
                phase_valid.eq(0),
            ]

        adj = self.adjust.payload
        small_step = Signal()
        m.d.comb += small_step.eq((adj < period.as_signed()) & (adj > -period.as_signed()))
        # For a small step, (phase_next + adj) mod period needs one correction.
        stepped = Signal(signed(TIME_WIDTH + 2))
        m.d.comb += stepped.eq(phase_next + adj)

        with m.If(self.load.valid):
            m.d.sync += self.time.eq(self.load.payload)
            m.d.sync += start_divider(self.load.payload)
        with m.Elif(self.adjust.valid):
            m.d.sync += self.time.eq(self.time + n + adj)
            with m.If(small_step & ~div_busy & phase_valid & ~period_changed):
                with m.If(stepped < 0):
                    m.d.sync += phase.eq(stepped + period)
                with m.Elif(stepped >= period):
                    m.d.sync += phase.eq(stepped - period)
                with m.Else():
                    m.d.sync += phase.eq(stepped)
            with m.Else():
                m.d.sync += start_divider(self.time + n + adj)
        with m.Else():
            m.d.sync += self.time.eq(self.time + n)
            with m.If(period_changed):
                m.d.sync += start_divider(self.time + n)
            with m.Elif(div_busy):
                m.d.sync += div_elapsed.eq(div_elapsed + n)
                with m.If(div_count != 0):
                    shifted = Cat(div_dividend[-1], div_rem[:-1])
                    m.d.sync += [
                        div_dividend.eq(div_dividend << 1),
                        div_count.eq(div_count - 1),
                        div_rem.eq(Mux(shifted >= period, shifted - period, shifted)),
                    ]
                with m.Else():
                    # div_rem is the phase of the dividend's cycle; add the
                    # ticks elapsed since (fewer than one period).
                    resumed = div_rem + div_elapsed
                    with m.If((div_rem == 0) | (resumed > period)):
                        m.d.sync += self.pulses_missed.eq(self.pulses_missed + 1)
                    m.d.sync += [
                        phase.eq(Mux(resumed >= period, resumed - period, resumed)),
                        phase_valid.eq(1),
                        div_busy.eq(0),
                    ]
            with m.Else():
                m.d.sync += phase.eq(phase_next)

        return m
