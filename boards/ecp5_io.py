"""ECP5 I/O PHYs: x2 input/output gearing (4 samples per SCLK cycle) and a DDR fallback.

Sample order, as the timing core expects: ``samples`` is
``data.ArrayLayout(N, channels)``; ``samples[c]`` is channel ``c``'s word for
one cycle, bit 0 the earliest sample, bit N-1 the latest. Output PHYs take the
same layout and drive bit 0 first.

Clocks (Lattice TN1265 / FPGA-TN-02035, "ECP5 and ECP5-5G High-Speed I/O
Interface", generic GDDRX2):

``ECP5EdgeClocks(init_domain="sync", hold_cycles=8, define_domains=False)``
takes the fast clock ``eclk_in`` (a PLL output at the bit rate / 2, e.g.
400 MHz for 800 Mb/s) and drives two clock domains: ``eclk`` (through
ECLKSYNCB) and ``sclk`` = eclk / 2 (CLKDIVF DIV="2.0", e.g. 200 MHz). Define
them in a common parent (``m.domains.eclk = ClockDomain()``, same for
``sclk``; Amaranth 0.6 requires it), or pass ``define_domains=True`` to have
them defined here (Amaranth 0.5 accepts it with a deprecation warning). It runs the start-up sequence Lattice
requires so that SCLK and the gearing registers agree on where a word begins:
stop the edge clock (ECLKSYNCB STOP), assert the reset of CLKDIVF and of the
IDDRX2F/ODDRX2F, release it, restart the edge clock; then ``ready``. The
sequencer runs in ``init_domain`` (a clock that keeps running while ECLK is
stopped), each step ``hold_cycles`` long; it starts again from "stop" whenever
``locked`` (the PLL's lock, default 1) falls. The ``eclk`` domain's reset *is*
that gearing reset; the ``sclk`` domain's reset is held until ``ready`` and
released synchronously to SCLK.

``ECP5InputX2(ports)``: one IDDRX2F per pin; ``samples: Out(ArrayLayout(4, n))``
in ``sclk``. The four samples taken at the ECLK edges t, t+UI, t+2UI, t+3UI
(t an SCLK rising edge, UI = half an ECLK period) are on ``samples`` after the
SCLK rising edge t + 2 SCLK periods: latency two SCLK cycles (the pipeline of
Lattice's IDDRX2F simulation library, see ``sim/vendor/ecp5/IDDRX2F.v``).

``ECP5OutputX2(ports)``: one ODDRX2F per pin; ``samples: In(ArrayLayout(4, n))``
in ``sclk``. The word on ``samples`` at SCLK rising edge t goes out as bit 0
during [t', t'+UI), bit 1, 2, 3 after it, with t' = t + 2 SCLK periods.

``ECP5InputX1(ports, domain="sync")``: one IDDRX1F per pin, two samples per
``domain`` cycle: the pin at rising edge t (bit 0) and at t + T/2 (bit 1) is on
``samples`` after rising edge t + T (one cycle).

``ECP5OutputX1(ports, domain="sync")``: one ODDRX1F per pin: the word on
``samples`` at rising edge t goes out as bit 0 during [t+2T, t+2.5T) and bit 1
during [t+2.5T, t+3T) (two cycles, the ODDRX1F pipeline).

The X2 PHYs tie ALIGNWD low: the gearbox after them (``qnu.gateware.phy.gearbox``)
does not need word alignment, since every sample is timestamped by its
position. ``ports`` is an Amaranth 0.5 io port (``platform.request(name,
number, dir="-")``, or ``io.SingleEndedPort(io.IOPort(...))``); a port's
``invert`` is honoured, a ``DifferentialPort`` uses its ``p`` pin. The pins go
straight to the primitives; ``synth_ecp5`` adds the pad cells. The PHYs use
only ports and clock domains, so they synthesise on their own.
"""

