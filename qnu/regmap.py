"""The node's register map: the one source of truth.

Pure Python, importable without Amaranth. The gateware's register bank
(:mod:`qnu.gateware.hostlink.registers`), the host's accessors (:mod:`qnu.host.registers`)
and docs/registers.md are all generated from :func:`register_map`.

Registers are 32 bits wide at 16-bit word addresses. Access is ``ro`` (read
only: a write is refused with ``READ_ONLY``), ``rw``, or ``wo`` (write only:
reads return 0; writing triggers an action).
"""

import enum
from dataclasses import dataclass, field
from .sync import DEFAULT_KP_SHIFT, DEFAULT_KI_SHIFT, DEFAULT_GEAR

__all__ = ["Field", "Register", "WideRegister", "RegisterMap", "register_map", "Features", "CHANNEL_BASE", "CHANNEL_STRIDE",
           "SEQUENCER_BASE", "ATTEMPTS_BASE", "OUTPUTS_BASE", "OUTPUT_STRIDE", "PATTERN_ENTRIES", "HERALD_BASE",
           "OutputSource", "AttemptState", "StopReason", "MIN_PULSE_PERIOD"]

CHANNEL_BASE = 0x0100
CHANNEL_STRIDE = 0x0010
SEQUENCER_BASE = 0x0200
ATTEMPTS_BASE = 0x0300
OUTPUTS_BASE = 0x0400
OUTPUT_STRIDE = 0x0004
HERALD_BASE = 0x0500
SYNC_BASE = 0x0600
PATTERN_ENTRIES = 12        # pulses per attempt pattern (attempt and on-success entries together)
MIN_PULSE_PERIOD = 1024     # fine ticks: the shortest pulse period the timebase runs (pulse_period_lo)


class OutputSource(enum.IntEnum):
    """What drives a trigger output (field ``source`` of ``out<k>_ctrl``)."""
    LEVEL     = 0   # the static level in field ``level``
    SEQUENCER = 1   # the sequencer's events and the attempt loop's pulses
    PULSE     = 2   # the timebase's pulse per period
    HERALD    = 3   # the herald unit (refused by a node without one)


class AttemptState(enum.IntEnum):
    IDLE = 0
    WAITING = 1     # started; the first attempt's tick is still ahead
    RUNNING = 2


class StopReason(enum.IntEnum):
    """Why the attempt loop last stopped (field ``reason`` of ``att_status``)."""
    NONE = 0        # not run since reset
    COUNT = 1       # all ``att_count`` attempts started
    HOST = 2        # stopped by the host
    INPUT = 3       # a rising edge on the stop input (a herald by cable)
    LATE_START = 4  # the start time had passed when the loop was started: nothing played
    HERALD = 5      # the local herald unit


@dataclass(frozen=True)
class Features:
    """What a node has besides its tagger channels (register ``features``)."""
    outputs: int = 1            # trigger outputs
    sequencer: bool = False     # timestamped output events (SCHEDULE)
    attempts: bool = False      # the attempt loop
    selectable: bool = True     # out<k>_ctrl picks each output's source; without, outputs carry the pulse
    herald: bool = False        # the herald unit
    # its detectors fixed on inputs 0..3 and its input reference on input 4 (a
    # build whose timing has no room for the channel selection: qnu.herald)
    herald_fixed: bool = False
    sync: bool = False          # node-to-node sync: the peer link's two ports and the servo

    def __post_init__(self):
        if not 1 <= self.outputs <= 16:
            raise ValueError("a node has 1 to 16 trigger outputs")

    @property
    def word(self):
        return self.outputs | self.sequencer << 8 | self.attempts << 9 | (not self.selectable) << 10 | \
            self.herald << 11 | self.herald_fixed << 12 | self.sync << 13

    @classmethod
    def from_word(cls, word):
        return cls(outputs=word & 0xFF or 1, sequencer=bool(word >> 8 & 1), attempts=bool(word >> 9 & 1),
                   selectable=not word >> 10 & 1, herald=bool(word >> 11 & 1), herald_fixed=bool(word >> 12 & 1),
                   sync=bool(word >> 13 & 1))


