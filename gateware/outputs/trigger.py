"""The trigger outputs: each output's word from the source its register selects."""

from amaranth.hdl import Module, Signal, Mux
from amaranth.lib import data, wiring

from qnu.regmap import OutputSource
from amaranth.lib.wiring import In, Out

__all__ = ["TriggerOutputs", "OutputSource", "OUTPUT_CONTROL"]


#: the word of register ``out<k>_ctrl``
OUTPUT_CONTROL = data.StructLayout({"source": 2, "level": 1})


class TriggerOutputs(wiring.Component):
    """The word each output drives, registered, from its selected source.

    Every source's words for cycle ``c`` are in by cycle ``c - 1`` and all
    outputs pass the same one register, so edges due at one tick on several
    outputs leave in the same sample of the same word.
    """

    def __init__(self, outputs, samples_per_cycle, links=False):
        self.outputs, self.samples_per_cycle = outputs, samples_per_cycle
        # a sync port's line takes an output over, whatever its source (``link_taken``)
        self.links = links
        words = data.ArrayLayout(samples_per_cycle, outputs)
        super().__init__({
            "control":   In(data.ArrayLayout(OUTPUT_CONTROL, outputs)),
            "sequencer": In(words),
            "pulse":     In(samples_per_cycle),
            "herald":    In(words),
            "samples":   Out(words),
            **({"link_taken": In(outputs), "link": In(words)} if links else {}),
        })

    def elaborate(self, platform):
        m = Module()
        n = self.samples_per_cycle
        for k in range(self.outputs):
            control = self.control[k]
            with m.Switch(control.source):
                with m.Case(OutputSource.LEVEL):
                    m.d.sync += self.samples[k].eq(Mux(control.level, (1 << n) - 1, 0))
                with m.Case(OutputSource.SEQUENCER):
                    m.d.sync += self.samples[k].eq(self.sequencer[k])
                with m.Case(OutputSource.PULSE):
                    m.d.sync += self.samples[k].eq(self.pulse)
                with m.Case(OutputSource.HERALD):
                    m.d.sync += self.samples[k].eq(self.herald[k])
            if self.links:
                with m.If(self.link_taken[k]):      # (over whatever the source says)
                    m.d.sync += self.samples[k].eq(self.link[k])
        return m
