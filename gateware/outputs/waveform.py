"""Sample words of a pulse or a level, placed to the fine tick."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from qnu.wire import MAX_PULSE_WIDTH, OutputAction

__all__ = ["PulseGenerator", "LevelAndPulse", "LEAD_CYCLES"]

#: cycles between a block's decision on ``now`` and its word at the node's
#: ``outputs`` port: the decision's register (so that no carry chain of the
#: decision feeds the waveform logic's), the block's word register, then the
#: output multiplexer's
LEAD_CYCLES = 3


def _pulse_bits(m, n, fire, offset, width, left):
    """This cycle's bits of a pulse generator whose ``left`` ticks carry over,
    plus a pulse of ``width`` ticks starting at sample ``offset`` if ``fire``;
    updates ``left``. A pulse that starts while the last one is high extends it."""
    bits = Signal(n)
    end = Signal(range(n + MAX_PULSE_WIDTH + 1))
    m.d.comb += end.eq(offset + width)
    for i in range(n):
        m.d.comb += bits[i].eq((left > i) | (fire & (offset <= i) & (end > i)))
    carried = Signal.like(left)
    m.d.comb += carried.eq(0)
    with m.If(left > n):
        m.d.comb += carried.eq(left - n)
    with m.If(fire & (end > n) & (end - n > carried)):
        m.d.sync += left.eq(end - n)
    with m.Else():
        m.d.sync += left.eq(carried)
    return bits


class PulseGenerator(wiring.Component):
    """A pulse of ``width`` ticks from sample ``offset`` of the cycle ``fire``
    is high in: ``samples`` (combinational, for the caller to OR and register)."""

    def __init__(self, samples_per_cycle):
        self.samples_per_cycle = samples_per_cycle
        super().__init__({
            "fire":    In(1),
            "offset":  In(range(samples_per_cycle)),
            "width":   In(range(MAX_PULSE_WIDTH + 1)),
            "samples": Out(samples_per_cycle),
        })

    def elaborate(self, platform):
        m = Module()
        left = Signal(range(MAX_PULSE_WIDTH + 1))
        m.d.comb += self.samples.eq(_pulse_bits(m, self.samples_per_cycle, self.fire, self.offset,
                                                self.width, left))
        return m


class LevelAndPulse(wiring.Component):
    """One output of the sequencer: a level that RISE and FALL events set, OR
    pulses that PULSE events add. ``samples`` is combinational."""

    def __init__(self, samples_per_cycle):
        self.samples_per_cycle = samples_per_cycle
        super().__init__({
            "fire":    In(1),
            "offset":  In(range(samples_per_cycle)),
            "action":  In(2),
            "width":   In(range(MAX_PULSE_WIDTH + 1)),
            "samples": Out(samples_per_cycle),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.samples_per_cycle
        level = Signal()
        left = Signal(range(MAX_PULSE_WIDTH + 1))
        pulse = self.fire & (self.action == OutputAction.PULSE)
        edge = self.fire & ((self.action == OutputAction.RISE) | (self.action == OutputAction.FALL))
        new_level = self.action == OutputAction.RISE
        pulse_bits = _pulse_bits(m, n, pulse, self.offset, self.width, left)
        for i in range(n):
            level_i = Mux(edge & (self.offset <= i), new_level, level)
            m.d.comb += self.samples[i].eq(level_i | pulse_bits[i])
        with m.If(edge):
            m.d.sync += level.eq(new_level)
        return m