from amaranth.hdl import C, Cat, ClockDomain, ClockSignal, Instance, Module, ResetSignal, Signal
from amaranth.lib import data, wiring
from amaranth.lib.cdc import FFSynchronizer, ResetSynchronizer
from amaranth.lib.wiring import In, Out

from .io_ports import invert_mask as _mask, port_pins as _pins

__all__ = ["ECP5EdgeClocks", "ECP5InputX2", "ECP5OutputX2", "ECP5InputX1", "ECP5OutputX1"]


class ECP5EdgeClocks(wiring.Component):
    """Domains ``eclk`` (ECLKSYNCB) and ``sclk`` (CLKDIVF, eclk / 2), started in step."""

    eclk_in: In(1)
    locked: In(1, init=1)
    ready: Out(1)

    def __init__(self, *, init_domain="sync", hold_cycles=8, define_domains=False):
        self._init = init_domain
        self._hold = hold_cycles
        self._define = define_domains
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        if self._define:
            m.domains.eclk = ClockDomain("eclk")
            m.domains.sclk = ClockDomain("sclk")

        stop = Signal(init=1)           # power-up: edge clock stopped, gearing in reset
        gearing_reset = Signal(init=1)
        m.submodules.eclksync = Instance(
            "ECLKSYNCB", i_ECLKI=self.eclk_in, i_STOP=stop, o_ECLKO=ClockSignal("eclk"))
        m.submodules.clkdiv = Instance(
            "CLKDIVF", p_DIV="2.0", i_CLKI=ClockSignal("eclk"), i_RST=gearing_reset,
            i_ALIGNWD=C(0, 1), o_CDIVX=ClockSignal("sclk"))
        m.d.comb += ResetSignal("eclk").eq(gearing_reset)
        m.submodules.sclk_reset = ResetSynchronizer(~self.ready, domain="sclk")

        locked = Signal()
        m.submodules.locked_sync = FFSynchronizer(self.locked, locked, o_domain=self._init)

        init = self._init
        timer = Signal(range(self._hold + 1))
        elapsed = timer == self._hold

        def after_hold(next_state):
            with m.If(elapsed):
                m.d[init] += timer.eq(0)
                m.next = next_state
            with m.Else():
                m.d[init] += timer.eq(timer + 1)

        def restart_if_unlocked():
            with m.If(~locked):
                m.d[init] += timer.eq(0)
                m.next = "STOP_CLOCK"

        # TN1265: stop ECLK, reset CLKDIVF and the DDR registers, release, restart ECLK
        with m.FSM(domain=self._init):
            with m.State("STOP_CLOCK"):
                m.d[init] += [stop.eq(1), self.ready.eq(0)]
                after_hold("RESET")
            with m.State("RESET"):
                m.d[init] += gearing_reset.eq(1)
                with m.If(locked):
                    after_hold("RELEASE_RESET")
            with m.State("RELEASE_RESET"):
                m.d[init] += gearing_reset.eq(0)
                after_hold("START_CLOCK")
                restart_if_unlocked()
            with m.State("START_CLOCK"):
                m.d[init] += stop.eq(0)
                after_hold("READY")
                restart_if_unlocked()
            with m.State("READY"):
                m.d[init] += self.ready.eq(1)
                restart_if_unlocked()
        return m


class ECP5InputX2(wiring.Component):
    """IDDRX2F per pin: 4 samples per ``sclk`` cycle, bit 0 earliest; latency 2 SCLK cycles."""

    def __init__(self, ports):
        self._ports = ports
        super().__init__({"samples": Out(data.ArrayLayout(4, len(ports)))})

    def elaborate(self, platform):
        m = Module()
        pins, invert = _pins(self._ports)
        for bit in range(len(pins)):
            q = Signal(4)
            m.submodules[f"iddr{bit}"] = Instance(
                "IDDRX2F", i_D=pins[bit], i_ECLK=ClockSignal("eclk"), i_SCLK=ClockSignal("sclk"),
                i_RST=ResetSignal("eclk"), i_ALIGNWD=C(0, 1),
                o_Q0=q[0], o_Q1=q[1], o_Q2=q[2], o_Q3=q[3])      # Q0: the earliest bit
            m.d.comb += self.samples[bit].eq(q ^ (0b1111 if invert[bit] else 0))
        return m


