"""The outputs feature as a node block: its gateware, its registers' sources
and checks, and its wiring to the register bank and the command engine."""

from amaranth.hdl import Signal, Cat, Const
from amaranth.lib import data

from qnu.regmap import OutputSource, PATTERN_ENTRIES
from .pulse_shaper import PulseShaper
from .attempts import AttemptLoop
from .sequencer import Sequencer
from .trigger import TriggerOutputs

__all__ = ["OutputsBlock"]


class OutputsBlock:
    """Trigger outputs for a :class:`~qnu.gateware.node.Node`: the output
    multiplexer and the pulse shaper always, the sequencer and the attempt
    loop as ``features`` says. :meth:`add` puts them in the module; the
    dictionaries it returns go to the register bank; :meth:`connect` wires
    the bank's values and the engine's SCHEDULE stream to them."""

    def __init__(self, features, *, channels, samples_per_cycle, pulse_width, queue_depth=512):
        self.features = features
        self.channels, self.samples_per_cycle = channels, samples_per_cycle
        self.pulse_width, self.queue_depth = pulse_width, queue_depth
        self.refused = Signal(32)       # SCHEDULE events refused, for seq_refused

    def add(self, m, core):
        f, n = self.features, self.samples_per_cycle
        self.mux = m.submodules.trigger_outputs = TriggerOutputs(f.outputs, n, links=f.sync)
        self.shaper = m.submodules.pulse_shaper = PulseShaper(n, self.pulse_width)
        m.d.comb += [self.shaper.pulse.eq(core.pulse), self.shaper.offset.eq(core.pulse_offset),
                     self.mux.pulse.eq(self.shaper.samples)]
        sources, validators = {}, {}
        if f.sequencer:
            seq = self.sequencer = m.submodules.sequencer = Sequencer(f.outputs, n, depth=self.queue_depth)
            m.d.comb += seq.now.eq(core.now)
            late = seq.first_late
            sources.update({
                "seq_depth": Const(self.queue_depth, 32),
                "seq_played": seq.played_count, "seq_late": seq.late_count, "seq_refused": self.refused,
                "seq_late_output": Cat(late.valid, late.output), "seq_late_time_lo": late.time[:32],
                "seq_late_time_hi": late.time[32:], "seq_late_by": late.late_by,
                **{f"out{k}_free": seq.free[k] for k in range(f.outputs)},
            })
            validators["seq_ctrl"] = lambda v: v == 1
        if f.attempts:
            loop = self.attempts = m.submodules.attempts = AttemptLoop(f.outputs, self.channels, n,
                                                                      entries=PATTERN_ENTRIES)
            m.d.comb += [loop.now.eq(core.now), loop.inputs.eq(core.samples)]
            sources.update({"att_status": Cat(loop.state, Const(0, 2), loop.reason), "att_attempts": loop.attempts})
            validators["att_ctrl"] = lambda v: (v == 2) | ((v == 1) & loop.pattern_fits)
            validators["att_stop"] = lambda v: v[8:14] < self.channels
            for i in range(PATTERN_ENTRIES):
                # an enabled pulse needs an output that exists and a width
                validators[f"att_pat{i}_ctrl"] = lambda v: ~v[4] | ((v[:4] < f.outputs) & (v[16:] != 0))
        allowed = [OutputSource.LEVEL, OutputSource.PULSE] + ([OutputSource.SEQUENCER] if f.sequencer else []) + \
            ([OutputSource.HERALD] if f.herald else [])
        for k in range(f.outputs if f.selectable else 0):
            validators[f"out{k}_ctrl"] = lambda v: Cat(*(v[:2] == s for s in allowed)).any()
        return sources, validators

    def connect(self, m, bank, engine):
        f = self.features
        words = [0] * f.outputs
        for k in range(f.outputs):
            control = bank.value(f"out{k}_ctrl") if f.selectable else OutputSource.PULSE
            m.d.comb += self.mux.control[k].eq(control)
        if f.sequencer:
            seq = self.sequencer
            schedule = engine.schedule
            control = schedule.payload.control
            m.d.comb += [
                seq.push.valid.eq(schedule.valid),
                seq.push.payload.time.eq(schedule.payload.time),
                seq.push.payload.output.eq(control.output),
                seq.push.payload.action.eq(control.action),
                seq.push.payload.width.eq(control.width),
                schedule.ready.eq(seq.push.ready),
                engine.queue_free.eq(seq.free),
                seq.clear_late.eq(bank.strobe("seq_ctrl")),
            ]
            m.d.sync += self.refused.eq(self.refused + engine.refused)
            words = [seq.samples[k] for k in range(f.outputs)]
        if f.attempts:
            loop = self.attempts
            command = bank.value("att_ctrl")
            strobe = bank.strobe("att_ctrl")
            stop = bank.value("att_stop")
            m.d.comb += [
                loop.start.eq(strobe & (command == 1)),
                loop.stop.eq(strobe & (command == 2)),
                loop.start_time.eq(Cat(bank.value("att_start_lo"), bank.value("att_start_hi"))),
                loop.period.eq(bank.value("att_period")),
                loop.count.eq(bank.value("att_count")),
                loop.stop_enable.eq(stop[0]),
                loop.herald_stops.eq(stop[1]),
                loop.stop_channel.eq(stop[8:14]),
            ]
            for i in range(PATTERN_ENTRIES):
                ctrl = bank.value(f"att_pat{i}_ctrl")
                entry = loop.pattern[i]
                m.d.comb += [entry.offset.eq(bank.value(f"att_pat{i}_offset")), entry.output.eq(ctrl[:4]),
                             entry.enable.eq(ctrl[4]), entry.on_success.eq(ctrl[5]), entry.width.eq(ctrl[16:])]
            words = [w | loop.samples[k] for k, w in enumerate(words)]
        for k in range(f.outputs):
            m.d.comb += self.mux.sequencer[k].eq(words[k])
        return self.mux.samples
