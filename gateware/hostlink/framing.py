"""SLIP framing with a CRC-16, both ways (see qnu.wire for the format)."""

from amaranth.hdl import Module, Signal, Mux
from amaranth.lib import wiring, stream, data, memory
from amaranth.lib.crc import catalog
from amaranth.lib.wiring import In, Out

from qnu import wire

__all__ = ["FrameReceiver", "FrameTransmitter", "FrameArbiter", "body_byte", "frame_info", "header_layout",
           "RxStatus", "HEADER_BYTES"]

HEADER_BYTES = 2 + wire.BURST_HEADER.size     # kind, seq and a burst's header are kept in registers

body_byte = data.StructLayout({"data": 8, "last": 1})
# the body length as counted, up to 0xFFFF (an ERROR detail is a u16): BAD_LENGTH reports it
frame_info = data.StructLayout({"length": 16, "status": 2})
header_layout = data.ArrayLayout(8, HEADER_BYTES)


class RxStatus:
    OK, BAD_CRC, BAD_LENGTH = 0, 1, 2


class FrameReceiver(wiring.Component):
    """Decode SLIP frames from a byte stream and check their CRC.

    A frame's first ``HEADER_BYTES`` body bytes land in ``header``; later bytes
    are gathered into 32-bit little-endian words in a small memory, word ``i``
    holding body bytes ``HEADER_BYTES + 4i ...`` (a WRITE burst's values), read
    through ``word_addr``/``word_data`` (one cycle of latency). At each closing
    END of a non-empty frame, ``frame.valid`` rises with the body length and a
    status; the receiver then waits, taking no bytes, until ``frame.ready``.
    A frame longer than ``wire.MAX_REQUEST_BODY`` or with a bad escape is reported as
    BAD_LENGTH or BAD_CRC; its bytes are never applied.
    """

    def __init__(self):
        self.max_body = max_body = wire.MAX_REQUEST_BODY
        self.words = (max_body - HEADER_BYTES + 3) // 4
        super().__init__({
            "bytes_in":  In(stream.Signature(8)),
            "frame":     Out(stream.Signature(frame_info)),
            "header":    Out(header_layout),
            "word_addr": In(range(self.words)),
            "word_data": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        crc = m.submodules.crc = catalog.CRC16_CCITT_FALSE(data_width=8).create()
        words = m.submodules.words = memory.Memory(shape=32, depth=self.words, init=[])
        w_port = words.write_port(granularity=8)
        r_port = words.read_port()
        m.d.comb += [r_port.addr.eq(self.word_addr), self.word_data.eq(r_port.data)]

        length = Signal(16)             # saturates at 0xFFFF
        escaped = Signal()
        bad_escape = Signal()

        byte = self.bytes_in.payload
        take = Signal()
        m.d.comb += [
            self.bytes_in.ready.eq(~self.frame.valid),
            take.eq(self.bytes_in.valid & self.bytes_in.ready),
        ]

        # the body byte this input byte stands for, if any
        out_valid = Signal()
        out_byte = Signal(8)
        with m.If(take):
            with m.If(byte == wire.END):
                with m.If((length != 0) | bad_escape):
                    status = Mux(bad_escape, RxStatus.BAD_CRC,
                                 Mux((length > self.max_body) | (length < 4), RxStatus.BAD_LENGTH,
                                     Mux(crc.match_detected, RxStatus.OK, RxStatus.BAD_CRC)))
                    m.d.sync += [
                        self.frame.valid.eq(1),
                        self.frame.payload.length.eq(length),
                        self.frame.payload.status.eq(status),
                    ]
                m.d.sync += [length.eq(0), escaped.eq(0), bad_escape.eq(0)]
                m.d.comb += crc.start.eq(1)
            with m.Elif(escaped):
                m.d.sync += escaped.eq(0)
                with m.If(byte == wire.ESC_END):
                    m.d.comb += [out_valid.eq(1), out_byte.eq(wire.END)]
                with m.Elif(byte == wire.ESC_ESC):
                    m.d.comb += [out_valid.eq(1), out_byte.eq(wire.ESC)]
                with m.Else():
                    m.d.sync += bad_escape.eq(1)
            with m.Elif(byte == wire.ESC):
                m.d.sync += escaped.eq(1)
            with m.Else():
                m.d.comb += [out_valid.eq(1), out_byte.eq(byte)]

        with m.If(self.frame.valid & self.frame.ready):
            m.d.sync += self.frame.valid.eq(0)

        with m.If(out_valid):
            m.d.comb += [crc.data.eq(out_byte), crc.valid.eq(1)]
            with m.If(length != 0xFFFF):
                m.d.sync += length.eq(length + 1)
            for i in range(HEADER_BYTES):
                with m.If(length == i):
                    m.d.sync += self.header[i].eq(out_byte)
            offset = length - HEADER_BYTES
            with m.If((length >= HEADER_BYTES) & (length < self.max_body)):
                m.d.comb += [
                    w_port.addr.eq(offset[2:]),
                    w_port.data.eq(out_byte.replicate(4)),
                    w_port.en.eq(1 << offset[:2]),
                ]
        return m


class FrameTransmitter(wiring.Component):
    """Frame a stream of body bytes (``last`` on the final one): END, the
    escaped body, its escaped CRC (big-endian), END."""

    def __init__(self):
        super().__init__({
            "body":      In(stream.Signature(body_byte)),
            "bytes_out": Out(stream.Signature(8)),
        })

    def elaborate(self, platform):
        m = Module()
        crc = m.submodules.crc = catalog.CRC16_CCITT_FALSE(data_width=8).create()

        out = self.bytes_out
        pending = Signal(8)          # byte to send after an ESC
        crc_value = crc.crc             # (it holds once the last byte is in)
        sent = out.valid & out.ready

        def emit(value):
            return [out.valid.eq(1), out.payload.eq(value)]

        def emit_escaped(value, then):
            # value goes out now, or ESC now and the substitute next
            with m.If((value == wire.END) | (value == wire.ESC)):
                m.d.sync += emit(wire.ESC)
                m.d.sync += pending.eq(Mux(value == wire.END, wire.ESC_END, wire.ESC_ESC))
                m.next = f"ESCAPED_{then}"
            with m.Else():
                m.d.sync += emit(value)
                m.next = then

        with m.If(sent):
            m.d.sync += out.valid.eq(0)
        free = ~out.valid | out.ready

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.body.valid & free):
                    m.d.sync += emit(wire.END)
                    m.d.comb += crc.start.eq(1)
                    m.next = "BODY"
            for state in ("BODY", "CRC_LO", "CLOSE"):
                with m.State(f"ESCAPED_{state}"):
                    with m.If(free):
                        m.d.sync += emit(pending)
                        m.next = state
            with m.State("BODY"):
                m.d.comb += self.body.ready.eq(free)
                with m.If(self.body.valid & free):
                    m.d.comb += [crc.data.eq(self.body.payload.data), crc.valid.eq(1)]
                    with m.If(self.body.payload.last):
                        emit_escaped(self.body.payload.data, "CRC_HI_WAIT")
                    with m.Else():
                        emit_escaped(self.body.payload.data, "BODY")
            with m.State("ESCAPED_CRC_HI_WAIT"):
                with m.If(free):
                    m.d.sync += emit(pending)
                    m.next = "CRC_HI_WAIT"
            with m.State("CRC_HI_WAIT"):             # the CRC register settles one cycle after the last byte
                m.next = "CRC_HI"
            with m.State("CRC_HI"):
                with m.If(free):
                    emit_escaped(crc_value[8:], "CRC_LO")
            with m.State("CRC_LO"):
                with m.If(free):
                    emit_escaped(crc_value[:8], "CLOSE")
            with m.State("CLOSE"):
                with m.If(free):
                    m.d.sync += emit(wire.END)
                    m.next = "IDLE"
        return m


class FrameArbiter(wiring.Component):
    """Whole frames of body bytes from ``count`` sources onto one output, a frame
    at a time: when the output is free, the lowest-numbered source with a byte
    waiting takes it until its ``last`` byte has gone (the node's replies are
    source 0, so they go before its EVENTS frames)."""

    def __init__(self, count):
        self.count = count
        super().__init__({
            **{f"source{i}": In(stream.Signature(body_byte)) for i in range(count)},
            "out": Out(stream.Signature(body_byte)),
        })

    def sources(self):
        return [getattr(self, f"source{i}") for i in range(self.count)]

    def elaborate(self, platform):
        m = Module()
        owner = Signal(range(self.count + 1))        # 0: none; i + 1: source i
        sources = self.sources()
        with m.If(owner == 0):
            for i, src in reversed(list(enumerate(sources))):
                with m.If(src.valid):
                    m.d.sync += owner.eq(i + 1)
        for i, src in enumerate(sources):
            with m.If(owner == i + 1):
                m.d.comb += [
                    self.out.valid.eq(src.valid),
                    self.out.payload.eq(src.payload),
                    src.ready.eq(self.out.ready),
                ]
                with m.If(src.valid & self.out.ready & src.payload.last):
                    m.d.sync += owner.eq(0)
        return m
