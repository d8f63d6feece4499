"""cocotb tests of the herald unit's Verilog, scored by its reference model
through the shared scenarios (:mod:`qnu.sim.herald_scenarios`).

Run from pytest (tests/test_herald_cocotb.py) through cocotb's runner; the
design's parameters arrive in ``QNU_CORE`` (JSON: samples_per_cycle, seed).
A :class:`HeraldDriver` drives the settings, the sample words and the attempt
loop's planned starts cycle by cycle; a :class:`HeraldMonitor` records each
cycle's decision, record, herald words and counter strobes.
"""

import json
import os
import random

import cocotb
from amaranth.lib import data
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from qnu.gateware.herald.unit import HERALD_CONFIG, CLICK_WIDTH, herald_record_layout
from qnu.gateware.outputs.waveform import LEAD_CYCLES
from qnu.gateware.timing.event import ChannelConfig
from qnu.herald import Outcome, pack_table, MAX_DETECTORS, MAX_WINDOWS
from qnu.sim.herald_scenarios import CHANNELS, OUTPUTS, SUCCESS_OUT, STATE_OUT, WIDTH, random_scenario, score
from qnu.sim.model import ChannelSettings
from qnu.sim.tb.drivers import unpack_array

PARAMS = json.loads(os.environ.get("QNU_CORE", "{}"))
N = PARAMS.get("samples_per_cycle", 4)
SEED = PARAMS.get("seed", 1)
RECORD = herald_record_layout()


def _bits(layout, value):
    return data.Layout.cast(layout).const(value).as_value().value


class HeraldDriver:
    """The unit's settings, then per cycle ``now``, the sample words and the loop's planned starts."""

    def __init__(self, dut, scenario):
        self.dut, self.s = dut, scenario

    def configure(self):
        s, dut = self.s, self.dut
        st = s.settings
        dut.config.value = _bits(HERALD_CONFIG, {
            "enable": 1, "input_ref": st.reference is not None, "ref_channel": st.reference or 0,
            "windows": len(st.windows), "multi_outcome": int(st.multi_outcome),
            "record": sum(1 << int(o) for o in st.record),
            "detectors": [{"channel": st.detectors[d] if d < len(st.detectors) else 0,
                           "enable": d < len(st.detectors)} for d in range(MAX_DETECTORS)],
            "window": [{"offset": o, "width": w} for o, w in st.windows] +
                      [{"offset": 0, "width": 0}] * (MAX_WINDOWS - len(st.windows)),
            "success_output": SUCCESS_OUT, "state_output": STATE_OUT, "width": WIDTH})
        dut.table.value = sum(word << 32 * i for i, word in enumerate(pack_table(st.table)))
        config = 0
        for c in range(CHANNELS):
            cs = s.channel_settings.get(c, ChannelSettings())
            config |= _bits(ChannelConfig, {"enable": cs.enable, "rising": cs.rising, "falling": cs.falling,
                                            "delay": cs.delay, "dead_time": cs.dead_time}) << c * data.Layout.cast(ChannelConfig).size
        dut.channel_config.value = config
        dut.records__ready.value = 1
        dut.clear.value = 0

    async def drive(self, monitor):
        s, dut = self.s, self.dut
        levels, planned = s.levels(), s.planned(LEAD_CYCLES)
        for c in range(s.cycles):
            await FallingEdge(dut.clk)
            dut.now.value = c * s.n
            dut.samples.value = sum(s.word(ch, c, levels) << ch * s.n for ch in range(CHANNELS))
            dut.attempt.value = c in planned
            dut.attempt_offset.value = planned.get(c, 0)
            await ReadOnly()
            monitor.sample(c)


class HeraldMonitor:
    """Per cycle: the decision, a record taken, the herald words, the counters' strobes."""

    def __init__(self, dut, n):
        self.dut, self.n = dut, n
        self.seen = {"decided": [], "records": [], "herald": [], "overlaps": 0, "references": 0, "lost": 0}

    def sample(self, c):
        dut, seen = self.dut, self.seen
        decided = int(dut.decided.value)
        if decided:
            seen["decided"].append((c, Outcome(decided.bit_length() - 1)))
        if int(dut.records__valid.value) and int(dut.records__ready.value):
            seen["records"].append(self._record(int(dut.records__payload.value)))
        seen["herald"].append(unpack_array(int(dut.herald.value), self.n, OUTPUTS))
        seen["overlaps"] += int(dut.overlap_inc.value)
        seen["references"] += int(dut.reference_inc.value)
        seen["lost"] += int(dut.record_lost_inc.value)

    @staticmethod
    def _record(v):
        field = lambda name: v >> RECORD[name].offset & ((1 << RECORD[name].width) - 1)
        clicks = field("clicks")
        pattern = field("pattern")
        return (field("reference"), field("attempt"), Outcome(field("outcome")), bool(field("multi")), pattern,
                {i: clicks >> i * CLICK_WIDTH & ((1 << CLICK_WIDTH) - 1)
                 for i in range(MAX_DETECTORS * MAX_WINDOWS) if pattern >> i & 1})


async def run(dut, scenario):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    driver, monitor = HeraldDriver(dut, scenario), HeraldMonitor(dut, scenario.n)
    dut.rst.value = 1
    dut.now.value = 0
    dut.samples.value = 0
    dut.attempt.value = 0
    dut.attempt_offset.value = 0
    driver.configure()
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    await ReadOnly()
    unknown = [name for name in ("decided", "record_lost_inc", "records__valid", "herald", "busy", "overlap_inc")
                if not getattr(dut, name).value.is_resolvable]
    assert not unknown, f"undefined after reset: {unknown}"
    await driver.drive(monitor)
    return score(scenario, monitor.seen)


@cocotb.test()
async def single_click_attempt_loop(dut):
    """Random clicks, the attempt loop's starts as references, the single-click table."""
    await run(dut, random_scenario(random.Random(SEED), N, "single-click", "loop"))


@cocotb.test()
async def barrett_kok_attempt_loop(dut):
    await run(dut, random_scenario(random.Random(SEED + 1), N, "barrett-kok", "loop"))


@cocotb.test()
async def single_click_input_reference(dut):
    """An input edge as the reference: the laser sync of a midpoint station."""
    await run(dut, random_scenario(random.Random(SEED + 2), N, "single-click", "input"))


@cocotb.test()
async def barrett_kok_input_reference(dut):
    await run(dut, random_scenario(random.Random(SEED + 3), N, "barrett-kok", "input"))
