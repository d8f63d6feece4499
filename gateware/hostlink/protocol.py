"""The command engine: executes checked request frames and builds the replies."""

from dataclasses import dataclass
from types import SimpleNamespace

from amaranth.hdl import Module, Signal, Mux, Cat, Const, Array
from amaranth.lib import wiring, stream, memory, data
from amaranth.lib.wiring import In, Out

from qnu import wire
from ..wire_layouts import EVENT_CONTROL
from .framing import body_byte, frame_info, header_layout, RxStatus

__all__ = ["CommandEngine", "COUNTED", "SCHEDULED"]

#: the counters a frame can move, one strobe each (registers ``err_*`` and ``frames_ok``)
COUNTED = data.StructLayout({name: 1 for name in (
    "err_crc", "err_length", "err_command", "err_address", "err_read_only", "err_value", "frames_ok")})

#: a SCHEDULE event on its way to the sequencer
SCHEDULED = data.StructLayout({"time": 64, "control": EVENT_CONTROL})


@dataclass
class _Command:
    """A row of the engine's dispatch table."""
    kind: wire.Command
    fits: object                # the frame's length (and count) fit the command
    start: object               # called in DISPATCH for a frame that passed every check
    bad_value: object = None    # an argument in the header is out of range (BAD_VALUE, detail 0)

    @property
    def name(self):
        return self.kind.name.lower()