@dataclass(frozen=True)
class Field:
    name: str
    offset: int
    width: int
    doc: str = ""

    @property
    def mask(self):
        return ((1 << self.width) - 1) << self.offset


@dataclass(frozen=True)
class Register:
    name: str           # e.g. "scratch", "ch3_delay"
    address: int
    access: str         # "ro", "rw" or "wo"
    doc: str
    width: int = 32     # bits implemented; the rest read as 0
    reset: int = 0
    fields: tuple = ()
    channel: int = None  # for per-channel registers
    source: str = ""    # what drives a read-only register, for the gateware

    def __post_init__(self):
        if self.access not in ("ro", "rw", "wo"):
            raise ValueError(f"{self.name}: access must be ro, rw or wo")
        if not 0 <= self.address < 0x10000:
            raise ValueError(f"{self.name}: address out of range")

    @property
    def writable(self):
        return self.access in ("rw", "wo")

    def pack(self, **values):
        """The register's word from its fields' values (every field named must exist and fit)."""
        fields = {f.name: f for f in self.fields}
        word = 0
        for name, value in values.items():
            if name not in fields:
                raise KeyError(f"{self.name} has no field {name!r}")
            f = fields[name]
            if not 0 <= value < 1 << f.width:
                raise ValueError(f"{self.name}.{name} = {value} does not fit in {f.width} bits")
            word |= value << f.offset
        return word

    @property
    def readable(self):
        return self.access in ("ro", "rw")


@dataclass(frozen=True)
class WideRegister:
    """A 64-bit value held in two registers, ``<name>_lo`` then ``<name>_hi`` at the next
    address: the host reads it in one burst (reading a ``_lo`` first latches its ``_hi``
    where the node has a latch, as for ``time``) and writes it in one."""
    name: str
    lo: Register
    hi: Register

    @property
    def readable(self):
        return self.lo.readable and self.hi.readable

    @property
    def writable(self):
        return self.lo.writable and self.hi.writable

    @property
    def width(self):
        return 32 + self.hi.width

    def split(self, value):
        return {self.lo.name: value & 0xFFFF_FFFF, self.hi.name: value >> 32}

    def join(self, values):
        return values[self.hi.name] << 32 | values[self.lo.name]


@dataclass
class RegisterMap:
    registers: list = field(default_factory=list)

    def __post_init__(self):
        self.by_name = {r.name: r for r in self.registers}
        self.by_address = {r.address: r for r in self.registers}
        if len(self.by_name) != len(self.registers) or len(self.by_address) != len(self.registers):
            raise ValueError("register names and addresses must be unique")
        #: the 64-bit values, by name (``time``, ``pulse_period``, ``seq_late_time``, ...)
        self.wide = {}
        for r in self.registers:
            hi = self.by_address.get(r.address + 1)
            if r.name.endswith("_lo") and hi is not None and hi.name == r.name[:-3] + "_hi" \
                    and r.width == 32 and r.access == hi.access:
                self.wide[r.name[:-3]] = WideRegister(r.name[:-3], r, hi)

    def __iter__(self):
        return iter(sorted(self.registers, key=lambda r: r.address))

    def __getitem__(self, name):
        try:
            return self.by_name[name]
        except KeyError:
            raise KeyError(f"no register named {name!r}") from None

    def __contains__(self, name):
        return name in self.by_name


