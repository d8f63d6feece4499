"""iCE40 DDR I/O PHYs: two samples per cycle of one clock domain, through SB_IO.

Sample order, as the timing core expects: ``samples`` is
``data.ArrayLayout(2, channels)``; ``samples[c]`` is channel ``c``'s word for
one cycle, bit 0 the earlier sample, bit 1 the later.

``ICE40DDRInput(ports)`` (SB_IO ``PIN_TYPE`` 0b000000, registered DDR input):
the SB_IO samples the pin on the rising edge of the domain's clock (D_IN_0)
and on the falling edge (D_IN_1), per the iCE40 Technology Library. A fabric
register takes both on the next rising edge, so the pin's value at rising edge
``n`` (bit 0) and at ``n + T/2`` (bit 1) is on ``samples`` from rising edge
``n + 1``: one cycle of latency, the two bits of a word from one clock period.
The re-register also turns the half-cycle path from the falling-edge flop into
a whole-cycle one.

``ICE40DDROutput(ports)`` (SB_IO ``PIN_TYPE`` 0b010001, DDR output): the word
on ``samples`` at rising edge ``n`` drives the pin with bit 0 during
``[n, n + T/2)`` and bit 1 during ``[n + T/2, n + T)``, i.e. like any
registered output, no added latency. Bit 1 goes through a fabric register on
the rising edge first, so the SB_IO's falling-edge flop sees a whole cycle of
setup (as Amaranth's own iCE40 DDR buffer does).

``ports`` is an Amaranth 0.5 io port (``platform.request(name, number,
dir="-")``, or ``io.SingleEndedPort(io.IOPort(...))``); one SB_IO per bit, a
port's ``invert`` is honoured. A ``DifferentialPort`` uses its ``p`` pin (on
iCE40 the SB_IO of the positive pad reads an LVDS pair). The PHYs use only the
port and the clock domain, so they synthesise on their own.
"""

from amaranth.hdl import C, Cat, ClockSignal, Instance, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .io_ports import invert_mask as _mask, port_pins as _pins

__all__ = ["ICE40DDRInput", "ICE40DDROutput"]

PIN_INPUT_DDR = 0b00          # PIN_TYPE[1:0]: registered input, D_IN_0 rising / D_IN_1 falling
PIN_INPUT = 0b01              # PIN_TYPE[1:0]: plain input (an output-only pin needs no input clock)
PIN_NO_OUTPUT = 0b0000        # PIN_TYPE[5:2]
PIN_OUTPUT_DDR = 0b0100       # PIN_TYPE[5:2]: D_OUT_0 while the clock is high, D_OUT_1 while low


class ICE40DDRInput(wiring.Component):
    """Two samples per ``domain`` cycle per pin; bit 0 earlier. Latency one cycle."""

    def __init__(self, ports, *, domain="sync"):
        self._ports = ports
        self._domain = domain
        super().__init__({"samples": Out(data.ArrayLayout(2, len(ports)))})

    def elaborate(self, platform):
        m = Module()
        pins, invert = _pins(self._ports)
        rising = Signal(len(pins))
        falling = Signal(len(pins))
        for bit in range(len(pins)):
            m.submodules[f"sb_io{bit}"] = Instance(
                "SB_IO",
                p_PIN_TYPE=C((PIN_NO_OUTPUT << 2) | PIN_INPUT_DDR, 6),
                io_PACKAGE_PIN=pins[bit],
                i_INPUT_CLK=ClockSignal(self._domain),
                o_D_IN_0=rising[bit],
                o_D_IN_1=falling[bit],
            )
        # at rising edge n+1: D_IN_0 still holds the sample of edge n, D_IN_1 that of n + T/2
        rising = rising ^ _mask(invert)
        falling = falling ^ _mask(invert)
        for c in range(len(pins)):
            m.d[self._domain] += self.samples[c].eq(Cat(rising[c], falling[c]))
        return m


class ICE40DDROutput(wiring.Component):
    """Drives bit 0 of each word in the high half of the ``domain`` cycle, bit 1 in the low half."""

    def __init__(self, ports, *, domain="sync"):
        self._ports = ports
        self._domain = domain
        super().__init__({"samples": In(data.ArrayLayout(2, len(ports)))})

    def elaborate(self, platform):
        m = Module()
        pins, invert = _pins(self._ports)
        first = Signal(len(pins))
        second = Signal(len(pins))          # registered: whole-cycle setup to the falling edge
        for c in range(len(pins)):
            m.d.comb += first[c].eq(self.samples[c][0])
            m.d[self._domain] += second[c].eq(self.samples[c][1])
        first = first ^ _mask(invert)
        second = second ^ _mask(invert)
        for bit in range(len(pins)):
            m.submodules[f"sb_io{bit}"] = Instance(
                "SB_IO",
                p_PIN_TYPE=C((PIN_OUTPUT_DDR << 2) | PIN_INPUT, 6),
                io_PACKAGE_PIN=pins[bit],
                i_OUTPUT_CLK=ClockSignal(self._domain),
                i_D_OUT_0=first[bit],
                i_D_OUT_1=second[bit],
            )
        return m
