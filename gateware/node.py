"""A whole node: the timing core behind a UART, a framed protocol and registers."""

from amaranth.hdl import Module, Const
from amaranth.lib import wiring, data
from amaranth.lib.wiring import In, Out, connect

from qnu import wire
from qnu.regmap import register_map, Features, MAGIC
from .timing.core import TimingCore
from .bramfifo import BufferedFIFO
from .timing.event import TIME_WIDTH
from .hostlink.uart import UARTReceiver, UARTTransmitter
from .hostlink.framing import FrameArbiter, FrameReceiver, FrameTransmitter
from .hostlink.protocol import CommandEngine, COUNTED
from .hostlink.eventframer import EventFramer
from .hostlink.registers import RegisterBank
from .timing.block import TimingBlock
from .outputs.block import OutputsBlock
from .herald.block import HeraldBlock
from .sync.block import SyncBlock

__all__ = ["Node", "PHY_STATUS"]

RX_BUFFER = 512     # bytes: a whole request arriving while a long EVENTS frame goes out
PULSE_WIDTH_S = 1e-6    # the pulse-per-period source's pulse width

#: what a board's sample front end reports (register ``phy_status``); a PHY
#: without a gearbox runs whenever the core does and has no errors
PHY_STATUS = data.StructLayout({
    "inputs_running": 1, "outputs_running": 1, "input_error": 1, "output_error": 1,
})


