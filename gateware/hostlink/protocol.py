"""The command engine: executes checked request frames and builds the replies."""


from amaranth.hdl import Module, Signal, Mux, Cat, Const, Array
from amaranth.lib import wiring, stream, memory, data
from amaranth.lib.wiring import In, Out

from qnu import wire
from .framing import body_byte, frame_info, header_layout, RxStatus

__all__ = ["CommandEngine", "COUNTED", "SCHEDULED"]

#: the counters a frame can move, one strobe each (registers ``err_*`` and ``frames_ok``)
COUNTED = data.StructLayout({name: 1 for name in (
    "err_crc", "err_length", "err_command", "err_address", "err_read_only", "err_value", "frames_ok")})

#: a SCHEDULE event on its way to the sequencer
SCHEDULED = data.StructLayout({"time": 64, "control": 32})


class CommandEngine(wiring.Component):
    """Execute one frame from a :class:`FrameReceiver` at a time.

    Every frame is checked whole before anything is applied: its CRC and
    length, its command, and, for a register burst, every address (and for a
    write every value) before the first register is touched. A refused frame
    gets an ERROR reply, pulses the matching ``counted`` strobe (the node's
    ``err_*`` counters) and changes nothing else; an executed frame pulses
    ``counted.frames_ok``. Replies go out on ``reply`` as body bytes.
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
        hdr = self.header
        kind, seq = hdr[0], hdr[1]
        base = Cat(hdr[2], hdr[3])
        count = hdr[4]
        # the frame's length and status stay put until RELEASE takes the frame
        length = self.frame.payload.length
        status = self.frame.payload.status

        index = Signal(range(wire.MAX_BURST + 1))
        err_code = Signal(8)
        err_detail = Signal(16)
        byte_index = Signal(range(len(self._identify) + 1))
        identify = Array(Const(b, 8) for b in self._identify)
        # SCHEDULE: the event being checked or pushed, and each queue's events in this frame
        event = Signal(range(wire.MAX_SCHEDULE + 1))
        tallies = [Signal(range(wire.MAX_SCHEDULE + 1), name=f"tally{k}") for k in range(self.outputs)]

        # A READ burst's words are all taken in consecutive cycles before the
        # reply starts, so that it is a snapshot (events and lost counters agree).
        snapshot = m.submodules.snapshot = memory.Memory(shape=32, depth=wire.MAX_BURST, init=[])
        snap_w = snapshot.write_port()
        snap_r = snapshot.read_port()
        # the bank answers two cycles after the read (it registers the
        # address's decoding, then the value)
        snap_en = Signal()
        asked, answered = Signal(), Signal()
        asked_index, answered_index = Signal.like(index), Signal.like(index)
        m.d.sync += [asked.eq(snap_en), asked_index.eq(index), answered.eq(asked), answered_index.eq(asked_index)]
        m.d.comb += [snap_w.addr.eq(answered_index), snap_w.data.eq(self.reg_read_data), snap_w.en.eq(answered)]
        m.d.comb += snap_r.addr.eq(index)

        # the register address, base + index, kept in a register: no adder in
        # front of the bank's decoder. Every change of index goes through these.
        addr = Signal.like(self.reg_addr)

        def first_word():
            return [index.eq(0), addr.eq(base)]

        def next_word():
            return [index.eq(index + 1), addr.eq(addr + 1)]

        m.d.sync += self.events_request.eq(0)
        m.d.comb += [
            self.events_seq.eq(seq),
            self.reg_addr.eq(addr),
            self.word_addr.eq(index),
            self.reg_write_data.eq(self.word_data),
        ]

        def tally(name):
            m.d.comb += getattr(self.counted, name).eq(1)

        def refuse(code, detail, counter):
            m.d.sync += [err_code.eq(code), err_detail.eq(detail)]
            if counter:
                tally(counter)
            m.next = "ERR_KIND"

        def send(value, last, then):
            m.d.comb += [self.reply.valid.eq(1), self.reply.payload.data.eq(value),
                         self.reply.payload.last.eq(last)]
            with m.If(self.reply.ready):
                m.next = then

        # What DISPATCH decides on, registered while the frame arrives (its
        # length, status and header stay put until RELEASE): no comparison
        # of the length stands between the frame and the state register.
        burst_ok = (count >= 1) & (count <= wire.MAX_BURST)
        checks = {
            "bad_crc": status == RxStatus.BAD_CRC,
            "bad_length": status == RxStatus.BAD_LENGTH,
            "identify": kind == wire.Command.IDENTIFY,
            "read": kind == wire.Command.READ,
            "write": kind == wire.Command.WRITE,
            "read_events": kind == wire.Command.READ_EVENTS,
            "stream": kind == wire.Command.STREAM,
            "length_4": length == 4,
            "length_5": length == 5,
            "read_fits": (length == 7) & burst_ok,
            "write_fits": (length == 7 + 4 * count) & burst_ok,
            "stream_bad": hdr[2] > 1,
            "schedule": kind == wire.Command.SCHEDULE,
            "schedule_fits": (length == 7 + 4 * wire.EVENT_WORDS * count) & (count >= 1) &
                             (count <= wire.MAX_SCHEDULE),
            "schedule_reserved": (hdr[2] != 0) | (hdr[3] != 0),
        }
        check = {name: Signal(name=f"check_{name}") for name in checks}
        m.d.sync += [check[name].eq(value) for name, value in checks.items()]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.frame.valid):
                    m.d.sync += first_word()
                    m.next = "DISPATCH"

            with m.State("DISPATCH"):
                with m.If(check["bad_crc"]):
                    refuse(wire.ErrorCode.BAD_CRC, 0, "err_crc")
                with m.Elif(check["bad_length"]):
                    refuse(wire.ErrorCode.BAD_LENGTH, length, "err_length")
                with m.Elif(check["identify"]):
                    with m.If(check["length_4"]):
                        m.d.sync += byte_index.eq(0)
                        tally("frames_ok")
                        m.next = "OK_KIND"
                    with m.Else():
                        refuse(wire.ErrorCode.BAD_LENGTH, length, "err_length")
                with m.Elif(check["read"]):
                    with m.If(check["read_fits"]):
                        m.next = "CHECK_READ_FETCH"
                    with m.Else():
                        refuse(wire.ErrorCode.BAD_LENGTH, length, "err_length")
                with m.Elif(check["write"]):
                    with m.If(check["write_fits"]):
                        m.next = "CHECK_WRITE_FETCH"
                    with m.Else():
                        refuse(wire.ErrorCode.BAD_LENGTH, length, "err_length")
                with m.Elif(check["read_events"]):
                    with m.If(check["length_4"]):
                        m.d.sync += self.events_request.eq(1)
                        tally("frames_ok")
                        m.next = "EVENTS_WAIT"
                    with m.Else():
                        refuse(wire.ErrorCode.BAD_LENGTH, length, "err_length")
                with m.Elif(check["stream"]):
                    with m.If(~check["length_5"]):
                        refuse(wire.ErrorCode.BAD_LENGTH, length, "err_length")
                    with m.Elif(check["stream_bad"]):
                        refuse(wire.ErrorCode.BAD_VALUE, 0, "err_value")
                    with m.Else():
                        m.d.sync += self.stream_enable.eq(hdr[2][0])
                        tally("frames_ok")
                        m.next = "OK_KIND"
                if self.outputs:          # (a node without a sequencer does not know SCHEDULE)
                    with m.Elif(check["schedule"]):
                        with m.If(~check["schedule_fits"]):
                            refuse(wire.ErrorCode.BAD_LENGTH, length, "err_length")
                        with m.Elif(check["schedule_reserved"]):
                            refuse(wire.ErrorCode.BAD_VALUE, 0, "err_value")
                        with m.Else():
                            m.d.sync += [index.eq(wire.EVENT_WORDS - 1), event.eq(0)]
                            m.d.sync += [tally.eq(0) for tally in tallies]
                            m.next = "SCHED_CHECK_FETCH"
                with m.Else():
                    refuse(wire.ErrorCode.UNKNOWN_COMMAND, kind, "err_command")

            # the EVENTS frame is this frame's reply: the next frame's must not overtake it
            with m.State("EVENTS_WAIT"):
                with m.If(~self.events_request & ~self.events_busy):
                    m.next = "RELEASE"

            # the bank answers for the address of the previous cycle
            with m.State("CHECK_READ_FETCH"):
                m.next = "CHECK_READ"
            with m.State("CHECK_READ"):
                with m.If(~self.reg_exists):
                    refuse(wire.ErrorCode.BAD_ADDRESS, addr, "err_address")
                with m.Elif(index == count - 1):
                    m.d.sync += first_word()
                    m.next = "SNAPSHOT_FETCH"
                with m.Else():
                    m.d.sync += next_word()
                    m.next = "CHECK_READ_FETCH"
            with m.State("SNAPSHOT_FETCH"):
                m.next = "SNAPSHOT"
            with m.State("SNAPSHOT"):
                m.d.comb += [self.reg_read.eq(1), snap_en.eq(1)]
                with m.If(index == count - 1):
                    m.d.sync += first_word()
                    tally("frames_ok")
                    m.next = "OK_KIND"
                with m.Else():
                    m.d.sync += next_word()

            # the word memory answers one cycle after its address (and the
            # bank for the address of the previous cycle)
            with m.State("CHECK_WRITE_FETCH"):
                m.next = "CHECK_WRITE_SETTLE"
            with m.State("CHECK_WRITE_SETTLE"):     # the bank checks the word a cycle after it arrives
                m.next = "CHECK_WRITE"
            with m.State("CHECK_WRITE"):
                with m.If(~self.reg_exists):
                    refuse(wire.ErrorCode.BAD_ADDRESS, addr, "err_address")
                with m.Elif(~self.reg_writable):
                    refuse(wire.ErrorCode.READ_ONLY, addr, "err_read_only")
                with m.Elif(~self.reg_value_ok):
                    refuse(wire.ErrorCode.BAD_VALUE, addr, "err_value")
                with m.Elif(index == count - 1):
                    m.d.sync += first_word()
                    m.next = "WRITE_FETCH"
                with m.Else():
                    m.d.sync += next_word()
                    m.next = "CHECK_WRITE_FETCH"
            with m.State("WRITE_FETCH"):
                m.next = "WRITE"
            with m.State("WRITE"):
                m.d.comb += self.reg_write.eq(1)
                with m.If(index == count - 1):
                    m.d.sync += first_word()
                    tally("frames_ok")
                    m.next = "OK_KIND"
                with m.Else():
                    m.d.sync += next_word()
                    m.next = "WRITE_FETCH"

            if self.outputs:
                self._schedule_states(m, index, event, tallies, count, refuse, tally)

            # OK reply: kind, seq, then the command's data
            with m.State("OK_KIND"):
                send(wire.Reply.OK, 0, "OK_SEQ")
            with m.State("OK_SEQ"):
                with m.If(kind == wire.Command.IDENTIFY):
                    send(seq, 0, "IDENTIFY")
                with m.Elif(kind == wire.Command.READ):
                    send(seq, 0, "READ_LATCH")
                with m.Else():
                    send(seq, 1, "RELEASE")
            with m.State("IDENTIFY"):
                last = byte_index == len(self._identify) - 1
                send(identify[byte_index], last, "IDENTIFY")
                with m.If(self.reply.ready):
                    m.d.sync += byte_index.eq(byte_index + 1)
                    with m.If(last):
                        m.next = "RELEASE"
            with m.State("READ_LATCH"):             # the snapshot answers one cycle after its address
                m.next = "READ_LOAD"
            with m.State("READ_LOAD"):             # (the word stays at the snapshot's output)
                m.d.sync += byte_index.eq(0)
                m.next = "READ_BYTES"
            with m.State("READ_BYTES"):
                final_word = index == count - 1
                last_byte = byte_index == 3
                send(snap_r.data.word_select(byte_index[:2], 8), final_word & last_byte, "READ_BYTES")
                with m.If(self.reply.ready):
                    m.d.sync += byte_index.eq(byte_index + 1)
                    with m.If(last_byte):
                        m.d.sync += next_word()
                        m.next = "READ_NEXT"
            with m.State("READ_NEXT"):
                with m.If(index == count):
                    m.next = "RELEASE"
                with m.Else():
                    m.next = "READ_LATCH"

            # ERROR reply: kind, seq, code, detail (little-endian)
            with m.State("ERR_KIND"):
                send(wire.Reply.ERROR, 0, "ERR_SEQ")
            with m.State("ERR_SEQ"):
                # a frame too short to have a seq is answered with seq 0
                send(Mux(length >= 2, seq, 0), 0, "ERR_CODE")
            with m.State("ERR_CODE"):
                send(err_code, 0, "ERR_LO")
            with m.State("ERR_LO"):
                send(err_detail[:8], 0, "ERR_HI")
            with m.State("ERR_HI"):
                send(err_detail[8:], 1, "RELEASE")

            with m.State("RELEASE"):
                m.d.comb += self.frame.ready.eq(1)
                m.next = "IDLE"
        return m

    def _schedule_states(self, m, index, event, tallies, count, refuse, tally):
        """SCHEDULE: check every event's control word, and that each queue has
        room for this frame's events on it, then push them all (nothing of a
        refused frame is pushed: its events count in ``refused``)."""
        control = self.word_data
        output, action, width = control[:4], control[4:6], control[16:]
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

