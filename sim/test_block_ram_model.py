"""The DP16KD model (``sim/vendor/ecp5/DP16KD.v``) through Yosys's own block-RAM mapping.

An Amaranth memory goes through ``synth_ecp5``, which maps it onto DP16KD
cells (true dual port at 1 to 18 bits, or its 36-bit pseudo-dual-port mode
for wider words; wider still, several side by side); the netlist runs in
Icarus with the model and must behave as Amaranth says a memory does. The
reference is a Python dictionary stepped by those rules, random writes and
reads every cycle: a read port with ``en`` high returns, a cycle later, the
word at its address (the word being written there in that cycle too if the
port is transparent to the write port, the old one if not); with ``en`` low
it holds its data.
"""

import os
import random

import cocotb
import pytest
from amaranth.hdl import Module
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from qnu.sim.netlist import synthesize
from qnu.sim.vendor_models import run_icarus

MODULE = "qnu.sim.test_block_ram_model"
CYCLES = 3000


class MemoryTop(wiring.Component):
    """One write port (with byte lanes of ``granularity`` bits, if given), one synchronous read port."""

    def __init__(self, width, depth, transparent, granularity=None):
        self.width, self.depth, self.transparent, self.granularity = width, depth, transparent, granularity
        lanes = width // granularity if granularity else 1
        super().__init__({
            "w_addr": In(range(depth)), "w_data": In(width), "w_en": In(lanes),
            "r_addr": In(range(depth)), "r_en": In(1), "r_data": Out(width),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.storage = storage = memory.Memory(shape=self.width, depth=self.depth, init=[])
        write = storage.write_port(granularity=self.granularity)
        read = storage.read_port(transparent_for=(write,) if self.transparent else ())
        m.d.comb += [write.addr.eq(self.w_addr), write.data.eq(self.w_data), write.en.eq(self.w_en),
                     read.addr.eq(self.r_addr), read.en.eq(self.r_en), self.r_data.eq(read.data)]
        return m


@cocotb.test()
async def memory_behaves_as_amaranth_says(dut):
    width, depth = int(os.environ["QNU_WIDTH"]), int(os.environ["QNU_DEPTH"])
    transparent = os.environ["QNU_TRANSPARENT"] == "1"
    granularity = int(os.environ["QNU_GRANULARITY"]) or width
    lanes = width // granularity
    rng = random.Random(width * 7919 + depth)
    # addresses from a small window part of the time, so that reads hit recent writes
    hot = [rng.randrange(depth) for _ in range(8)]

    def address():
        return rng.choice(hot) if rng.random() < 0.5 else rng.randrange(depth)

    mem = {}
    expected = 0
    dut.rst.value = 0
    dut.w_en.value = 0
    dut.r_en.value = 0
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await RisingEdge(dut.clk)
    for cycle in range(CYCLES):
        await FallingEdge(dut.clk)
        if cycle > 0:
            got = int(dut.r_data.value)
            assert got == expected, f"cycle {cycle}: read {got:#x}, expected {expected:#x}"
        # each byte lane written or not (all of them at once half the time)
        w_en = (2 ** lanes - 1 if rng.random() < 0.5 else rng.getrandbits(lanes)) if rng.random() < 0.6 else 0
        w_addr, w_data = address(), rng.getrandbits(width)
        r_en, r_addr = rng.random() < 0.8, address()
        dut.w_en.value, dut.w_addr.value, dut.w_data.value = w_en, w_addr, w_data
        dut.r_en.value, dut.r_addr.value = int(r_en), r_addr
        # the edge between this falling edge and the next
        lane_mask = sum(((2 ** granularity - 1) << (lane * granularity))
                        for lane in range(lanes) if (w_en >> lane) & 1)
        written = (mem.get(w_addr, 0) & ~lane_mask) | (w_data & lane_mask)
        if r_en:
            expected = written if (transparent and w_en and w_addr == r_addr) else mem.get(r_addr, 0)
        if w_en:
            mem[w_addr] = written
    assert len(mem) > 100


# (width, depth, transparent, byte lanes of): the DP16KD modes Yosys picks for them
CASES = [
    (18, 1024, False, None),    # x18, true dual port
    (18, 1024, False, 9),       # x18 with its byte enables (ADx[1:0])
    (9, 2048, True, None),      # x9, with Yosys's bypass for transparency
    (4, 4096, False, None),     # x4: no ninth bits
    (1, 16384, False, None),    # x1
    (36, 512, False, None),     # the 36-bit pseudo-dual-port mode
    (36, 512, False, 9),        # with its four byte enables (ADA[3:0])
    (72, 512, True, None),      # two of them side by side, transparent
]


@pytest.mark.parametrize("width,depth,transparent,granularity", CASES)
def test_dp16kd_model_behaves_as_the_memory(width, depth, transparent, granularity):
    name = f"bram_w{width}_d{depth}_t{int(transparent)}_g{granularity or 0}"
    netlist = synthesize(MemoryTop(width, depth, transparent, granularity), "ecp5", name=name)
    assert netlist.cells.get("DP16KD", 0) >= 1, f"Yosys used no block RAM: {netlist.cells}"
    run_icarus(f"bram-{name}", netlist.sources, name, MODULE, testcase="memory_behaves_as_amaranth_says",
               extra_env={"QNU_WIDTH": str(width), "QNU_DEPTH": str(depth),
                          "QNU_TRANSPARENT": str(int(transparent)), "QNU_GRANULARITY": str(granularity or 0)},
               defines=netlist.defines)
