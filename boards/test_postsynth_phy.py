"""The I/O PHYs' synthesized netlists under the same pin-level cocotb checks as their RTL.

Each PHY test bench (``boards/test_ice40_io.py``, ``boards/test_ecp5_io.py``)
goes through Yosys (``qnu.sim.netlist``: ``synth_ice40`` / ``synth_ecp5``)
and its netlist — the vendor I/O primitives (SB_IO, IDDRX1F/IDDRX2F,
ODDRX1F/ODDRX2F, ECLKSYNCB, CLKDIVF) plus the LUTs and flip-flops Yosys made
of the rest — runs the PHY's own cocotb test in Icarus, with Yosys's cell
models and QNU's behavioural models of the ECP5 primitives
(``sim/vendor/ecp5``). Those tests play random serial bits on the pins and
check, against the bits themselves: bit 0 of each word is the earliest
sample; consecutive words reproduce the serial waveform at a constant
latency; an output PHY reproduces its words on the pin, bit 0 first; a
port's ``invert`` is honoured.

The geared ECP5 front ends are checked here: the x2 input PHY followed by
the gearbox (``SampleWidener``: 4 samples per SCLK cycle into 16 per core
cycle, as on the ULX3S) and the reverse (``SampleNarrower`` into
``ECP5OutputX2``), and the same with IDDRX1F/ODDRX1F on SCLK (2 samples per
SCLK cycle into 8, the `ddr` PHYs of the ULX3S and the OrangeCrab), at the level a core sees: from the
moment ``valid`` rises, the wide words at the core clock, in order, are
the pin's serial waveform at one constant latency (no sample lost,
repeated or reordered, bit 0 earliest), and the wide words handed to the
output side come out on the pin in order, bit 0 first, at one constant
latency. The gearbox's latency depends on the phase between the clocks at
start-up, so it is found
from the first words, then held to; six phases of the core clock against
ECLK are run, on the RTL (with the same primitive models) and on the ECP5
netlist, which agree at every phase.
"""

import os
import random
from pathlib import Path

import cocotb
import pytest
from amaranth.hdl import ClockDomain, ClockSignal, Module, ResetSignal, Signal
from amaranth.lib import data, io, wiring
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.lib.wiring import In, Out
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer
from qnu.boards.ecp5_io import ECP5EdgeClocks, ECP5InputX1, ECP5InputX2, ECP5OutputX1, ECP5OutputX2
from qnu.gateware.phy.gearbox import SampleNarrower, SampleWidener
from qnu.sim.hdl import write_verilog
from qnu.sim.netlist import synthesize
from qnu.sim.vendor_models import SerialBench, ecp5_models, run_icarus

CHANNELS = 2
INVERT = (False, True)          # channel 1's pins are inverted
# ps: ECLK ~400 MHz, SCLK ~200 MHz, core clock ~100 MHz (8 UI). A multiple of 4 ps:
# SerialBench's step lasts UI//4 + UI//2 + UI//4, which must be exactly UI for the
# free-running core clock to stay in step with the bench's ECLK (one PLL in silicon)
UI = 1248
RATIO = 4                       # SCLK cycles per core cycle, as on the boards (boards/ulx3s.py)
# samples per SCLK cycle of each geared front end: x2 (IDDRX2F on ECLK, SCLK from
# CLKDIVF), x1 (IDDRX1F on SCLK itself, the ULX3S and OrangeCrab `ddr` PHYs)
SAMPLES_PER_SCLK = {"x2": 4, "x1": 2}
MODULE = "qnu.boards.test_postsynth_phy"


def _ports(name):
    return io.SingleEndedPort(io.IOPort(CHANNELS, name=name), invert=INVERT)


