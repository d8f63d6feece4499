"""UART, 8N1, least significant bit first; the bit time is ``divisor`` clock cycles."""

from amaranth.hdl import Module, Signal, Cat
from amaranth.lib import wiring, stream
from amaranth.lib.wiring import In, Out
from amaranth.lib.cdc import FFSynchronizer

__all__ = ["UARTTransmitter", "UARTReceiver"]


def _check(divisor):
    if divisor < 4:
        raise ValueError(f"the UART divisor must be at least 4 cycles per bit, not {divisor}")


class UARTTransmitter(wiring.Component):
    """Sends each byte of ``data``; ``tx`` idles high."""

    def __init__(self, divisor):
        _check(divisor)
        self.divisor = divisor
        super().__init__({
            "data": In(stream.Signature(8)),
            "tx":   Out(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        shift = Signal(10)          # stop, data[7:0], start: sent LSB first
        bits = Signal(range(11))

        m.d.comb += self.data.ready.eq(bits == 0)
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += [
                shift.eq(Cat(0, self.data.payload, 1)),
                bits.eq(10),
                timer.eq(0),
            ]
        with m.Elif(bits != 0):
            m.d.sync += self.tx.eq(shift[0])
            with m.If(timer == 0):
                m.d.sync += self.tx.eq(shift[0])
            with m.If(timer == self.divisor - 1):
                m.d.sync += [timer.eq(0), shift.eq(shift >> 1), bits.eq(bits - 1)]
            with m.Else():
                m.d.sync += timer.eq(timer + 1)
        with m.Else():
            m.d.sync += self.tx.eq(1)
        return m


class UARTReceiver(wiring.Component):
    """Receives bytes from ``rx`` into ``data`` (always accepted downstream).

    A byte whose stop bit is low is dropped and flagged on ``framing_error``
    for one cycle; the receiver then waits for the line to idle high, so a
    held-low line (a pulled cable, a break) cannot make it spin.
    """

    def __init__(self, divisor):
        _check(divisor)
        self.divisor = divisor
        super().__init__({
            "rx":            In(1, init=1),
            "data":          Out(stream.Signature(8, always_ready=True)),
            "framing_error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)

        timer = Signal(range(self.divisor))
        bits = Signal(range(9))
        shift = Signal(8)
        m.d.sync += [self.data.valid.eq(0), self.framing_error.eq(0)]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(rx):                    # a glitch, not a start bit
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [timer.eq(self.divisor - 1), bits.eq(8)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [shift.eq(Cat(shift[1:], rx)), timer.eq(self.divisor - 1)]
                    with m.If(bits == 1):
                        m.next = "STOP"
                    with m.Else():
                        m.d.sync += bits.eq(bits - 1)
            with m.State("STOP"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(rx):
                    m.d.sync += [self.data.valid.eq(1), self.data.payload.eq(shift)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += self.framing_error.eq(1)
                    m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(rx):
                    m.next = "IDLE"
        return m
