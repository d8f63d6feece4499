"""The ECP5 PHYs in Icarus, with QNU's behavioural models of the Lattice primitives.

The testbench plays the pins at the sample rate, one unit interval (UI, half
an ECLK period) at a time, and checks words against the serial stream itself:
bit 0 the earliest sample, a constant latency, a port's ``invert`` honoured.
For the x2 gearing it drives only the fast clock; SCLK comes out of
``ECP5EdgeClocks`` (ECLKSYNCB + CLKDIVF models), so the check also proves the
start-up sequence puts word boundaries on SCLK edges.
"""

import os
import random
from pathlib import Path

import cocotb
from amaranth.hdl import ClockDomain, ClockSignal, Module
from amaranth.lib import data, io, wiring
from amaranth.lib.wiring import In, Out
from cocotb.clock import Clock
from cocotb.triggers import Timer

from qnu.boards.ecp5_io import ECP5EdgeClocks, ECP5InputX1, ECP5InputX2, ECP5OutputX1, ECP5OutputX2
from qnu.sim.hdl import write_verilog
from qnu.sim.vendor_models import SerialBench, ecp5_models, run_icarus

CHANNELS = 2
INVERT = (False, True)          # channel 1's pins are inverted
UI = 1250                       # ps: ECLK 400 MHz, SCLK 200 MHz, 800 Mb/s
MODULE = "qnu.boards.test_ecp5_io"


def _ports(name):
    return io.SingleEndedPort(io.IOPort(CHANNELS, name=name), invert=INVERT)


class GearingTop(wiring.Component):
    """Edge clocks and both x2 PHYs; SCLK brought out to watch its edges."""

    eclk_in: In(1)
    locked: In(1)
    ready: Out(1)
    sclk: Out(1)
    samples_in: Out(data.ArrayLayout(4, CHANNELS))
    samples_out: In(data.ArrayLayout(4, CHANNELS))

    def elaborate(self, platform):
        m = Module()
        m.domains.eclk = ClockDomain()
        m.domains.sclk = ClockDomain()
        m.submodules.clocks = clocks = ECP5EdgeClocks(init_domain="sync", hold_cycles=4)
        m.submodules.rx = rx = ECP5InputX2(_ports("pins_in"))
        m.submodules.tx = tx = ECP5OutputX2(_ports("pins_out"))
        m.d.comb += [
            clocks.eclk_in.eq(self.eclk_in), clocks.locked.eq(self.locked),
            self.ready.eq(clocks.ready),
            self.sclk.eq(ClockSignal("sclk")),
            self.samples_in.eq(rx.samples), tx.samples.eq(self.samples_out),
        ]
        return m


class DDRTop(wiring.Component):
    """Both x1 (DDR fallback) PHYs in the ``sync`` domain."""

    samples_in: Out(data.ArrayLayout(2, CHANNELS))
    samples_out: In(data.ArrayLayout(2, CHANNELS))

    def elaborate(self, platform):
        m = Module()
        m.submodules.rx = rx = ECP5InputX1(_ports("pins_in"))
        m.submodules.tx = tx = ECP5OutputX1(_ports("pins_out"))
        m.d.comb += [self.samples_in.eq(rx.samples), tx.samples.eq(self.samples_out)]
        return m


# -- the bench ------------------------------------------------------------------------------------

class PinBench:
    """Random serial bits on ``pins_in``, words on ``samples_out``, records of both sides."""

    def __init__(self, dut, width, seed):
        self.dut, self.width = dut, width
        self.rng = random.Random(seed)
        self.pin_bits = {}      # (UI index, channel) -> level on pins_in at edge k
        self.line = {}          # UI index -> pins_out levels just after edge k
        self.words_in = {}      # UI index of a word edge -> samples_in just after it
        self.given = {}         # UI index of a word edge -> samples_out words it takes
        self.pending = [[0] * width for _ in range(CHANNELS)]

    def drive(self, k):
        levels = [self.rng.getrandbits(1) for _ in range(CHANNELS)]
        for c, level in enumerate(levels):
            self.pin_bits[k, c] = level
        self.dut.pins_in.value = sum(b << c for c, b in enumerate(levels))

    def sample(self, k, word_edge):
        pins = int(self.dut.pins_out.value)
        self.line[k] = [(pins >> c) & 1 for c in range(CHANNELS)]
        if word_edge:
            value = int(self.dut.samples_in.value)
            self.words_in[k] = [[(value >> (self.width * c + j)) & 1 for j in range(self.width)]
                                for c in range(CHANNELS)]
            self.given[k] = self.pending
            self.pending = [[self.rng.getrandbits(1) for _ in range(self.width)]
                            for _ in range(CHANNELS)]
            self.dut.samples_out.value = sum(b << (self.width * c + j) for c in range(CHANNELS)
                                             for j, b in enumerate(self.pending[c]))

    def check(self, *, in_latency, out_latency, start, end):
        """Word after edge k = pin bits [k - in_latency, +width); word taken at edge k
        goes out over UIs [k + out_latency, +width). Returns the words checked."""
        checked = 0
        for k in sorted(self.words_in):
            if k - in_latency < start or k + out_latency + self.width > end:
                continue
            for c in range(CHANNELS):
                want = [self.pin_bits[k - in_latency + j, c] ^ INVERT[c] for j in range(self.width)]
                assert self.words_in[k][c] == want, f"input word after UI {k}, channel {c}"
                sent = [self.line[k + out_latency + j][c] ^ INVERT[c] for j in range(self.width)]
                assert sent == self.given[k][c], f"output word taken at UI {k}, channel {c}"
            checked += 1
        return checked


