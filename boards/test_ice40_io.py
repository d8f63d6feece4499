"""The iCE40 DDR PHYs in Icarus, with Yosys's SB_IO simulation model (ice40/cells_sim.v).

The testbench plays the pins at the sample rate (two unit intervals per clock
cycle) and checks the words against the serial stream itself: bit 0 the
earlier sample, one cycle of latency in, a registered output out, a port's
``invert`` honoured.
"""

import os
import random
from pathlib import Path

import cocotb
from amaranth.hdl import Module
from amaranth.lib import data, io, wiring
from amaranth.lib.wiring import In, Out

from qnu.boards.ice40_io import ICE40DDRInput, ICE40DDROutput
from qnu.boards.toolchain import yosys_share
from qnu.sim.hdl import write_verilog
from qnu.sim.vendor_models import SerialBench, run_icarus

CHANNELS = 2
INVERT = (False, True)          # channel 1's pins are inverted
UI = 2000                       # ps: a 250 MHz clock


class Top(wiring.Component):
    """Both PHYs, their pins as top-level ports ``pins_in`` and ``pins_out``."""

    samples_in: Out(data.ArrayLayout(2, CHANNELS))
    samples_out: In(data.ArrayLayout(2, CHANNELS))

    def elaborate(self, platform):
        m = Module()
        m.submodules.rx = rx = ICE40DDRInput(io.SingleEndedPort(io.IOPort(CHANNELS, name="pins_in"),
                                                                invert=INVERT))
        m.submodules.tx = tx = ICE40DDROutput(io.SingleEndedPort(io.IOPort(CHANNELS, name="pins_out"),
                                                                 invert=INVERT))
        m.d.comb += [self.samples_in.eq(rx.samples), tx.samples.eq(self.samples_out)]
        return m


def resolved(value):
    """An int, or None while the SB_IO flops still hold their power-up X."""
    return int(value) if value.is_resolvable else None


def word(value, c):
    """Channel c's 2-bit word out of the flattened samples value."""
    return [(value >> (2 * c + j)) & 1 for j in range(2)]


@cocotb.test()
async def ddr_words_follow_the_pins(dut):
    rng = random.Random(11)
    dut.clk.value = 0
    dut.rst.value = 0
    dut.samples_out.value = 0
    dut.pins_in.value = 0
    bench = SerialBench(dut, "clk", ui=UI)
    pin_bits = {}               # (UI index, channel) -> level driven on pins_in
    words_in = {}               # UI index of a rising edge -> samples_in just after it
    given = {}                  # UI index of a rising edge -> samples_out words it takes
    line = {}                   # UI index -> pins_out levels
    pending = [[0, 0] for _ in range(CHANNELS)]

    def drive(k):
        levels = [rng.getrandbits(1) for _ in range(CHANNELS)]
        for c in range(CHANNELS):
            pin_bits[k, c] = levels[c]
        dut.pins_in.value = sum(b << c for c, b in enumerate(levels))

    def sample(k):
        nonlocal pending
        pins = resolved(dut.pins_out.value)
        line[k] = None if pins is None else [(pins >> c) & 1 for c in range(CHANNELS)]
        if k % 2 == 0:
            words_in[k] = resolved(dut.samples_in.value)
            given[k] = pending
            pending = [[rng.getrandbits(1), rng.getrandbits(1)] for _ in range(CHANNELS)]
            dut.samples_out.value = sum(b << (2 * c + j) for c in range(CHANNELS)
                                        for j, b in enumerate(pending[c]))

    for _ in range(600):
        await bench.step(drive, sample)

    checked = 0
    for k, value in words_in.items():
        if k < 4:
            continue
        for c in range(CHANNELS):
            # the pin at rising edge k-2 (bit 0) and at the falling edge k-1 (bit 1)
            want = [pin_bits[k - 2, c] ^ INVERT[c], pin_bits[k - 1, c] ^ INVERT[c]]
            assert word(value, c) == want, f"input word after edge {k}, channel {c}"
        checked += 1
    assert checked > 290

    checked = 0
    for k, words in given.items():
        if k < 4 or k + 2 > bench.k:
            continue
        for c in range(CHANNELS):
            # taken at rising edge k: bit 0 while the clock is high, bit 1 while low
            sent = [line[k][c] ^ INVERT[c], line[k + 1][c] ^ INVERT[c]]
            assert sent == words[c], f"output word taken at edge {k}, channel {c}"
        checked += 1
    assert checked > 290


def test_ice40_ddr_phys_in_icarus():
    root = Path(os.environ.get("QNU_BUILD", Path.cwd() / "build")) / "cocotb" / "ice40-io"
    top = write_verilog(Top(), root / "ice40_io_top.v", name="ice40_io_top")
    cells = Path(yosys_share()) / "ice40" / "cells_sim.v"
    # Icarus 11 has no default values on input ports: let unconnected ones float (the model allows it)
    run_icarus("ice40-io", [top, cells], "ice40_io_top", "qnu.boards.test_ice40_io",
               defines={"NO_ICE40_DEFAULT_ASSIGNMENTS": 1})
