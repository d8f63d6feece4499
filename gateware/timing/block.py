"""The timing core as a node block: its registers' sources, counters and
checks, and their wiring to the core (channel settings, time commands, the
pulse period), as :class:`~qnu.gateware.outputs.block.OutputsBlock` is for
the outputs."""

from amaranth.hdl import Mux, Signal, Cat

from .event import TIME_WIDTH
from .timebase import MIN_PERIOD

__all__ = ["TimingBlock"]


class TimingBlock:
    """The registers of a :class:`~qnu.gateware.timing.core.TimingCore` in a
    node: :meth:`registers` gives what the register bank needs (sources,
    counters' strobes, value checks, reset values); :meth:`connect` wires the
    bank's values to the core."""

    def __init__(self, core, *, channels, period_width):
        self.core, self.channels, self.period_width = core, channels, period_width
        self.time_hi = Signal(32)       # latched by a read of time_lo

    def registers(self, bank_value):
        """(sources, counted, validators, resets); ``bank_value(name)`` is a register's
        value in the bank, for checks that depend on another register."""
        core = self.core
        sources = {"time_lo": core.now[:32], "time_hi": self.time_hi}
        counted = {"pulses_missed": core.pulse_missed}
        for c in range(self.channels):
            counted[f"ch{c}_events"] = core.event_incs[c]
            counted[f"ch{c}_lost"] = core.lost_incs[c]
        # (a late-stamping core cannot take a time change while entries from
        # before the previous one are queued: BAD_VALUE, the host retries)
        validators = {"time_cmd": lambda v: ((v == 1) | (v == 2)) & ~core.time_busy}
        pw = self.period_width      # a period the phase logic cannot hold is refused, not truncated
        if pw < 32:
            validators["pulse_period_lo"] = lambda v: v < 2 ** pw
        if pw < TIME_WIDTH:
            validators["pulse_period_hi"] = lambda v: v < 2 ** max(0, pw - 32)
        # (and one the timebase cannot run: below its minimum, with a zero high word)
        short = lambda v: (v >= MIN_PERIOD) | (bank_value("pulse_period_hi") != 0)
        long_enough = validators.get("pulse_period_lo")
        validators["pulse_period_lo"] = (lambda v: short(v) & long_enough(v)) if long_enough else short
        period = core.pulse_period.init
        resets = {"pulse_period_lo": period & 0xFFFF_FFFF, "pulse_period_hi": period >> 32}
        return sources, counted, validators, resets

    def connect(self, m, bank, steer=None):
        """... ``steer``: ticks a servo adds to the time this cycle (with a host's step, if any)."""
        core = self.core
        with m.If(bank.read_strobe("time_lo")):
            m.d.sync += self.time_hi.eq(core.now[32:])
        for c in range(self.channels):
            ctrl = bank.value(f"ch{c}_ctrl")
            cfg = core.channel_config[c]
            m.d.comb += [
                cfg.enable.eq(ctrl[0]), cfg.rising.eq(ctrl[1]), cfg.falling.eq(ctrl[2]),
                cfg.delay.eq(bank.value(f"ch{c}_delay")),
                cfg.dead_time.eq(bank.value(f"ch{c}_dead_time")),
            ]
        time_arg = Cat(bank.value("time_arg_lo"), bank.value("time_arg_hi"))
        command = bank.value("time_cmd")
        strobe = bank.strobe("time_cmd")
        m.d.comb += [
            core.load.valid.eq(strobe & (command == 1)),
            core.load.payload.eq(time_arg),
            core.adjust.valid.eq(strobe & (command == 2)),
            core.adjust.payload.eq(time_arg),
            core.pulse_period.eq(Cat(bank.value("pulse_period_lo"), bank.value("pulse_period_hi"))),
        ]
        if steer is not None:
            host = strobe & (command == 2)
            m.d.comb += [core.adjust.valid.eq(host | (steer != 0)),
                         core.adjust.payload.eq(Mux(host, time_arg, 0) + steer)]