# Global registers: (name, address, access, width, reset, doc, fields, source)
_GLOBAL = [
    ("magic",          0x0000, "ro", 32, 0, "The constant 0x514E5531 ('QNU1').", (), "const:magic"),
    ("build_id",       0x0001, "ro", 32, 0, "Identifies the gateware build.", (), "const:build_id"),
    ("config",         0x0002, "ro", 32, 0, "What this node has.",
     (Field("channels", 0, 8, "tagging channels"), Field("samples_per_cycle", 8, 8, "input samples per system cycle"),
      Field("protocol_version", 16, 8, "wire protocol version")), "const:config"),
    ("clock_hz",       0x0003, "ro", 32, 0, "System clock frequency in Hz.", (), "const:clock_hz"),
    ("scratch",        0x0004, "rw", 32, 0, "Free for the host: reads back what was written.", (), ""),
    ("features",       0x0005, "ro", 32, 0, "What this node has besides its channels (and so which register "
                                            "blocks exist).",
     (Field("outputs", 0, 8, "trigger outputs"), Field("sequencer", 8, 1, "the output sequencer (SCHEDULE)"),
      Field("attempts", 9, 1, "the attempt loop"),
      Field("fixed_outputs", 10, 1, "no out<k>_ctrl: every output carries the timebase's pulse"),
      Field("herald", 11, 1, "the herald unit"),
      Field("herald_fixed", 12, 1, "the herald's detectors on inputs 0-3, its input reference on input 4"),
      Field("sync", 13, 1, "node-to-node sync: the peer link and the servo")),
     "const:features"),
    ("time_lo",        0x0008, "ro", 32, 0, "Timebase, fine ticks, low word. Reading it latches time_hi.", (), "time_lo"),
    ("time_hi",        0x0009, "ro", 32, 0, "Timebase high word, as latched by the last read of time_lo.", (), "time_hi"),
    ("time_arg_lo",    0x000A, "rw", 32, 0, "Argument of the next time_cmd, low word.", (), ""),
    ("time_arg_hi",    0x000B, "rw", 32, 0, "Argument of the next time_cmd, high word.", (), ""),
    ("time_cmd",       0x000C, "wo", 2, 0, "Write 1 to load the time with the argument, 2 to step it by the "
                                           "argument (signed), atomically. A node with late stamps (a small "
                                           "FPGA's) refuses it (BAD_VALUE) while events tagged before its "
                                           "previous time change are still queued.", (), ""),
    ("pulse_period_lo", 0x000D, "rw", 32, 0, "Pulse-per-period output period in fine ticks, low word "
                                            f"(resets to one second). Below {MIN_PULSE_PERIOD} ticks it is refused "
                                            "(BAD_VALUE).", (), ""),
    ("pulse_period_hi", 0x000E, "rw", 32, 0, "Pulse period, high word.", (), ""),
    ("pulses_missed",  0x000F, "ro", 32, 0, "Pulses not produced while the pulse phase was recomputed.", (), "pulses_missed"),
    ("phy_status",     0x0010, "ro", 4, 0b0011, "The board's sample front end: its PHYs and gearboxes.",
     (Field("inputs_running", 0, 1, "input samples reach the core"),
      Field("outputs_running", 1, 1, "the trigger outputs' gearbox runs"),
      Field("input_error", 2, 1, "the input gearbox found its FIFO empty or full: samples were lost or "
                                 "repeated, the clock ratio is broken (sticky until reset)"),
      Field("output_error", 3, 1, "the same for the output gearbox")), "phy_status"),
    ("err_framing",    0x0020, "ro", 32, 0, "UART bytes received with a bad stop bit.", (), "err:framing"),
    ("err_crc",        0x0021, "ro", 32, 0, "Frames dropped for a bad CRC.", (), "err:crc"),
    ("err_length",     0x0022, "ro", 32, 0, "Frames dropped for a length that does not fit their command "
                                            "(too short, too long, or a bad count).", (), "err:length"),
    ("err_command",    0x0023, "ro", 32, 0, "Frames with an unknown command.", (), "err:command"),
    ("err_address",    0x0024, "ro", 32, 0, "Register accesses to an address that does not exist.", (), "err:address"),
    ("err_read_only",  0x0025, "ro", 32, 0, "Writes refused because the register is read-only.", (), "err:read_only"),
    ("err_overrun",    0x0029, "ro", 32, 0, "UART bytes dropped because the receive buffer was full.", (), "err:overrun"),
    ("err_value",      0x0028, "ro", 32, 0, "Frames refused for an argument out of range.", (), "err:value"),
    ("frames_ok",      0x0026, "ro", 32, 0, "Frames received and executed.", (), "frames_ok"),
    ("records_sent",   0x0027, "ro", 32, 0, "Event records sent to the host.", (), "records_sent"),
]

