"""The herald unit as a node block: its registers' sources, counters and
checks, and its wiring to the register bank, the timing core and the outputs."""

from amaranth.hdl import Signal, Cat, Const

from qnu.herald import Outcome, TABLE_WORDS, MAX_DETECTORS, FIXED_DETECTOR_CHANNELS, FIXED_REFERENCE_CHANNEL
from ..bramfifo import BufferedFIFO
from .unit import HeraldUnit, OFFSET_WIDTH, herald_record_layout

__all__ = ["HeraldBlock"]

#: herald records waiting for the event stream: the UART can be busy for a
#: reply or a long frame while attempts end every few microseconds
RECORD_QUEUE = 16

_COUNTED = {"her_fail": Outcome.FAIL, "her_psi_plus": Outcome.PSI_PLUS, "her_psi_minus": Outcome.PSI_MINUS,
            "her_reject": Outcome.REJECT}


class HeraldBlock:
    """A :class:`HeraldUnit` in a :class:`~qnu.gateware.node.Node`: :meth:`add`
    puts it in the module, takes its references from the attempt loop and
    gives it the stop and the outputs' herald words; :meth:`registers` gives
    what the register bank needs; :meth:`connect` wires the bank's values."""

    def __init__(self, *, channels, samples_per_cycle, outputs, attempts, fixed_channels=False,
                 decision_stage=False, split_table=False):
        self.channels, self.n, self.outputs, self.attempts = channels, samples_per_cycle, outputs, attempts
        self.fixed_channels = fixed_channels
        self.unit = HeraldUnit(channels=channels, samples_per_cycle=samples_per_cycle, outputs=outputs,
                               fixed_channels=fixed_channels, decision_stage=decision_stage,
                               split_table=split_table)

    def add(self, m, core, outputs_block, events):
        """... and the herald records, through a queue, to ``events`` (the event framer's herald stream)."""
        unit = m.submodules.herald = self.unit
        queue = m.submodules.herald_records = BufferedFIFO(width=herald_record_layout().size, depth=RECORD_QUEUE)
        m.d.comb += [queue.w_data.eq(unit.records.payload), queue.w_en.eq(unit.records.valid),
                     unit.records.ready.eq(queue.w_rdy)]
        # The framer takes a record from a register the queue fills only when it is empty: the
        # framer's ready (its frame state) then reaches one flag, not the queue's pointers and
        # levels. A record every other cycle at most, far more than attempts end.
        held = Signal.like(queue.r_data)
        held_valid = Signal()
        m.d.comb += [events.valid.eq(held_valid), events.payload.eq(held), queue.r_en.eq(~held_valid)]
        with m.If(held_valid):
            with m.If(events.ready):
                m.d.sync += held_valid.eq(0)
        with m.Elif(queue.r_rdy):
            m.d.sync += [held.eq(queue.r_data), held_valid.eq(1)]
        m.d.comb += [unit.now.eq(core.now), unit.samples.eq(core.samples),
                     unit.channel_config.eq(core.channel_config),
                     outputs_block.mux.herald.eq(unit.herald)]
        if self.attempts:
            loop = outputs_block.attempts
            m.d.comb += [unit.attempt.eq(loop.attempt), unit.attempt_offset.eq(loop.attempt_offset),
                         loop.herald.eq(unit.success)]

    def registers(self, m, bank_value, validators):
        """(sources, counted); adds the block's checks to ``validators`` (and the
        attempt loop's start: refused while the herald's windows overrun its period)."""
        unit = self.unit
        sources = {"her_status": unit.busy, "her_latency": Const(unit.latency_cycles, 32)}
        counted = {"her_references": unit.reference_inc, "her_overlaps": unit.overlap_inc,
                   "her_records_lost": unit.record_lost_inc,
                   **{name: unit.decided[outcome] for name, outcome in _COUNTED.items()}}
        # every window ends within the attempt period (registered in connect: a check, not a path)
        self.fits = fits = Signal()

        def ctrl_ok(v):
            width = [bank_value("her_win0_width"), bank_value("her_win1_width")]
            detectors = bank_value("her_detectors")
            some_detector = Cat(detectors[8 * d + 7] for d in range(MAX_DETECTORS)).any()
            windows = v[2:4]
            enabling = (width[0] != 0) & ((windows == 1) | (width[1] != 0)) & some_detector & \
                (v[1] | Const(self.attempts) & fits)
            channel_ok = (~v[1] | (v[16:22] == FIXED_REFERENCE_CHANNEL)) if self.fixed_channels else \
                (v[16:22] < self.channels)
            return channel_ok & ((windows == 1) | (windows == 2)) & (~v[0] | enabling)

        def detector_ok(v, d):
            if self.fixed_channels:             # (a fixed build reads detector d on input d)
                return ~v[8 * d + 7] | (v[8 * d:8 * d + 6] == FIXED_DETECTOR_CHANNELS[d])
            return ~v[8 * d + 7] | (v[8 * d:8 * d + 6] < self.channels)

        validators["her_ctrl"] = ctrl_ok
        validators["her_detectors"] = lambda v: Cat(detector_ok(v, d) for d in range(MAX_DETECTORS)).all()
        validators["her_out"] = lambda v: (v[0:4] < self.outputs) & (v[4:8] < self.outputs) & (v[16:] != 0)
        for w in range(2):
            for what in ("offset", "width"):
                validators[f"her_win{w}_{what}"] = lambda v: v < 2 ** OFFSET_WIDTH
        if self.attempts:
            start_ok = validators["att_ctrl"]
            ctrl = lambda: bank_value("her_ctrl")
            # (a loop whose attempts the herald follows must leave room for its windows)
            validators["att_ctrl"] = lambda v: start_ok(v) & ((v != 1) | ~ctrl()[0] | ctrl()[1] | fits)
        return sources, counted

    def connect(self, m, bank):
        unit, cfg = self.unit, self.unit.config
        ctrl = bank.value("her_ctrl")
        detectors = bank.value("her_detectors")
        out = bank.value("her_out")
        m.d.comb += [
            cfg.enable.eq(ctrl[0]), cfg.input_ref.eq(ctrl[1]), cfg.windows.eq(ctrl[2:4]),
            cfg.multi_outcome.eq(ctrl[4:6]), cfg.record.eq(ctrl[8:12]), cfg.ref_channel.eq(ctrl[16:22]),
            cfg.success_output.eq(out[0:4]), cfg.state_output.eq(out[4:8]), cfg.width.eq(out[16:]),
            unit.table.eq(Cat(bank.value(f"her_table{i}") for i in range(TABLE_WORDS))),
        ]
        for d in range(MAX_DETECTORS):
            m.d.comb += [cfg.detectors[d].channel.eq(detectors[8 * d:8 * d + 6]),
                         cfg.detectors[d].enable.eq(detectors[8 * d + 7])]
        for w in range(2):
            m.d.comb += [cfg.window[w].offset.eq(bank.value(f"her_win{w}_offset")),
                         cfg.window[w].width.eq(bank.value(f"her_win{w}_width"))]
        if self.attempts:
            period = bank.value("att_period")
            ends = [bank.value(f"her_win{w}_offset") + bank.value(f"her_win{w}_width") for w in range(2)]
            m.d.sync += self.fits.eq((ends[0] <= period) & ((ctrl[2:4] == 1) | (ends[1] <= period)))
        # enabling starts the attempt numbers afresh
        was_enabled = Signal()
        m.d.sync += was_enabled.eq(ctrl[0])
        m.d.comb += unit.clear.eq(ctrl[0] & ~was_enabled)
