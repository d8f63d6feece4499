"""Pack the event stream into EVENTS and EVENTS_READ frames (record format in qnu.wire)."""

from contextlib import contextmanager

from amaranth.hdl import Module, Signal, Mux, Cat, Const, signed
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out

from qnu import wire
from ..timing.event import EventKind, TIME_WIDTH, event_layout
from .framing import body_byte
from ..herald.unit import herald_record_layout, CLICK_WIDTH

__all__ = ["EventFramer"]

# the longest record: ABSOLUTE (9 bytes) then an OVERFLOW marker (11 + 1 + 5)
_LONGEST_RECORD = 9 + 11 + 1 + 5
# the longest herald record: ABSOLUTE, its varint, flags, attempt, pattern, 8 click times
_LONGEST_HERALD = 9 + 11 + 1 + 5 + 1 + 8 * ((CLICK_WIDTH + 6) // 7)


class EventFramer(wiring.Component):
    """Encode events as records into EVENTS and EVENTS_READ frame bodies.

    A frame opens on ``request`` (one EVENTS_READ frame, sent even if empty:
    the reply to READ_EVENTS, carrying ``request_seq``, the request's seq, which
    must hold still until ``request_busy`` falls, as the engine's header does) or,
    while ``stream_enable`` is high, when an event is waiting (an EVENTS frame,
    whose seq counts EVENTS frames).
    It closes when the next record might not fit in ``MAX_EVENTS_PAYLOAD``
    bytes, when a requested frame has drained what was waiting, or after
    ``flush_cycles`` cycles with no event while streaming. Each frame starts
    with the index of its first record (``records_sent`` then) and an ABSOLUTE
    record, so the host can decode any frame alone and count exactly the
    records of frames it lost.

    ``request_busy`` is high from ``request`` until the requested frame's last
    byte has been taken from ``body``: the command engine holds the next
    frame's reply back meanwhile, so replies go out in order.

    With ``heralds``, herald records (the herald unit's) go out too, before
    any waiting event: each is a record of the frame like a tag.
    """

    def __init__(self, channels, *, flush_cycles=4096, heralds=False):
        self.with_heralds = heralds
        if channels > wire.WIRE_CHANNELS:
            raise ValueError(f"the wire carries at most {wire.WIRE_CHANNELS} channels")
        self.flush_cycles = flush_cycles
        super().__init__({
            "events":        In(stream.Signature(event_layout(channels))),
            "stream_enable": In(1),
            "request":       In(1),
            "request_seq":   In(8),
            "request_busy":  Out(1),
            "body":          Out(stream.Signature(body_byte)),
            "records_sent":  Out(32),
            **({"heralds": In(stream.Signature(herald_record_layout()))} if heralds else {}),
        })

    def elaborate(self, platform):
        m = Module()
        out = self.body

        # One byte is held back, so that the frame's last byte can be marked
        # when the frame closes.
        hold = Signal(8)
        hold_valid = Signal()
        free = Signal()
        m.d.comb += free.eq(~out.valid | out.ready)
        with m.If(out.valid & out.ready):
            m.d.sync += out.valid.eq(0)

        def emit(value):
            with m.If(hold_valid):
                m.d.sync += [out.valid.eq(1), out.payload.data.eq(hold), out.payload.last.eq(0)]
            m.d.sync += [hold.eq(value), hold_valid.eq(1)]

        requested = Signal()
        with m.If(self.request):
            m.d.sync += requested.eq(1)

        seq = Signal(8)
        count = Signal(range(16))
        record_bytes = Signal(range(wire.MAX_EVENTS_PAYLOAD + 1))
        idle = Signal(range(self.flush_cycles + 1))
        opened_by_request = Signal()
        first = Signal()

        # The event being encoded stays at the head of ``events`` (the core
        # FIFO's output register) until its record is out: no copy of it here.
        p = self.events.payload
        is_marker = p.kind == EventKind.OVERFLOW
        code = Mux(is_marker, wire.RECORD_OVERFLOW, Cat(p.kind == EventKind.FALLING, p.channel))
        # a herald record goes first; `herald` says the record being encoded is one
        # (without heralds, none of this is built: the netlist is the tagger's alone)
        if self.with_heralds:
            herald = Signal()
            stamp = Signal(TIME_WIDTH)
            in_next = Signal()
            h = self.heralds.payload
            pick = Mux(in_next, self.heralds.valid, herald)
            m.d.comb += [stamp.eq(Mux(pick, h.reference, p.timestamp))]
            code = Mux(herald, wire.RECORD_HERALD, code)
            waiting_herald = self.heralds.valid
        else:
            stamp = p.timestamp
        base = Signal(TIME_WIDTH)
        # its sign says whether time stepped back; a register: the subtraction
        # takes the whole cycle on a small FPGA (DECIDE waits for it)
        delta = Signal(signed(TIME_WIDTH + 1))
        m.d.sync += delta.eq(stamp - base)
        varint = Signal(TIME_WIDTH + 7)

        def record_done():
            if self.with_heralds:
                m.d.comb += [self.events.ready.eq(~herald), self.heralds.ready.eq(herald)]
            else:
                m.d.comb += self.events.ready.eq(1)
            m.d.sync += self.records_sent.eq(self.records_sent + 1)
            m.next = "NEXT"

        @contextmanager
        def send_varint_byte():
            # LEB128: the low 7 bits, with the top bit set while more follow;
            # the body of the `with` runs on the varint's last byte
            more = (varint >> 7) != 0
            with m.If(free):
                emit(Cat(varint[:7], more))
                m.d.sync += [varint.eq(varint >> 7), record_bytes.eq(record_bytes + 1)]
                with m.If(~more):
                    yield

        with m.FSM() as fsm:
            with m.State("IDLE"):
                pending = self.events.valid | self.heralds.valid if self.with_heralds else self.events.valid
                with m.If(requested | (self.stream_enable & pending)):
                    m.d.sync += [
                        count.eq(6), record_bytes.eq(0), idle.eq(0), first.eq(1),
                        opened_by_request.eq(requested), requested.eq(0),
                    ]
                    m.next = "HEADER"
            with m.State("HEADER"):         # (records_sent stays put until a record is out)
                header = Cat(Mux(opened_by_request, Const(wire.Reply.EVENTS_READ, 8), Const(wire.Reply.EVENTS, 8)),
                             Mux(opened_by_request, self.request_seq, seq), self.records_sent)
                with m.If(free):
                    emit(header.word_select((6 - count)[:3], 8))
                    m.d.sync += count.eq(count - 1)
                    with m.If(count == 1):
                        m.next = "NEXT"
            with m.State("NEXT"):
                if self.with_heralds:
                    m.d.comb += in_next.eq(1)
                    longest = Mux(waiting_herald, _LONGEST_HERALD, _LONGEST_RECORD)
                    waiting = self.events.valid | waiting_herald
                    m.d.sync += herald.eq(waiting_herald)
                else:
                    longest, waiting = _LONGEST_RECORD, self.events.valid
                full = record_bytes > wire.MAX_EVENTS_PAYLOAD - longest
                with m.If(full):
                    m.next = "CLOSE"
                with m.Elif(waiting):
                    m.d.sync += idle.eq(0)
                    m.next = "DECIDE"
                with m.Elif(opened_by_request | ~self.stream_enable | (idle == self.flush_cycles)):
                    m.next = "CLOSE"
                with m.Else():
                    m.d.sync += idle.eq(idle + 1)
            with m.State("DECIDE"):         # (the head and the base held still for a cycle)
                with m.If(first | (delta < 0)):
                    m.d.sync += [count.eq(9), first.eq(0)]
                    m.next = "ABSOLUTE"
                with m.Else():
                    m.d.sync += varint.eq(Cat(code, delta[:TIME_WIDTH]))
                    m.next = "VARINT"
            with m.State("ABSOLUTE"):
                with m.If(free):
                    with m.If(count == 9):
                        emit(wire.RECORD_ABSOLUTE)
                    with m.Else():              # the timestamp, little-endian
                        emit(stamp.word_select((8 - count)[:3], 8))
                    m.d.sync += [count.eq(count - 1), record_bytes.eq(record_bytes + 1)]
                    with m.If(count == 1):
                        # the record itself follows, at a delta of zero from the new base
                        m.d.sync += [base.eq(stamp), varint.eq(code)]
                        m.next = "VARINT"
            with m.State("VARINT"):
                with send_varint_byte():
                    m.d.sync += base.eq(stamp)
                    if self.with_heralds:
                        with m.If(herald):
                            m.next = "HERALD_FLAGS"
                        with m.Elif(is_marker):
                            m.next = "MARKER_CHANNEL"
                        with m.Else():
                            record_done()
                    else:
                        with m.If(is_marker):
                            m.next = "MARKER_CHANNEL"
                        with m.Else():
                            record_done()
            with m.State("MARKER_CHANNEL"):
                with m.If(free):
                    emit(p.channel)
                    m.d.sync += [varint.eq(p.lost), record_bytes.eq(record_bytes + 1)]
                    m.next = "MARKER_LOST"
            with m.State("MARKER_LOST"):
                with send_varint_byte():
                    record_done()
            if self.with_heralds:
                self._herald_states(m, h, emit, free, varint, record_bytes, send_varint_byte, record_done)
            with m.State("CLOSE"):
                with m.If(free):
                    m.d.sync += [out.valid.eq(1), out.payload.data.eq(hold), out.payload.last.eq(1),
                                 hold_valid.eq(0)]
                    with m.If(~opened_by_request):
                        m.d.sync += seq.eq(seq + 1)
                    m.next = "IDLE"
        # a requested frame is done once its last byte has left ``body``
        m.d.comb += self.request_busy.eq(self.request | requested |
                                         (opened_by_request & (~fsm.ongoing("IDLE") | out.valid)))
        return m

    @staticmethod
    def _herald_states(m, h, emit, free, varint, record_bytes, send_varint_byte, record_done):
        """A herald record's fields after its first varint (format in qnu.wire)."""
        index = Signal(range(len(h.pattern) + 1))
        with m.State("HERALD_FLAGS"):
            with m.If(free):
                emit(Cat(h.outcome, h.multi))
                m.d.sync += [varint.eq(h.attempt), record_bytes.eq(record_bytes + 1)]
                m.next = "HERALD_ATTEMPT"
        with m.State("HERALD_ATTEMPT"):
            with send_varint_byte():
                m.next = "HERALD_PATTERN"
        with m.State("HERALD_PATTERN"):
            with m.If(free):
                emit(h.pattern)
                m.d.sync += [index.eq(0), record_bytes.eq(record_bytes + 1)]
                m.next = "HERALD_CLICK"
        with m.State("HERALD_CLICK"):           # the next pattern bit's click time, if any
            with m.If(index == len(h.pattern)):
                record_done()
            with m.Else():
                m.d.sync += [index.eq(index + 1), varint.eq(h.clicks.as_value().word_select(index, CLICK_WIDTH))]
                with m.If(h.pattern.bit_select(index, 1)):
                    m.next = "HERALD_CLICK_TIME"
        with m.State("HERALD_CLICK_TIME"):
            with send_varint_byte():
                m.next = "HERALD_CLICK"