# Per-channel registers: (suffix, offset, access, width, reset, doc, fields, source)
_CHANNEL = [
    ("ctrl",      0x0, "rw", 3, 0, "Channel settings.",
     (Field("enable", 0, 1, "tag this channel"), Field("rising", 1, 1, "tag rising edges"),
      Field("falling", 2, 1, "tag falling edges")), ""),
    ("delay",     0x1, "rw", 16, 0, "Delay added to the channel's timestamps, fine ticks.", (), ""),
    ("dead_time", 0x2, "rw", 16, 0, "Edges ignored for this long after an event, fine ticks "
                                    "(at least one cycle).", (), ""),
    ("events",    0x3, "ro", 32, 0, "Events accepted (delivered or lost), wrapping.", (), "ch:events"),
    ("lost",      0x4, "ro", 32, 0, "Events lost to a full queue, wrapping.", (), "ch:lost"),
]

# The sequencer's block: (name, offset, access, width, reset, doc, fields, source)
_SEQUENCER = [
    ("seq_ctrl",      0x0, "wo", 1, 0, "Write 1 to clear the first-late latch (seq_late_*).", (), ""),
    ("seq_depth",     0x1, "ro", 32, 0, "Events each output's queue holds.", (), "const:seq_depth"),
    ("seq_played",    0x2, "ro", 32, 0, "Events played at their tick, wrapping.", (), "seq:played"),
    ("seq_late",      0x3, "ro", 32, 0, "Events not played because their tick had passed when they reached the "
                                        "head of their queue, wrapping.", (), "seq:late"),
    ("seq_refused",   0x4, "ro", 32, 0, "Events refused (SCHEDULE answered QUEUE_FULL), wrapping.", (),
     "seq:refused"),
    ("seq_late_output", 0x5, "ro", 5, 0, "The first late event since the latch was cleared.",
     (Field("valid", 0, 1, "an event was late"), Field("output", 1, 4, "its output")), "seq:late_output"),
    ("seq_late_time_lo", 0x6, "ro", 32, 0, "Its tick, low word.", (), "seq:late_time_lo"),
    ("seq_late_time_hi", 0x7, "ro", 32, 0, "Its tick, high word.", (), "seq:late_time_hi"),
    ("seq_late_by",   0x8, "ro", 32, 0, "How many ticks before the planned span it was (saturating).", (),
     "seq:late_by"),
]

_ATTEMPTS = [
    ("att_ctrl",      0x0, "wo", 2, 0, "Write 1 to start the loop (refused, BAD_VALUE, unless the period is at "
                                       "least one core cycle and every enabled attempt pulse ends within it), "
                                       "2 to stop it.", (), ""),
    ("att_status",    0x1, "ro", 8, 0, "The loop's state.",
     (Field("state", 0, 2, "0 idle, 1 waiting for the first attempt, 2 running"),
      Field("reason", 4, 3, "why it last stopped: 0 never ran, 1 count reached, 2 host, 3 stop input, "
                            "4 start time already past, 5 herald")), "att:status"),
    ("att_attempts",  0x2, "ro", 32, 0, "Attempts started since the last start.", (), "att:attempts"),
    ("att_start_lo",  0x3, "rw", 32, 0, "Tick of the first attempt, low word.", (), ""),
    ("att_start_hi",  0x4, "rw", 32, 0, "Tick of the first attempt, high word.", (), ""),
    ("att_period",    0x5, "rw", 32, 0, "Ticks between attempt starts.", (), ""),
    ("att_count",     0x6, "rw", 32, 0, "Attempts to run; 0 runs until stopped.", (), ""),
    ("att_stop",      0x7, "rw", 16, 0, "What stops the loop early (and fires the on-success pulses).",
     (Field("input", 0, 1, "a rising edge on tagger input `channel` (raw samples, before delay)"),
      Field("herald", 1, 1, "the local herald unit"), Field("channel", 8, 6, "the stop input")), ""),
]

_PATTERN = [
    ("offset", 0x0, "rw", 32, 0, "Ticks from the attempt start (on-success: from the stop) to the pulse.", ()),
    ("ctrl",   0x1, "rw", 32, 0, "The pulse.",
     (Field("output", 0, 4, "trigger output"), Field("enable", 4, 1, "play this pulse"),
      Field("on_success", 5, 1, "once when the loop stops on its stop input, not every attempt"),
      Field("width", 16, 16, "ticks high, 1 to 65535"))),
]
PATTERN_BASE = ATTEMPTS_BASE + 0x10