class ECP5OutputX2(wiring.Component):
    """ODDRX2F per pin: 4 samples per ``sclk`` cycle, bit 0 sent first; latency 2 SCLK cycles."""

    def __init__(self, ports):
        self._ports = ports
        super().__init__({"samples": In(data.ArrayLayout(4, len(ports)))})

    def elaborate(self, platform):
        m = Module()
        pins, invert = _pins(self._ports)
        for bit in range(len(pins)):
            d = Signal(4)
            m.d.comb += d.eq(self.samples[bit] ^ (0b1111 if invert[bit] else 0))
            m.submodules[f"oddr{bit}"] = Instance(
                "ODDRX2F", i_ECLK=ClockSignal("eclk"), i_SCLK=ClockSignal("sclk"),
                i_RST=ResetSignal("eclk"),
                i_D0=d[0], i_D1=d[1], i_D2=d[2], i_D3=d[3], o_Q=pins[bit])   # D0: sent first
        return m


class ECP5InputX1(wiring.Component):
    """IDDRX1F per pin: 2 samples per ``domain`` cycle, bit 0 earlier; latency one cycle.

    ``reset=False`` ties the IDDRX1Fs' RST low: samples need no reset, and at a
    200 MHz SCLK a reset net reaching every pin's I/O logic is the longest path."""

    def __init__(self, ports, *, domain="sync", reset=True):
        self._ports = ports
        self._domain = domain
        self._reset = reset
        super().__init__({"samples": Out(data.ArrayLayout(2, len(ports)))})

    def elaborate(self, platform):
        m = Module()
        pins, invert = _pins(self._ports)
        q0 = Signal(len(pins))
        q1 = Signal(len(pins))
        for bit in range(len(pins)):
            m.submodules[f"iddr{bit}"] = Instance(
                "IDDRX1F", i_D=pins[bit], i_SCLK=ClockSignal(self._domain),
                i_RST=ResetSignal(self._domain) if self._reset else C(0, 1), o_Q0=q0[bit], o_Q1=q1[bit])
        q0 = q0 ^ _mask(invert)
        q1 = q1 ^ _mask(invert)
        for c in range(len(pins)):
            m.d.comb += self.samples[c].eq(Cat(q0[c], q1[c]))    # Q0: the rising-edge sample
        return m


class ECP5OutputX1(wiring.Component):
    """ODDRX1F per pin: bit 0 while the ``domain`` clock is high, bit 1 while low; latency 2 cycles.

    ``reset=False`` ties the ODDRX1Fs' RST low, as for the inputs: the words
    come from registers, and a reset net reaching every output pin's I/O
    logic spans the chip (at a 200 MHz SCLK, its longest path)."""

    def __init__(self, ports, *, domain="sync", reset=True):
        self._ports = ports
        self._domain = domain
        self._reset = reset
        super().__init__({"samples": In(data.ArrayLayout(2, len(ports)))})

    def elaborate(self, platform):
        m = Module()
        pins, invert = _pins(self._ports)
        d0 = Signal(len(pins))
        d1 = Signal(len(pins))
        for c in range(len(pins)):
            m.d.comb += [d0[c].eq(self.samples[c][0]), d1[c].eq(self.samples[c][1])]
        d0 = d0 ^ _mask(invert)
        d1 = d1 ^ _mask(invert)
        for bit in range(len(pins)):
            m.submodules[f"oddr{bit}"] = Instance(
                "ODDRX1F", i_SCLK=ClockSignal(self._domain),
                i_RST=ResetSignal(self._domain) if self._reset else C(0, 1),
                i_D0=d0[bit], i_D1=d1[bit], o_Q=pins[bit])
        return m