# -- x2 gearing -----------------------------------------------------------------------------------

@cocotb.test()
async def gearing_x2_words_follow_the_pins(dut):
    dut.eclk_in.value = 0
    dut.pins_in.value = 0
    dut.samples_out.value = 0
    dut.rst.value = 1
    Clock(dut.clk, 10, unit="ns").start()       # the sequencer's domain (100 MHz)
    bench = SerialBench(dut, "eclk_in", ui=UI)
    pins = PinBench(dut, 4, seed=21)

    dut.locked.value = 1
    for _ in range(16):
        await bench.step(pins.drive)
    dut.rst.value = 0
    sclk_was = int(dut.sclk.value)

    def sample(k):
        nonlocal sclk_was
        sclk = int(dut.sclk.value)
        pins.sample(k, sclk and not sclk_was)
        sclk_was = sclk

    # twice: from power-up, and again after the PLL lost lock while ECLK kept running
    for attempt in range(2):
        assert int(dut.ready.value) == 0
        for _ in range(1600):
            await bench.step(pins.drive, sample)
            if int(dut.ready.value):
                break
        assert int(dut.ready.value) == 1, "the start-up sequence finishes"
        start = bench.k
        pins.words_in.clear()
        for _ in range(800):
            await bench.step(pins.drive, sample)
        edges = sorted(pins.words_in)
        assert all(k % 2 == 0 for k in edges), "SCLK rises with ECLK"
        assert all(b - a == 4 for a, b in zip(edges, edges[1:])), "SCLK = ECLK / 2, no slips"
        # 4 samples from an SCLK edge on samples_in 2 SCLK cycles (8 UI) later;
        # a word taken at an SCLK edge leaves the pin from 2 SCLK cycles (8 UI) later
        checked = pins.check(in_latency=8, out_latency=8, start=start, end=bench.k)
        assert checked > 180, attempt
        dut.locked.value = 0
        for _ in range(40):
            await bench.step(pins.drive, sample)
        dut.locked.value = 1


# -- x1 DDR fallback ------------------------------------------------------------------------------

@cocotb.test()
async def ddr_x1_words_follow_the_pins(dut):
    dut.clk.value = 0
    dut.pins_in.value = 0
    dut.samples_out.value = 0
    dut.rst.value = 1
    bench = SerialBench(dut, "clk", ui=UI)
    pins = PinBench(dut, 2, seed=22)
    for _ in range(6):
        await bench.step(pins.drive)
    dut.rst.value = 0
    start = bench.k
    for _ in range(800):
        await bench.step(pins.drive, lambda k: pins.sample(k, k % 2 == 0))
    # the pin at rising edge k and k + T/2 on samples_in after edge k + T (2 UI);
    # a word taken at rising edge k leaves the pin from k + 2T (4 UI)
    checked = pins.check(in_latency=2, out_latency=4, start=start + 2, end=bench.k)
    assert checked > 380
    dut.rst.value = 1                       # the domain's reset clears the IDDRX1F at once
    await Timer(1, unit="ps")
    assert int(dut.samples_in.value) == sum(0b11 << (2 * c) for c in range(CHANNELS) if INVERT[c])


# -- pytest ---------------------------------------------------------------------------------------

def _build_dir(name):
    return Path(os.environ.get("QNU_BUILD", Path.cwd() / "build")) / "cocotb" / name


def test_ecp5_x2_gearing_in_icarus():
    top = write_verilog(GearingTop(), _build_dir("ecp5-x2") / "top.v", name="ecp5_x2_top")
    run_icarus("ecp5-x2", [top, *ecp5_models()], "ecp5_x2_top", MODULE,
               testcase="gearing_x2_words_follow_the_pins")


def test_ecp5_x1_ddr_in_icarus():
    top = write_verilog(DDRTop(), _build_dir("ecp5-x1") / "top.v", name="ecp5_x1_top")
    run_icarus("ecp5-x1", [top, *ecp5_models()], "ecp5_x1_top", MODULE,
               testcase="ddr_x1_words_follow_the_pins")