_OUTPUT = [
    ("ctrl", 0x0, "rw", 3, 0, "What drives the output.",
     (Field("source", 0, 2, "0 a static level, 1 the sequencer and attempt loop, 2 the timebase's pulse, "
                            "3 the herald unit"), Field("level", 2, 1, "the static level")), ""),
    ("free", 0x1, "ro", 32, 0, "Events the output's sequencer queue can still take.", (), "out:free"),
]

_HERALD = [
    ("her_ctrl",      0x00, "rw", 22, 0b01 << 2, "The herald unit's settings (docs/herald.md). Enabling it is refused "
                                         "(BAD_VALUE) without a detector, with a window of width 0, or, with the "
                                         "attempt loop as reference, with a window that does not end within "
                                         "att_period; enabling starts the attempt numbers from 0.",
     (Field("enable", 0, 1, "decide attempts"),
      Field("input_ref", 1, 1, "0: attempts start at the attempt loop's starts; 1: at rising edges of "
                               "`ref_channel`"),
      Field("windows", 2, 2, "windows per attempt, 1 or 2"),
      Field("multi_outcome", 4, 2, "the outcome of an attempt in which a detector clicked twice in a window "
                                   "(0 fail, 1 psi+, 2 psi-, 3 reject)"),
      Field("record", 8, 4, "outcomes written to the event stream as herald records, a bit per outcome"),
      Field("ref_channel", 16, 6, "the reference input")), ""),
    ("her_detectors", 0x01, "rw", 32, 0, "The detectors: the tagger input of each, and whether it is used.",
     tuple(f for d in range(4) for f in (Field(f"channel{d}", 8 * d, 6, f"detector {d}'s input"),
                                         Field(f"enable{d}", 8 * d + 7, 1, f"detector {d} is used")))
     , ""),
    ("her_win0_offset", 0x02, "rw", 24, 0, "Window 0 (early) opens this many ticks after the reference.", (), ""),
    ("her_win0_width",  0x03, "rw", 24, 0, "Window 0's width, ticks.", (), ""),
    ("her_win1_offset", 0x04, "rw", 24, 0, "Window 1 (late) opens this many ticks after the reference.", (), ""),
    ("her_win1_width",  0x05, "rw", 24, 0, "Window 1's width, ticks.", (), ""),
    ("her_out",       0x06, "rw", 32, 16 << 16, "The herald's pulses: on the success line for psi+ and psi-, on the "
                                         "state line too for psi- (outputs whose source is 3).",
     (Field("success_output", 0, 4, "the success line's output"),
      Field("state_output", 4, 4, "the state line's output"),
      Field("width", 16, 16, "pulse width, ticks, 1 to 65535 (resets to 16)")), ""),
    ("her_status",    0x07, "ro", 1, 0, "The unit's state.", (Field("busy", 0, 1, "an attempt is undecided"),),
     "her:status"),
    ("her_latency",   0x08, "ro", 32, 0, "Core cycles from the cycle whose input word holds the last window's "
                                         "last tick to the herald's word at the outputs.", (), "const:her_latency"),
    ("her_references", 0x09, "ro", 32, 0, "References that started an attempt, wrapping.", (), "her:count"),
    ("her_overlaps",  0x0A, "ro", 32, 0, "References ignored: they came while an attempt was undecided.", (),
     "her:count"),
    ("her_fail",      0x0B, "ro", 32, 0, "Attempts decided FAIL.", (), "her:count"),
    ("her_psi_plus",  0x0C, "ro", 32, 0, "Attempts heralded psi+.", (), "her:count"),
    ("her_psi_minus", 0x0D, "ro", 32, 0, "Attempts heralded psi-.", (), "her:count"),
    ("her_reject",    0x0E, "ro", 32, 0, "Attempts decided REJECT (ambiguous or multi-click).", (), "her:count"),
    ("her_records_lost", 0x0F, "ro", 32, 0, "Herald records not written: the previous one was still waiting "
                                            "for the event stream.", (), "her:count"),
]
HERALD_TABLE_BASE = HERALD_BASE + 0x10

