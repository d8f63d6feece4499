"""Turn the timebase's pulse into an output waveform, to the fine tick."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PulseShaper"]


class PulseShaper(wiring.Component):
    """A pulse ``width`` fine ticks long that starts at the tick the timebase
    names: ``pulse`` marks the cycle, ``offset`` the sample within it.

    ``samples`` is the output PHY's word (bit 0 driven first), so the edge
    lands on the fine tick, not just on the cycle. A pulse that comes while
    the last one is still high extends it to ``width`` ticks after its start.
    """

    def __init__(self, samples_per_cycle, width):
        if width < 1:
            raise ValueError("width must be at least one fine tick")
        self.samples_per_cycle = samples_per_cycle
        self.width = width
        super().__init__({
            "pulse":   In(1),
            "offset":  In(range(samples_per_cycle)),
            "samples": Out(samples_per_cycle),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.samples_per_cycle
        # fine ticks of the pulse still to drive after this cycle
        left = Signal(range(self.width + n + 1))
        word = Signal(n)
        with m.If(self.pulse):
            # the rest of the last pulse, then ticks offset .. n-1 of this one;
            # width - (n - offset) more to come
            for i in range(n):
                m.d.comb += word[i].eq((left > i) | ((i >= self.offset) & (i < self.offset + self.width)))
            remaining = self.width - (n - self.offset)
            with m.If(self.offset + self.width > n):
                m.d.sync += left.eq(remaining)
            with m.Else():
                m.d.sync += left.eq(0)
        with m.Else():
            for i in range(n):
                m.d.comb += word[i].eq(left > i)
            with m.If(left > n):
                m.d.sync += left.eq(left - n)
            with m.Else():
                m.d.sync += left.eq(0)
        m.d.comb += self.samples.eq(word)
        return m
