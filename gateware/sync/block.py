"""Node-to-node sync as a node block: two ports of the peer link ("up", the
servo's, towards the leader; "down", towards followers), the servo, their
registers, and their wiring to the timebase, the inputs and the outputs."""

from amaranth.hdl import Signal, Cat, Mux, Const, signed

from qnu.sync import ServoState
from .port import SyncPort
from .servo import SyncServo

__all__ = ["SyncBlock", "TX_LEAD_CYCLES"]

#: registers between a port's line word and the node's ``triggers`` port (the
#: output multiplexer's): a frame's departure is the time of its first word there
TX_LEAD_CYCLES = 1
PORTS = ("up", "down")
_COUNTED = ("frames", "crc_errors", "framing_errors", "overruns")


class SyncBlock:
    """:meth:`add` puts the ports and the servo in the module and gives the
    output multiplexer each port's line; :meth:`registers` gives the bank its
    sources and counters; :meth:`connect` wires the bank's values and returns
    the servo's adjustment for the timebase (ticks, this cycle)."""

    def __init__(self, *, channels, samples_per_cycle, outputs, bit_ticks):
        self.channels, self.n, self.outputs = channels, samples_per_cycle, outputs
        self.ports = {name: SyncPort(samples_per_cycle=samples_per_cycle, bit_ticks=bit_ticks, lead=TX_LEAD_CYCLES)
                      for name in PORTS}
        self.servo = SyncServo(samples_per_cycle=samples_per_cycle)
        self.locked_for = Signal(32)

    def add(self, m, core):
        servo = m.submodules.sync_servo = self.servo
        for name, port in self.ports.items():
            m.submodules[f"sync_{name}"] = port
            m.d.comb += port.now.eq(core.now)
        up = self.ports["up"]
        m.d.comb += [servo.exchanges.valid.eq(up.exchanges.valid), servo.exchanges.payload.eq(up.exchanges.payload),
                     up.exchanges.ready.eq(servo.exchanges.ready), self.ports["down"].exchanges.ready.eq(1),
                     # (the servo's state travels in each frame's status)
                     up.status.eq(servo.state), self.ports["down"].status.eq(servo.state)]
        locked = servo.state == ServoState.LOCKED
        m.d.sync += self.locked_for.eq(Mux(locked, Mux(self.locked_for.all(), self.locked_for,
                                                        self.locked_for + 1), 0))

    def registers(self, validators):
        """(sources, counted); adds the block's checks to ``validators``."""
        servo, ports = self.servo, self.ports
        self.latched = Signal(3 * 32)       # offset_hi, delay_lo, delay_hi, as the read of offset_lo found them
        sources = {
            "sync_status": Cat(servo.state, Const(0, 2), ports["up"].link_up, ports["down"].link_up, Const(0, 10),
                               ports["up"].peer_status),
            "sync_offset_lo": servo.offset[:32],
            "sync_offset_hi": self.latched[:32],
            "sync_delay_lo": self.latched[32:64],
            "sync_delay_hi": self.latched[64:],
            "sync_rate": servo.rate,
            "sync_locked_for": self.locked_for,
        }
        counted = {"sync_exchanges": servo.exchange_inc, "sync_steps": servo.step_inc,
                   "sync_bad_exchanges": servo.bad_inc, "sync_exchanges_lost": ports["up"].exchange_lost_inc}
        for name, port in ports.items():
            counted.update({f"sync_{name}_frames": port.frame_inc, f"sync_{name}_crc_errors": port.crc_error_inc,
                            f"sync_{name}_framing_errors": port.framing_error_inc,
                            f"sync_{name}_overruns": port.overrun_inc})
            validators[f"sync_{name}_pins"] = lambda v: (v[:4] < self.outputs) & (v[8:14] < self.channels)
        # (an interval the ports cannot run is refused while a port is on)
        validators["sync_ctrl"] = lambda v: (v[:3] == 0) | ((v[8:13] >= 6) & (v[8:13] <= 16))
        return sources, counted

    def line(self, m, bank):
        """Per output: (whether a port's frames leave on it, that port's line word)."""
        ctrl = bank.value("sync_ctrl")
        lines = []
        for k in range(self.outputs):
            taken, word = Const(0), Const(0, self.n)
            for i, (name, port) in enumerate(self.ports.items()):
                on = ctrl[2 * i] & (bank.value(f"sync_{name}_pins")[:4] == k)
                taken, word = taken | on, Mux(on, port.tx_samples, word)
            lines.append((taken, word))
        return lines

    def connect(self, m, bank, core):
        servo, cfg = self.servo, self.servo.config
        ctrl = bank.value("sync_ctrl")
        lock = bank.value("sync_lock")
        m.d.comb += [
            cfg.enable.eq(ctrl[0]), cfg.steer.eq(ctrl[1]), cfg.interval_log2.eq(ctrl[8:13]),
            cfg.kp_shift.eq(ctrl[16:21]),
            cfg.ki_shift.eq(ctrl[24:29]), cfg.gear.eq(ctrl[29:32]), cfg.step_threshold.eq(bank.value("sync_step")),
            cfg.lock_threshold.eq(bank.value("sync_lock_threshold")), cfg.lock_count.eq(lock[:8]),
            cfg.holdover_intervals.eq(lock[8:16]), cfg.fixed_there.eq(bank.value("sync_fixed_there")),
            cfg.fixed_back.eq(bank.value("sync_fixed_back")), cfg.ratio.eq(bank.value("sync_ratio")),
        ]
        for i, (name, port) in enumerate(self.ports.items()):
            channel = bank.value(f"sync_{name}_pins")[8:14]
            # the input's word and its time, registered together (the channel's multiplexer ends at a register)
            word, now = Signal(self.n, name=f"sync_{name}_rx_word"), Signal.like(core.now, name=f"sync_{name}_rx_now")
            with m.Switch(channel):
                for c in range(self.channels):
                    with m.Case(c):
                        m.d.sync += word.eq(core.samples[c])
            m.d.sync += now.eq(core.now)
            m.d.comb += [port.enable.eq(ctrl[2 * i]), port.interval_log2.eq(ctrl[8:13]),
                         port.rx_samples.eq(word), port.rx_now.eq(now)]
        offset_hi, delay_hi = Signal(signed(32)), Signal(signed(32))
        m.d.comb += [offset_hi.eq(servo.offset >> 32), delay_hi.eq(servo.delay >> 32)]
        with m.If(bank.read_strobe("sync_offset_lo")):
            m.d.sync += self.latched.eq(Cat(offset_hi, servo.delay[:32], delay_hi))
        return servo.adjust