# The sync block (docs/sync.md): two ports of the peer link, "up" (towards the
# leader: the servo follows it) and "down" (towards followers), and the servo.
_SYNC_PORT_PINS = (Field("tx_output", 0, 4, "the trigger output the port's frames leave on (it carries nothing "
                                              "else while the port is on)"),
                   Field("rx_channel", 8, 6, "the input the peer's frames come in on"))
_SYNC = [
    ("sync_ctrl",     0x00, "rw", 32, 10 << 8 | DEFAULT_KP_SHIFT << 16 | DEFAULT_KI_SHIFT << 24 | DEFAULT_GEAR << 29,
     "The sync block's settings. An interval out of range is refused (BAD_VALUE) while a port is on; "
     "turning the ports off frees the servo.",
     (Field("up", 0, 1, "the up port sends and receives frames"),
      Field("follow", 1, 1, "the servo steers the timebase to the up port's peer (without, it only measures "
                            "the offset and the delay)"),
      Field("down", 2, 1, "the down port sends and receives frames"),
      Field("interval_log2", 8, 5, "a frame every 2**interval_log2 core cycles (6 to 16)"),
      Field("kp_shift", 16, 5, "the proportional gain is 2**-kp_shift"),
      Field("ki_shift", 24, 5, "the integral gain is 2**-ki_shift"),
      Field("gear", 29, 3, "locked for 4 lock_count exchanges, the gains drop to 2**-(kp_shift + gear) and "
                           "2**-(ki_shift + 2 gear): the same damping, a loop 2**gear times narrower, so less of "
                           "each exchange's noise; they stay until the next step")), ""),
    ("sync_up_pins",   0x01, "rw", 14, 0, "The up port's output and input.", _SYNC_PORT_PINS, ""),
    ("sync_down_pins", 0x02, "rw", 14, 1 | 1 << 8, "The down port's output and input.", _SYNC_PORT_PINS, ""),
    ("sync_step",      0x03, "rw", 24, 64, "An offset of this many ticks or more is stepped, not steered.", (), ""),
    ("sync_lock_threshold", 0x04, "rw", 32, 1 << 16, "Offsets' running average (over about 32 exchanges) "
                                                     "under this (subticks, 2**-16 tick) counts towards lock.",
                            (), ""),
    ("sync_lock",      0x05, "rw", 16, 8 | 4 << 8, "Lock and holdover.",
     (Field("count", 0, 8, "locked after this many exchanges in a row with the offsets' average under "
                          "sync_lock_threshold"),
      Field("holdover", 8, 8, "holdover after this many intervals without an exchange")), ""),
    ("sync_fixed_there", 0x06, "rw", 32, 0, "This node's transmit latency plus the up peer's receive latency, "
                                            "subticks (signed).", (), ""),
    ("sync_fixed_back",  0x07, "rw", 32, 0, "The up peer's transmit latency plus this node's receive latency, "
                                            "subticks (signed).", (), ""),
    ("sync_ratio",     0x08, "rw", 25, 1 << 23, "The fibre asymmetry: (1 + alpha) / (2 + alpha) in 2**-24 "
                                                "(qnu.sync.asymmetry_ratio).", (), ""),
    ("sync_status",    0x09, "ro", 32, 0, "The servo and the links.",
     (Field("state", 0, 2, "0 free, 1 acquiring, 2 locked, 3 holdover (qnu.sync.ServoState)"),
      Field("up_link", 4, 1, "a good frame came on the up port lately"),
      Field("down_link", 5, 1, "a good frame came on the down port lately"),
      Field("up_peer_status", 16, 16, "the status word of the up peer's last frame")), "sync:status"),
    ("sync_offset_lo", 0x0A, "ro", 32, 0, "The last exchange's offset (the up peer's time less ours), subticks, "
                                          "low word. Reading it latches the high words of the offset and the "
                                          "delay.", (), "sync:offset_lo"),
    ("sync_offset_hi", 0x0B, "ro", 32, 0, "... high word (signed).", (), "sync:offset_hi"),
    ("sync_delay_lo",  0x0C, "ro", 32, 0, "The last exchange's delay from here to the up peer, subticks, low "
                                          "word.", (), "sync:delay_lo"),
    ("sync_delay_hi",  0x0D, "ro", 32, 0, "... high word (signed).", (), "sync:delay_hi"),
    ("sync_rate",      0x0E, "ro", 32, 0, "The rate trim: ticks added each core cycle, in 2**-32 (signed).", (),
     "sync:rate"),
    ("sync_locked_for", 0x0F, "ro", 32, 0, "Core cycles since the servo locked (0 unless locked; saturates).", (),
     "sync:locked_for"),
    ("sync_exchanges", 0x10, "ro", 32, 0, "Exchanges the servo took.", (), "sync:count"),
    ("sync_steps",     0x11, "ro", 32, 0, "Steps the servo made.", (), "sync:count"),
    ("sync_bad_exchanges", 0x12, "ro", 32, 0, "Exchanges refused: a difference of 2**31 ticks or more, or a "
                                              "negative round trip.", (), "sync:count"),
    ("sync_exchanges_lost", 0x13, "ro", 32, 0, "Exchanges dropped: the servo was still busy with the last.", (),
     "sync:count"),
] + [(f"sync_{port}_{what}", 0x14 + 4 * i + j, "ro", 32, 0, doc.format(port=port), (), "sync:count")
     for i, port in enumerate(("up", "down"))
     for j, (what, doc) in enumerate((
         ("frames", "Good frames received on the {port} port."),
         ("crc_errors", "Frames on the {port} port with a wrong CRC."),
         ("framing_errors", "Frames on the {port} port cut short by a wrong start or stop bit."),
         ("overruns", "Good frames on the {port} port lost: the last was still unread.")))]