class Node(wiring.Component):
    """The node's gateware, platform-free: samples in, UART in and out.

    ``uart_divisor`` is the UART bit time in clock cycles (default: the
    nearest to ``baudrate``). ``build_id`` is reported by IDENTIFY.
    ``rx_buffer_depth`` bytes of requests wait while a reply goes out;
    ``channel_depth``, ``fifo_depth``, ``key_width``, ``merger``,
    ``period_width``, ``fast_steps`` and ``late_stamps`` go to :class:`TimingCore`. A pulse period of
    ``2**period_width`` ticks or more is refused (BAD_VALUE).
    ``herald_decision_stage`` registers the herald unit's decision before its
    pulses (a cycle more of herald latency, which ``her_latency`` reports);
    ``herald_split_table`` looks its decision table up in two halves, one in
    the window's closing cycle (a shorter decision path, no more latency).
    :meth:`small_board_args` gives the settings for a small FPGA.

    It composes the host link (UART, frames, the command engine, the event
    framer), the register bank and the feature blocks: each block
    (:class:`~qnu.gateware.timing.block.TimingBlock`,
    :class:`~qnu.gateware.outputs.block.OutputsBlock`) brings its registers'
    sources, counters and checks, and wires the bank's values to its gateware.
    """

    @staticmethod
    def small_core_args():
        """The small-FPGA core options, whatever the board's PHY: the flat merger
        (one register, not a pipelined tree: a slow clock leaves time for every
        comparison in one cycle), 32-bit pulse-phase logic (periods up to 44 s at
        96 M ticks per second) and no small-step path in the timebase (a time
        step recomputes the pulse phase, 66 cycles, as a load does; a pulse due
        then is counted in ``pulses_missed``) and late stamps (64-bit queue
        entries; a load or step is refused while entries from before the
        previous one are still queued). Depths, key and counter widths stay
        those of the large boards."""
        return dict(merger="flat", period_width=32, fast_steps=False, late_stamps=True)

    @staticmethod
    def up5k_core_args():
        """:meth:`small_core_args` trimmed to what an iCE40UP5K holds: 28-bit
        pulse-phase logic (periods up to 8.9 s at 30 M ticks per second) and
        channel queues of 16 entries (a logic cell or two per pointer bit less)."""
        return dict(Node.small_core_args(), period_width=28, channel_depth=16)

    @staticmethod
    def small_board_args():
        """Node keyword arguments for the iCEBreaker's iCE40UP5K: :meth:`up5k_core_args`,
        2 channels and a 15 MHz clock with 2 samples per cycle (what fits and closes
        timing; docs/boards.md says why not more)."""
        return dict(channels=2, samples_per_cycle=2, clock_hz=15_000_000, features=Features(outputs=1, selectable=False),
                    **Node.up5k_core_args())

    def __init__(self, *, channels=4, samples_per_cycle=4, clock_hz=100_000_000, baudrate=3_000_000,
                 uart_divisor=None, build_id=0, channel_depth=32, fifo_depth=256, flush_cycles=None,
                 rx_buffer_depth=RX_BUFFER, key_width=32, merger="tree", period_width=TIME_WIDTH,
                 fast_steps=True, late_stamps=False, features=Features(outputs=4, sequencer=True, attempts=True),
                 queue_depth=512, pulse_width=None, herald_decision_stage=False, herald_split_table=False,
                 sync_bit_ticks=4, probe=False, register_resets=None):
        if channels > wire.WIRE_CHANNELS:
            raise ValueError(f"a node carries at most {wire.WIRE_CHANNELS} channels on the wire")
        self.channels = channels
        self.samples_per_cycle = samples_per_cycle
        self.clock_hz = clock_hz
        self.uart_divisor = uart_divisor or round(clock_hz / baudrate)
        if self.uart_divisor < 2:
            raise ValueError(f"the UART needs at least 2 clock cycles per bit, not {self.uart_divisor}")
        self.build_id = build_id
        self.features = features
        self.regmap = register_map(channels, features)
        # rw registers' values out of reset, by name: a node that boots configured (a simulation's)
        self.register_resets = dict(register_resets or {})
        for name in self.register_resets:
            if name not in self.regmap or self.regmap[name].access != "rw":
                raise ValueError(f"register_resets: {name} is not a read-write register of this node")
        self.identify = wire.IdentifyInfo(wire.MAGIC, wire.PROTOCOL_VERSION, build_id, channels,
                                          samples_per_cycle, clock_hz)
        # flush a streaming frame after about two byte times without events
        self.flush_cycles = flush_cycles or 20 * self.uart_divisor
        self.rx_buffer_depth = rx_buffer_depth
        self.period_width = period_width
        self.core = TimingCore(channels=channels, samples_per_cycle=samples_per_cycle, clock_hz=clock_hz,
                               channel_depth=channel_depth, fifo_depth=fifo_depth, key_width=key_width,
                               merger=merger, period_width=period_width, fast_steps=fast_steps,
                               late_stamps=late_stamps)
        width = pulse_width or max(1, round(PULSE_WIDTH_S * clock_hz * samples_per_cycle))
        self.outputs = OutputsBlock(features, channels=channels, samples_per_cycle=samples_per_cycle,
                                    pulse_width=width, queue_depth=queue_depth)
        self.herald = HeraldBlock(channels=channels, samples_per_cycle=samples_per_cycle, outputs=features.outputs,
                                  attempts=features.attempts, fixed_channels=features.herald_fixed,
                                  decision_stage=herald_decision_stage, split_table=herald_split_table) \
            if features.herald else None
        self.sync = SyncBlock(channels=channels, samples_per_cycle=samples_per_cycle, outputs=features.outputs,
                              bit_ticks=sync_bit_ticks) if features.sync else None
        super().__init__({
            "samples": In(data.ArrayLayout(samples_per_cycle, channels)),
            "uart_rx": In(1, init=1),
            "uart_tx": Out(1, init=1),
            # the trigger outputs' words, for the board's output PHY
            "triggers": Out(data.ArrayLayout(samples_per_cycle, features.outputs)),
            # the timebase's pulse per period, and the sample it falls in (an LED's)
            "pulse":   Out(1),
            "pulse_offset": Out(range(samples_per_cycle)),
            # the board's front end, for the phy_status register
            "phy_status": In(PHY_STATUS, init={"inputs_running": 1, "outputs_running": 1}),
            # a simulation's view of the time (no board has it): the timebase's time of this cycle
            # and the sync servo's fraction of a tick below it (2**-32 ticks) and its state
            **({"probe_now": Out(TIME_WIDTH), "probe_fraction": Out(32), "probe_state": Out(2)} if probe else {}),
        })

    def elaborate(self, platform):
        m = Module()
        core = m.submodules.core = self.core
        m.d.comb += [core.samples.eq(self.samples), self.pulse.eq(core.pulse),
                     self.pulse_offset.eq(core.pulse_offset)]

        # receive: UART -> byte buffer -> frames
        rx = m.submodules.uart_rx = UARTReceiver(self.uart_divisor)
        rx_buffer = m.submodules.rx_buffer = BufferedFIFO(width=8, depth=self.rx_buffer_depth)
        frames = m.submodules.frames = FrameReceiver()
        m.d.comb += [
            rx.rx.eq(self.uart_rx),
            rx_buffer.w_data.eq(rx.data.payload),
            rx_buffer.w_en.eq(rx.data.valid),
            frames.bytes_in.valid.eq(rx_buffer.r_rdy),
            frames.bytes_in.payload.eq(rx_buffer.r_data),
            rx_buffer.r_en.eq(frames.bytes_in.ready),
        ]

        features = self.features
        engine = m.submodules.engine = CommandEngine(
            self.identify, outputs=features.outputs if features.sequencer else 0,
            queue_depth=self.outputs.queue_depth)
        framer = m.submodules.framer = EventFramer(self.channels, flush_cycles=self.flush_cycles,
                                                   heralds=features.herald)
        connect(m, frames.frame, engine.frame)
        m.d.comb += [
            engine.header.eq(frames.header),
            frames.word_addr.eq(engine.word_addr),
            engine.word_data.eq(frames.word_data),
            framer.stream_enable.eq(engine.stream_enable),
            framer.request.eq(engine.events_request),
            framer.request_seq.eq(engine.events_seq),
            engine.events_busy.eq(framer.request_busy),
        ]
        connect(m, core.events, framer.events)

        # registers: the node's own, then each feature block's
        sources = {
            "magic": Const(MAGIC, 32),
            "build_id": Const(self.build_id, 32),
            "config": Const(self.regmap["config"].pack(channels=self.channels,
                                                       samples_per_cycle=self.samples_per_cycle,
                                                       protocol_version=wire.PROTOCOL_VERSION), 32),
            "features": Const(features.word, 32),
            "clock_hz": Const(self.clock_hz, 32),
            "phy_status": self.phy_status.as_value(),
            "records_sent": framer.records_sent,    # (the framer's own: it opens every frame)
        }
        # every other counter is kept in block RAM by the bank: what moves each one
        counted = {
            "err_framing": rx.framing_error,
            "err_overrun": rx.data.valid & ~rx_buffer.w_rdy,
            **{name: getattr(engine.counted, name) for name in COUNTED.members},
        }
        timing = TimingBlock(core, channels=self.channels, period_width=self.period_width)
        timing_sources, timing_counted, validators, resets = timing.registers(lambda name: bank.value(name))
        sources.update(timing_sources)
        counted.update(timing_counted)
        output_sources, output_validators = self.outputs.add(m, core)
        sources.update(output_sources)
        validators.update(output_validators)
        if self.herald:
            self.herald.add(m, core, self.outputs, framer.heralds)
            herald_sources, herald_counted = self.herald.registers(m, lambda name: bank.value(name), validators)
            sources.update(herald_sources)
            counted.update(herald_counted)
        if self.sync:
            self.sync.add(m, core)
            sync_sources, sync_counted = self.sync.registers(validators)
            sources.update(sync_sources)
            counted.update(sync_counted)
        bank = m.submodules.registers = RegisterBank(
            self.regmap, sources, validators=validators, resets={**resets, **self.register_resets},
            counters=list(counted),
            # once per frame, per UART byte (10 bit times of at least 2 cycles) or per resync
            # (a peer link's framing errors can come every few cycles on a noisy line)
            slow_counters=[name for name in counted if not name.startswith(("ch", "her_"))
                           and not name.endswith("_framing_errors")])
        for name, inc in counted.items():
            m.d.comb += bank.counter(name).eq(inc)
        m.d.comb += [
            bank.addr.eq(engine.reg_addr),
            engine.reg_exists.eq(bank.exists),
            engine.reg_writable.eq(bank.writable),
            engine.reg_value_ok.eq(bank.value_ok),
            engine.reg_read_data.eq(bank.read_data),
            bank.read.eq(engine.reg_read),
            bank.write.eq(engine.reg_write),
            bank.write_data.eq(engine.reg_write_data),
        ]
        timing.connect(m, bank, steer=self.sync.connect(m, bank, core) if self.sync else None)
        if "probe_now" in self.signature.members:
            if self.sync:
                m.d.comb += [self.probe_fraction.eq(self.sync.servo.fraction), self.probe_state.eq(self.sync.servo.state)]
            m.d.comb += self.probe_now.eq(core.now)
        if self.herald:
            self.herald.connect(m, bank)
        if self.sync:
            for k, (taken, word) in enumerate(self.sync.line(m, bank)):
                m.d.comb += [self.outputs.mux.link_taken[k].eq(taken), self.outputs.mux.link[k].eq(word)]
        m.d.comb += self.triggers.eq(self.outputs.connect(m, bank, engine))

        # transmit: replies first, then EVENTS frames, a whole frame at a time
        tx_frames = m.submodules.tx_frames = FrameTransmitter()
        tx = m.submodules.uart_tx = UARTTransmitter(self.uart_divisor)
        connect(m, tx_frames.bytes_out, tx.data)
        m.d.comb += self.uart_tx.eq(tx.tx)
        arbiter = m.submodules.tx_arbiter = FrameArbiter(2)
        connect(m, engine.reply, arbiter.source0)
        connect(m, framer.body, arbiter.source1)
        connect(m, arbiter.out, tx_frames.body)
        return m