class CommandEngine(wiring.Component):
    """Execute one frame from a :class:`FrameReceiver` at a time.

    Every frame is checked whole before anything is applied: its CRC and
    length, its command, and, for a register burst, every address (and for a
    write every value) before the first register is touched. A refused frame
    gets an ERROR reply, pulses the matching ``counted`` strobe (the node's
    ``err_*`` counters) and changes nothing else; an executed frame pulses
    ``counted.frames_ok``. Replies go out on ``reply`` as body bytes.

    The commands are rows of a dispatch table (:meth:`_commands`: the frame
    checks of each, and the state its execution starts in); each stage of
    the state machine is a method of its own (dispatch, the register
    bursts, SCHEDULE, the OK and ERROR replies). A new command is a row and
    its states.
    """

    def __init__(self, identify: wire.IdentifyInfo, *, outputs=0, queue_depth=512):
        self._identify = identify.pack()
        # with ``outputs``, SCHEDULE frames go to a sequencer of that many queues
        self.outputs = outputs
        schedule = {}
        if outputs:
            schedule = {
                "schedule":      Out(stream.Signature(SCHEDULED)),
                "queue_free":    In(data.ArrayLayout(range(queue_depth + 1), outputs)),
                "refused":       Out(range(wire.MAX_SCHEDULE + 1)),    # events refused now (QUEUE_FULL)
            }
        super().__init__({
            **schedule,
            # from the FrameReceiver
            "frame":       In(stream.Signature(frame_info)),
            "header":      In(header_layout),
            "word_addr":   Out(range(wire.MAX_BURST + 1)),
            "word_data":   In(32),
            # to the register bank
            "reg_addr":       Out(16),
            "reg_exists":     In(1),
            "reg_writable":   In(1),
            "reg_value_ok":   In(1),
            "reg_read_data":  In(32),   # two cycles after reg_read
            "reg_read":       Out(1),
            "reg_write":      Out(1),
            "reg_write_data": Out(32),
            # replies
            "reply":       Out(stream.Signature(body_byte)),
            # effects
            "stream_enable":  Out(1),
            "events_request": Out(1),
            "events_seq":     Out(8),   # the READ_EVENTS request's seq, for its reply
            "events_busy":    In(1),    # the requested EVENTS frame is not all sent yet
            # one cycle high per frame: which counter it moves
            "counted":     Out(COUNTED),
        })

    def elaborate(self, platform):
        m = Module()
        s = self._shared(m)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.frame.valid):
                    m.d.sync += s.first_word()
                    m.next = "DISPATCH"
            self._dispatch(m, s)
            # the EVENTS_READ frame is this frame's reply: the next frame's must not overtake it
            with m.State("EVENTS_WAIT"):
                with m.If(~self.events_request & ~self.events_busy):
                    m.next = "RELEASE"
            self._read_states(m, s)
            self._write_states(m, s)
            if self.outputs:
                self._schedule_states(m, s)
            self._ok_reply_states(m, s)
            self._error_reply_states(m, s)
            with m.State("RELEASE"):
                m.d.comb += self.frame.ready.eq(1)
                m.next = "IDLE"
        return m

    # --- what every stage shares ---------------------------------------------------------

    def _shared(self, m):
        """The frame's fields, the burst's position, and the helpers every stage uses."""
        s = SimpleNamespace()
        hdr = self.header
        s.hdr, s.kind, s.seq = hdr, hdr[0], hdr[1]
        s.base = Cat(hdr[wire.BURST_ADDRESS_AT], hdr[wire.BURST_ADDRESS_AT + 1])
        s.count = hdr[wire.BURST_COUNT_AT]
        # the frame's length and status stay put until RELEASE takes the frame
        s.length = self.frame.payload.length
        s.status = self.frame.payload.status

        s.index = Signal(range(wire.MAX_BURST + 1))
        s.err_code = Signal(8)
        s.err_detail = Signal(16)
        s.byte_index = Signal(range(len(self._identify) + 1))
        # SCHEDULE: the event being checked or pushed, and each queue's events in this frame
        s.event = Signal(range(wire.MAX_SCHEDULE + 1))
        s.tallies = [Signal(range(wire.MAX_SCHEDULE + 1), name=f"tally{k}") for k in range(self.outputs)]

        # the register address, base + index, kept in a register: no adder in
        # front of the bank's decoder. Every change of index goes through these.
        s.addr = Signal.like(self.reg_addr)
        s.first_word = lambda: [s.index.eq(0), s.addr.eq(s.base)]
        s.next_word = lambda: [s.index.eq(s.index + 1), s.addr.eq(s.addr + 1)]

        m.d.sync += self.events_request.eq(0)
        m.d.comb += [
            self.events_seq.eq(s.seq),
            self.reg_addr.eq(s.addr),
            self.word_addr.eq(s.index),
            self.reg_write_data.eq(self.word_data),
        ]

        def tally(name):
            m.d.comb += getattr(self.counted, name).eq(1)

        def refuse(code, detail, counter):
            m.d.sync += [s.err_code.eq(code), s.err_detail.eq(detail)]
            if counter:
                tally(counter)
            m.next = "ERR_KIND"

        def send(value, last, then):
            m.d.comb += [self.reply.valid.eq(1), self.reply.payload.data.eq(value),
                         self.reply.payload.last.eq(last)]
            with m.If(self.reply.ready):
                m.next = then

        s.tally, s.refuse, s.send = tally, refuse, send
        return s

    # --- dispatch ------------------------------------------------------------------------

    def _commands(self, m, s):
        """The dispatch table: each command the node knows, the checks of its frame
        (computed while the frame arrives) and what starts its execution."""
        burst_ok = (s.count >= 1) & (s.count <= wire.MAX_BURST)

        def to(state, *actions, ok=False):
            def start():
                m.d.sync += list(actions)
                if ok:
                    s.tally("frames_ok")
                m.next = state
            return start

        table = [
            _Command(wire.Command.IDENTIFY, fits=s.length == 4,
                     start=to("OK_KIND", s.byte_index.eq(0), ok=True)),
            _Command(wire.Command.READ, fits=(s.length == wire.BURST_BODY_BYTES) & burst_ok,
                     start=to("CHECK_READ_FETCH")),
            _Command(wire.Command.WRITE, fits=(s.length == wire.BURST_BODY_BYTES + 4 * s.count) & burst_ok,
                     start=to("CHECK_WRITE_FETCH")),
            _Command(wire.Command.READ_EVENTS, fits=s.length == 4,
                     start=to("EVENTS_WAIT", self.events_request.eq(1), ok=True)),
            _Command(wire.Command.STREAM, fits=s.length == 5, bad_value=s.hdr[2] > 1,
                     start=to("OK_KIND", self.stream_enable.eq(s.hdr[2][0]), ok=True)),
        ]
        if self.outputs:          # (a node without a sequencer does not know SCHEDULE)
            table.append(_Command(
                wire.Command.SCHEDULE,
                fits=(s.length == wire.BURST_BODY_BYTES + 4 * wire.EVENT_WORDS * s.count) & (s.count >= 1) &
                     (s.count <= wire.MAX_SCHEDULE),
                bad_value=(s.hdr[wire.BURST_ADDRESS_AT] != 0) | (s.hdr[wire.BURST_ADDRESS_AT + 1] != 0),
                start=to("SCHED_CHECK_FETCH", s.index.eq(wire.EVENT_WORDS - 1), s.event.eq(0),
                         *[tally.eq(0) for tally in s.tallies])))
        return table

    def _dispatch(self, m, s):
        """Refuse a frame the receiver found bad, or one whose command, length or
        arguments are wrong; else start its command. What DISPATCH decides on is
        registered while the frame arrives (its length, status and header stay
        put until RELEASE): no comparison stands between the frame and the state."""
        def registered(name, value):
            flag = Signal(name=f"check_{name}")
            m.d.sync += flag.eq(value)
            return flag

        bad_crc = registered("bad_crc", s.status == RxStatus.BAD_CRC)
        bad_length = registered("bad_length", s.status == RxStatus.BAD_LENGTH)
        table = [(c, registered(c.name, s.kind == c.kind), registered(f"{c.name}_fits", c.fits),
                  None if c.bad_value is None else registered(f"{c.name}_bad", c.bad_value))
                 for c in self._commands(m, s)]
        with m.State("DISPATCH"):
            with m.If(bad_crc):
                s.refuse(wire.ErrorCode.BAD_CRC, 0, "err_crc")
            with m.Elif(bad_length):
                s.refuse(wire.ErrorCode.BAD_LENGTH, s.length, "err_length")
            for command, this, fits, bad_value in table:
                with m.Elif(this):
                    with m.If(~fits):
                        s.refuse(wire.ErrorCode.BAD_LENGTH, s.length, "err_length")
                    if bad_value is not None:
                        with m.Elif(bad_value):
                            s.refuse(wire.ErrorCode.BAD_VALUE, 0, "err_value")
                    with m.Else():
                        command.start()
            with m.Else():
                s.refuse(wire.ErrorCode.UNKNOWN_COMMAND, s.kind, "err_command")

    # --- register bursts -------------------------------------------------------------------

    def _read_states(self, m, s):
        """READ: check every address, then take all the words in consecutive cycles
        into the snapshot, so that the reply is one instant's values (events and
        lost counters agree)."""
        snapshot = m.submodules.snapshot = memory.Memory(shape=32, depth=wire.MAX_BURST, init=[])
        snap_w = snapshot.write_port()
        s.snap_r = snapshot.read_port()
        # the bank answers two cycles after the read (it registers the
        # address's decoding, then the value)
        snap_en = Signal()
        asked, answered = Signal(), Signal()
        asked_index, answered_index = Signal.like(s.index), Signal.like(s.index)
        m.d.sync += [asked.eq(snap_en), asked_index.eq(s.index), answered.eq(asked),
                     answered_index.eq(asked_index)]
        m.d.comb += [snap_w.addr.eq(answered_index), snap_w.data.eq(self.reg_read_data), snap_w.en.eq(answered)]
        m.d.comb += s.snap_r.addr.eq(s.index)

        # the bank answers for the address of the previous cycle
        with m.State("CHECK_READ_FETCH"):
            m.next = "CHECK_READ"
        with m.State("CHECK_READ"):
            with m.If(~self.reg_exists):
                s.refuse(wire.ErrorCode.BAD_ADDRESS, s.addr, "err_address")
            with m.Elif(s.index == s.count - 1):
                m.d.sync += s.first_word()
                m.next = "SNAPSHOT_FETCH"
            with m.Else():
                m.d.sync += s.next_word()
                m.next = "CHECK_READ_FETCH"
        with m.State("SNAPSHOT_FETCH"):
            m.next = "SNAPSHOT"
        with m.State("SNAPSHOT"):
            m.d.comb += [self.reg_read.eq(1), snap_en.eq(1)]
            with m.If(s.index == s.count - 1):
                m.d.sync += s.first_word()
                s.tally("frames_ok")
                m.next = "OK_KIND"
            with m.Else():
                m.d.sync += s.next_word()

    def _write_states(self, m, s):
        """WRITE: check every address and value, then write them all."""
        # the word memory answers one cycle after its address (and the
        # bank for the address of the previous cycle)
        with m.State("CHECK_WRITE_FETCH"):
            m.next = "CHECK_WRITE_SETTLE"
        with m.State("CHECK_WRITE_SETTLE"):     # the bank checks the word a cycle after it arrives
            m.next = "CHECK_WRITE"
        with m.State("CHECK_WRITE"):
            with m.If(~self.reg_exists):
                s.refuse(wire.ErrorCode.BAD_ADDRESS, s.addr, "err_address")
            with m.Elif(~self.reg_writable):
                s.refuse(wire.ErrorCode.READ_ONLY, s.addr, "err_read_only")
            with m.Elif(~self.reg_value_ok):
                s.refuse(wire.ErrorCode.BAD_VALUE, s.addr, "err_value")
            with m.Elif(s.index == s.count - 1):
                m.d.sync += s.first_word()
                m.next = "WRITE_FETCH"
            with m.Else():
                m.d.sync += s.next_word()
                m.next = "CHECK_WRITE_FETCH"
        with m.State("WRITE_FETCH"):
            m.next = "WRITE"
        with m.State("WRITE"):
            m.d.comb += self.reg_write.eq(1)
            with m.If(s.index == s.count - 1):
                m.d.sync += s.first_word()
                s.tally("frames_ok")
                m.next = "OK_KIND"
            with m.Else():
                m.d.sync += s.next_word()
                m.next = "WRITE_FETCH"

    # --- replies ---------------------------------------------------------------------------

    def _ok_reply_states(self, m, s):
        """OK reply: kind, seq, then the command's data (IDENTIFY's payload, READ's words)."""
        identify = Array(Const(b, 8) for b in self._identify)
        send = s.send
        with m.State("OK_KIND"):
            send(wire.Reply.OK, 0, "OK_SEQ")
        with m.State("OK_SEQ"):
            with m.If(s.kind == wire.Command.IDENTIFY):
                send(s.seq, 0, "IDENTIFY")
            with m.Elif(s.kind == wire.Command.READ):
                send(s.seq, 0, "READ_LATCH")
            with m.Else():
                send(s.seq, 1, "RELEASE")
        with m.State("IDENTIFY"):
            last = s.byte_index == len(self._identify) - 1
            send(identify[s.byte_index], last, "IDENTIFY")
            with m.If(self.reply.ready):
                m.d.sync += s.byte_index.eq(s.byte_index + 1)
                with m.If(last):
                    m.next = "RELEASE"
        with m.State("READ_LATCH"):             # the snapshot answers one cycle after its address
            m.next = "READ_LOAD"
        with m.State("READ_LOAD"):             # (the word stays at the snapshot's output)
            m.d.sync += s.byte_index.eq(0)
            m.next = "READ_BYTES"
        with m.State("READ_BYTES"):
            final_word = s.index == s.count - 1
            last_byte = s.byte_index == 3
            send(s.snap_r.data.word_select(s.byte_index[:2], 8), final_word & last_byte, "READ_BYTES")
            with m.If(self.reply.ready):
                m.d.sync += s.byte_index.eq(s.byte_index + 1)
                with m.If(last_byte):
                    m.d.sync += s.next_word()
                    m.next = "READ_NEXT"
        with m.State("READ_NEXT"):
            with m.If(s.index == s.count):
                m.next = "RELEASE"
            with m.Else():
                m.next = "READ_LATCH"

    def _error_reply_states(self, m, s):
        """ERROR reply: kind, seq, code, detail (little-endian)."""
        send = s.send
        with m.State("ERR_KIND"):
            send(wire.Reply.ERROR, 0, "ERR_SEQ")
        with m.State("ERR_SEQ"):
            # a frame too short to have a seq is answered with seq 0
            send(Mux(s.length >= 2, s.seq, 0), 0, "ERR_CODE")
        with m.State("ERR_CODE"):
            send(s.err_code, 0, "ERR_LO")
        with m.State("ERR_LO"):
            send(s.err_detail[:8], 0, "ERR_HI")
        with m.State("ERR_HI"):
            send(s.err_detail[8:], 1, "RELEASE")

    # --- SCHEDULE --------------------------------------------------------------------------

    def _schedule_states(self, m, s):
        """SCHEDULE: check every event's control word, and that each queue has
        room for this frame's events on it, then push them all (nothing of a
        refused frame is pushed: its events count in ``refused``)."""
        index, event, tallies, count = s.index, s.event, s.tallies, s.count
        refuse, tally = s.refuse, s.tally
        control = data.View(EVENT_CONTROL, self.word_data)
        output, action, width = control.output, control.action, control.width
        pulse = action == wire.OutputAction.PULSE
        valid = (output < self.outputs) & (action != 0) & Mux(pulse, width != 0, width == 0)
        tally_of = Array(tallies)[output]
        free_of = Array(self.queue_free)[output]
        time_lo = Signal(32)
        time_hi = Signal(32)
        with m.State("SCHED_CHECK_FETCH"):              # the word memory answers a cycle later
            m.next = "SCHED_CHECK"
        with m.State("SCHED_CHECK"):
            with m.If(~valid):
                refuse(wire.ErrorCode.BAD_VALUE, event, "err_value")
            with m.Elif(tally_of >= free_of):
                m.d.comb += self.refused.eq(count)     # (counted by event, in seq_refused)
                refuse(wire.ErrorCode.QUEUE_FULL, free_of, None)
            with m.Else():
                for k, t in enumerate(tallies):
                    with m.If(output == k):
                        m.d.sync += t.eq(t + 1)
                with m.If(event == count - 1):
                    m.d.sync += [index.eq(0), event.eq(0)]
                    m.next = "SCHED_LO_FETCH"
                with m.Else():
                    m.d.sync += [index.eq(index + wire.EVENT_WORDS), event.eq(event + 1)]
                    m.next = "SCHED_CHECK_FETCH"
        # (the word memory answers for the address of the previous cycle)
        with m.State("SCHED_LO_FETCH"):
            m.d.sync += index.eq(index + 1)
            m.next = "SCHED_LO"
        with m.State("SCHED_LO"):
            m.d.sync += [time_lo.eq(self.word_data), index.eq(index + 1)]
            m.next = "SCHED_HI"
        with m.State("SCHED_HI"):
            m.d.sync += time_hi.eq(self.word_data)
            m.next = "SCHED_PUSH"
        with m.State("SCHED_PUSH"):
            m.d.comb += [self.schedule.valid.eq(1), self.schedule.payload.time.eq(Cat(time_lo, time_hi)),
                         self.schedule.payload.control.eq(control)]
            with m.If(self.schedule.ready):
                with m.If(event == count - 1):
                    tally("frames_ok")
                    m.next = "OK_KIND"
                with m.Else():
                    m.d.sync += [index.eq(index + 1), event.eq(event + 1)]
                    m.next = "SCHED_LO_FETCH"