MAGIC = 0x514E5531


def _block(base, table):
    """The registers of a feature block's table, at ``base`` + each one's offset."""
    return [Register(name, base + off, access, doc, width, reset, fields, source=src)
            for name, off, access, width, reset, doc, fields, src in table]


def register_map(channels, features=Features()):
    """The register map of a node with ``channels`` tagging channels and ``features``."""
    if not 1 <= channels <= 64:
        raise ValueError("channels must be 1 to 64")
    regs = [Register(name, addr, access, doc, width, reset, fields, source=src)
            for name, addr, access, width, reset, doc, fields, src in _GLOBAL]
    for c in range(channels):
        for suffix, off, access, width, reset, doc, fields, src in _CHANNEL:
            regs.append(Register(f"ch{c}_{suffix}", CHANNEL_BASE + c * CHANNEL_STRIDE + off, access,
                                 doc, width, reset, fields, channel=c, source=src))
    if features.sequencer:
        regs += _block(SEQUENCER_BASE, _SEQUENCER)
    if features.attempts:
        regs += _block(ATTEMPTS_BASE, _ATTEMPTS)
        for i in range(PATTERN_ENTRIES):
            regs += [Register(f"att_pat{i}_{suffix}", PATTERN_BASE + 2 * i + off, access, doc, width, reset, fields)
                     for suffix, off, access, width, reset, doc, fields in _PATTERN]
    if features.herald:
        regs += _block(HERALD_BASE, _HERALD)
        regs += [Register(f"her_table{i}", HERALD_TABLE_BASE + i, "rw",
                          f"Decision table, patterns {16 * i} to {16 * i + 15}: two bits each "
                          "(0 fail, 1 psi+, 2 psi-, 3 reject; qnu.herald).", 32, 0, ())
                 for i in range(16)]
    if features.sync:
        regs += _block(SYNC_BASE, _SYNC)
    for k in range(features.outputs if features.selectable else 0):
        for suffix, off, access, width, reset, doc, fields, src in _OUTPUT:
            if suffix == "free" and not features.sequencer:
                continue
            # output 0 carries the pulse per period out of reset, as before outputs had sources
            reset = int(OutputSource.PULSE if k == 0 else OutputSource.SEQUENCER if features.sequencer
                        else OutputSource.LEVEL) if suffix == "ctrl" else reset
            regs.append(Register(f"out{k}_{suffix}", OUTPUTS_BASE + k * OUTPUT_STRIDE + off, access, doc,
                                 width, reset, fields, source=src))
    return RegisterMap(regs)