class WidenedTop(wiring.Component):
    """Pins -> ECP5 input PHY -> SampleWidener -> wide words per ``sync`` cycle, and
    wide words per ``sync`` cycle -> SampleNarrower -> ECP5 output PHY -> pins:
    a geared ECP5 front end as the timing core sees it (as in boards/top.py).
    ``kind="x2"``: ``eclk_in`` is the edge clock; ``"x1"``: it is SCLK."""

    def __init__(self, kind="x2"):
        self.kind = kind
        self.wide = SAMPLES_PER_SCLK[kind] * RATIO
        super().__init__({
            "eclk_in": In(1), "locked": In(1), "ready": Out(1),
            "wide_in": Out(data.ArrayLayout(self.wide, CHANNELS)),
            "wide_in_valid": Out(1), "wide_in_error": Out(1),
            "wide_out": In(data.ArrayLayout(self.wide, CHANNELS)),
            "wide_out_valid": Out(1), "wide_out_error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.domains.sclk = ClockDomain()
        n = SAMPLES_PER_SCLK[self.kind]
        if self.kind == "x2":
            m.domains.eclk = ClockDomain()
            m.submodules.clocks = clocks = ECP5EdgeClocks(init_domain="sync", hold_cycles=4)
            m.submodules.rx = rx = ECP5InputX2(_ports("pins_in"))
            m.submodules.tx = tx = ECP5OutputX2(_ports("pins_out"))
            m.d.comb += [clocks.eclk_in.eq(self.eclk_in), clocks.locked.eq(self.locked),
                         self.ready.eq(clocks.ready)]
        else:
            # as boards/top.py's geared `ddr` front end: SCLK a PLL output, reset until lock
            ready = Signal()
            m.d.sync += ready.eq(1)
            m.d.comb += [ClockSignal("sclk").eq(self.eclk_in), self.ready.eq(ready)]
            m.submodules.sclk_reset = ResetSynchronizer(ResetSignal("sync") | ~self.locked, domain="sclk")
            m.submodules.rx = rx = ECP5InputX1(_ports("pins_in"), domain="sclk", reset=False)
            m.submodules.tx = tx = ECP5OutputX1(_ports("pins_out"), domain="sclk")
        m.submodules.widen = widen = SampleWidener(CHANNELS, samples_in=n, ratio=RATIO)
        m.submodules.narrow = narrow = SampleNarrower(CHANNELS, samples_in=n, ratio=RATIO)
        m.d.comb += [
            widen.narrow.eq(rx.samples),
            self.wide_in.eq(widen.wide), self.wide_in_valid.eq(widen.valid),
            self.wide_in_error.eq(widen.error),
            narrow.wide.eq(self.wide_out), tx.samples.eq(narrow.narrow),
            self.wide_out_valid.eq(narrow.valid), self.wide_out_error.eq(narrow.error),
        ]
        return m


def _bits(value, c, width):
    return [(value >> (width * c + j)) & 1 for j in range(width)]


def _find_latency(match, candidates):
    found = [lat for lat in candidates if match(lat)]
    assert len(found) == 1, f"latencies that fit the first words: {found}"
    return found[0]


@cocotb.test()
async def widened_words_follow_the_pins(dut):
    """Pins to wide core words and back, through the PHYs and the gearboxes."""
    phase_ps = int(os.environ.get("QNU_PHASE_PS", "0"))
    wide = int(os.environ["QNU_WIDE"])          # samples per core cycle
    max_latency = 50 * wide                     # UI: the latencies tried (the gearbox's is under 12 core cycles)
    rng = random.Random(31 + phase_ps)
    dut.eclk_in.value = 0
    dut.locked.value = 1
    dut.pins_in.value = 0
    dut.wide_out.value = 0
    dut.rst.value = 1
    bench = SerialBench(dut, "eclk_in", ui=UI)
    pin_bits = {}           # (UI index, channel) -> level driven on pins_in at ECLK edge k
    line = {}               # UI index -> pins_out levels just after ECLK edge k

    def drive(k):
        levels = [rng.getrandbits(1) for _ in range(CHANNELS)]
        for c, level in enumerate(levels):
            pin_bits[k, c] = level
        dut.pins_in.value = sum(b << c for c, b in enumerate(levels))

    def sample(k):
        pins = dut.pins_out.value
        line[k] = [(int(pins) >> c) & 1 for c in range(CHANNELS)] if pins.is_resolvable else None

    # the core clock: wide UI, at a chosen phase to the serial bench's edges
    async def core_side():
        await Timer(phase_ps + 1, unit="ps")
        cocotb.start_soon(Clock(dut.clk, wide * UI, unit="ps").start())

    words_in = []           # (UI index when read, word) for each core cycle once valid
    given = []              # (UI index when handed over, words) for each core cycle
    out_started = []        # UI index when the narrower's valid was first seen

    async def core_words():
        while True:
            await FallingEdge(dut.clk)       # mid-cycle: outputs settled, inputs set up
            if int(dut.rst.value) == 0:
                if dut.wide_in_valid.value.is_resolvable and int(dut.wide_in_valid.value):
                    words_in.append((bench.k, int(dut.wide_in.value)))
                if not out_started and dut.wide_out_valid.value.is_resolvable and int(dut.wide_out_valid.value):
                    out_started.append(bench.k)
            words = [[rng.getrandbits(1) for _ in range(wide)] for _ in range(CHANNELS)]
            dut.wide_out.value = sum(b << (wide * c + j) for c in range(CHANNELS) for j, b in enumerate(words[c]))
            given.append((bench.k, words))

    cocotb.start_soon(core_side())
    cocotb.start_soon(core_words())
    for _ in range(40):
        await bench.step(drive, sample)
    dut.rst.value = 0
    for _ in range(1500 * RATIO):
        await bench.step(drive, sample)
        if int(dut.ready.value) and int(dut.wide_out_valid.value) and len(words_in) > 8:
            break
    assert int(dut.ready.value), "the edge clocks start"
    assert words_in, "the widener starts"
    for _ in range(200 * wide):
        await bench.step(drive, sample)
    assert int(dut.wide_in_error.value) == 0 and int(dut.wide_out_error.value) == 0

    # input side: word j, read at UI k_j, holds the pin bits of UIs k_j - L .. k_j - L + 7
    # (a word's samples are one core cycle, wide UI, of the pin), L the same for every word
    assert all(b[0] - a[0] == wide for a, b in zip(words_in, words_in[1:])), "one word per core cycle"

    def word_in_fits(k, value, lat):
        return all(_bits(value, c, wide) == [pin_bits.get((k - lat + j, c), -1) ^ INVERT[c] for j in range(wide)]
                   for c in range(CHANNELS))

    lat_in = _find_latency(lambda lat: all(word_in_fits(k, v, lat) for k, v in words_in[:4]), range(wide, max_latency))
    for k, value in words_in:
        assert word_in_fits(k, value, lat_in), f"input word read at UI {k} (latency {lat_in} UI)"
    assert len(words_in) > 180

    # output side: the words handed over at UI k_j leave the pin over UIs k_j + L .. k_j + L + 7;
    # the narrower starts with some word, from which on every word goes out, in order
    last = bench.k

    def word_out_fits(k, words, lat):
        span = [line.get(k + lat + j) for j in range(wide)]
        return None not in span and all([span[j][c] ^ INVERT[c] for j in range(wide)] == words[c]
                                        for c in range(CHANNELS))

    # words handed over well before the end, so that every candidate latency is on record
    settled = [g for g in given if last - 3 * max_latency < g[0] and g[0] + max_latency + wide <= last]
    lat_out = _find_latency(lambda lat: all(word_out_fits(k, w, lat) for k, w in settled[:4]),
                            range(max_latency))
    on_record = [g for g in given if g[0] + lat_out + wide <= last]
    first = len(on_record)
    while first > 0 and word_out_fits(*on_record[first - 1], lat_out):
        first -= 1
    checked = len(on_record) - first
    # every word handed over once the narrower runs (and some before: the
    # writer starts first) is on the pin, in order, at that one latency
    assert out_started, "the narrower starts"
    assert on_record[first][0] <= out_started[0], \
        f"word handed over at UI {on_record[first - 1][0]} missing (narrower running from UI {out_started[0]})"
    assert checked > 180
    cocotb.log.info(f"phase {phase_ps} ps: input latency {lat_in} UI, output latency {lat_out} UI, "
                    f"{len(words_in)} words in, {checked} words out")


# -- pytest ---------------------------------------------------------------------------------------

def _build_root():
    return Path(os.environ.get("QNU_BUILD", Path.cwd() / "build"))


def _ice40_top():
    from qnu.boards.test_ice40_io import Top
    return Top()


def _ecp5_gearing_top():
    from qnu.boards.test_ecp5_io import GearingTop
    return GearingTop()


def _ecp5_ddr_top():
    from qnu.boards.test_ecp5_io import DDRTop
    return DDRTop()


# (name, family, component, toplevel, cocotb module, testcase): the PHYs' own checks
PHY_CHECKS = [
    ("ice40-ddr", "ice40", _ice40_top, "ice40_io_top", "qnu.boards.test_ice40_io", "ddr_words_follow_the_pins"),
    ("ecp5-x2", "ecp5", _ecp5_gearing_top, "ecp5_x2_top", "qnu.boards.test_ecp5_io",
     "gearing_x2_words_follow_the_pins"),
    ("ecp5-x1", "ecp5", _ecp5_ddr_top, "ecp5_x1_top", "qnu.boards.test_ecp5_io", "ddr_x1_words_follow_the_pins"),
]


@pytest.mark.parametrize("name,family,make,top,module,testcase", PHY_CHECKS, ids=[c[0] for c in PHY_CHECKS])
def test_phy_netlist(name, family, make, top, module, testcase):
    netlist = synthesize(make(), family, name=top)
    run_icarus(f"postsynth-{name}", netlist.sources, top, module, testcase=testcase, defines=netlist.defines)


# phases of the core clock against ECLK (x2) or SCLK (x1), spread over one core cycle
PHASE_FRACTIONS = (0, 0.13, 0.31, 0.5, 0.75, 0.9)


@pytest.mark.parametrize("phase", PHASE_FRACTIONS)
@pytest.mark.parametrize("level", ["rtl", "netlist"])
@pytest.mark.parametrize("kind", ["x2", "x1"])
def test_ecp5_geared_front_end(kind, level, phase):
    dut = WidenedTop(kind)
    name = f"ecp5_widened_{kind}_top"
    phase_ps = round(dut.wide * UI * phase)
    if level == "netlist":
        netlist = synthesize(dut, "ecp5", name=name)
        sources, defines = netlist.sources, netlist.defines
    else:
        top = write_verilog(dut, _build_root() / "cocotb" / f"ecp5-widened-{kind}-rtl" / "top.v", name=name)
        sources, defines = [top, *ecp5_models()], {}
    run_icarus(f"ecp5-widened-{kind}-{level}-{phase_ps}", sources, name, MODULE,
               testcase="widened_words_follow_the_pins",
               extra_env={"QNU_PHASE_PS": str(phase_ps), "QNU_WIDE": str(dut.wide)}, defines=defines)
