"""Each ECP5 primitive model on its own, in Icarus, against a reference written here.

The testbench plays the pins bit by bit: time advances in unit intervals
(UI, half an edge-clock period); edge k of the fast clock is at k * UI
(rising for even k) and the serial bit k is stable around it. The reference
is the serial stream itself: a word must hold exactly the bits the
documentation and the model's stated latency say, in order (Q0 / D0 first).
"""

import random

import cocotb
import pytest
from cocotb.triggers import Timer

from qnu.sim.vendor_models import SclkReference, SerialBench, ecp5_models, run_icarus

UI = 1200               # ps; ECLK = 2 UI = 2.4 ns (about 417 MHz)
MODULE = "qnu.sim.test_vendor_models"


def bits_of(dut, names):
    return [int(getattr(dut, n).value) for n in names]


async def reset_pulse(bench, *, rst="RST", uis=6):
    """Hold RST for a few UIs, release it mid-UI (not on a clock edge)."""
    getattr(bench.dut, rst).value = 1
    for _ in range(uis):
        await bench.step()
    bench.ref.reset()
    bench.sclk_rises.clear()
    getattr(bench.dut, rst).value = 0
    return bench.k + 1                          # first edge after release


# -- IDDRX2F --------------------------------------------------------------------------------------

Q4 = ["Q0", "Q1", "Q2", "Q3"]


@cocotb.test()
async def iddrx2f_words_are_four_bits_earliest_first(dut):
    rng = random.Random(1)
    dut.ECLK.value = 0
    dut.SCLK.value = 0
    dut.ALIGNWD.value = 0
    dut.D.value = 0
    bench = SerialBench(dut, "ECLK", "SCLK", ui=UI)
    stream, words = {}, {}

    def drive(k):
        stream[k] = rng.getrandbits(1)
        dut.D.value = stream[k]

    def sample(k):
        if bench.sclk_rises and bench.sclk_rises[-1] == k:
            words[k] = bits_of(dut, Q4)

    first = await reset_pulse(bench)
    assert bits_of(dut, Q4) == [0, 0, 0, 0], "RST clears Q"
    for _ in range(400):
        await bench.step(drive, sample)

    # SCLK rises on the 2nd ECLK rising edge after RST (the reference), and
    # each word holds the 4 bits of the SCLK cycle two SCLK cycles earlier
    assert bench.sclk_rises[0] == first + 2
    checked = 0
    for k, word in words.items():
        if k - 8 >= first + 4:
            assert word == [stream[k - 8 + j] for j in range(4)], f"word at UI {k}"
            checked += 1
    assert checked > 90

    # ALIGNWD: a pulse slips SCLK by one ECLK (reference) and the words stay on it
    dut.ALIGNWD.value = 1
    r = bench.k + 1 if bench.k % 2 else bench.k + 2     # ALIGNWD seen at ECLK rise r
    bench.ref.skip_at = r + 4                   # two flops, then the skipped toggle
    for _ in range(5):
        await bench.step(drive, sample)
    dut.ALIGNWD.value = 0
    words.clear()
    for _ in range(120):
        await bench.step(drive, sample)
    slipped = [k for k in bench.sclk_rises if k > r]
    gaps = sorted(b - a for a, b in zip(slipped, slipped[1:]))
    assert gaps[-1] == 6 and gaps[-2] == 4, "SCLK slipped by one ECLK, once"
    for k, word in words.items():
        if k > r + 12:
            assert word == [stream[k - 8 + j] for j in range(4)], f"word at UI {k} after slip"

    # RST is asynchronous: Q clears at once
    dut.RST.value = 1
    await Timer(1, unit="ps")
    assert bits_of(dut, Q4) == [0, 0, 0, 0]


# -- ODDRX2F --------------------------------------------------------------------------------------

@cocotb.test()
async def oddrx2f_sends_d0_first_two_sclk_later(dut):
    rng = random.Random(2)
    for name in ("ECLK", "SCLK", "D0", "D1", "D2", "D3"):
        getattr(dut, name).value = 0
    bench = SerialBench(dut, "ECLK", "SCLK", ui=UI)
    taken, line = {}, {}
    word = [0, 0, 0, 0]

    def sample(k):
        nonlocal word
        line[k] = int(dut.Q.value)
        if bench.sclk_rises and bench.sclk_rises[-1] == k:
            taken[k] = word                     # what the SCLK edge k just took
            word = [rng.getrandbits(1) for _ in range(4)]
            for j in range(4):
                getattr(dut, f"D{j}").value = word[j]

    first = await reset_pulse(bench)
    assert int(dut.Q.value) == 0
    for _ in range(400):
        await bench.step(sample=sample)
    checked = 0
    for k, w in taken.items():
        if k > first + 4 and k + 12 <= bench.k:
            assert [line[k + 8 + j] for j in range(4)] == w, f"word taken at UI {k}"
            checked += 1
    assert checked > 90


# -- IDDRX1F / ODDRX1F ----------------------------------------------------------------------------

@cocotb.test()
async def iddrx1f_q0_is_the_rising_edge_bit(dut):
    rng = random.Random(3)
    dut.SCLK.value = 0
    dut.D.value = 0
    bench = SerialBench(dut, "SCLK", ui=UI)
    stream, pairs = {}, {}

    def drive(k):
        stream[k] = rng.getrandbits(1)
        dut.D.value = stream[k]

    def sample(k):
        if k % 2 == 0:
            pairs[k] = bits_of(dut, ["Q0", "Q1"])

    first = await reset_pulse(bench)
    assert bits_of(dut, ["Q0", "Q1"]) == [0, 0]
    for _ in range(300):
        await bench.step(drive, sample)
    checked = 0
    for k, pair in pairs.items():
        if k - 2 >= first:
            assert pair == [stream[k - 2], stream[k - 1]], f"pair at UI {k}"
            checked += 1
    assert checked > 140
    dut.RST.value = 1
    await Timer(1, unit="ps")
    assert bits_of(dut, ["Q0", "Q1"]) == [0, 0]


@cocotb.test()
async def oddrx1f_sends_d0_while_sclk_is_high(dut):
    rng = random.Random(4)
    for name in ("SCLK", "D0", "D1"):
        getattr(dut, name).value = 0
    bench = SerialBench(dut, "SCLK", ui=UI)
    taken, line = {}, {}
    pair = [0, 0]

    def sample(k):
        nonlocal pair
        line[k] = int(dut.Q.value)
        if k % 2 == 0:
            taken[k] = pair
            pair = [rng.getrandbits(1), rng.getrandbits(1)]
            dut.D0.value, dut.D1.value = pair

    first = await reset_pulse(bench)
    assert int(dut.Q.value) == 0
    for _ in range(300):
        await bench.step(sample=sample)
    checked = 0
    for k, p in taken.items():
        if k > first and k + 6 <= bench.k:
            assert [line[k + 4], line[k + 5]] == p, f"pair taken at UI {k}"
            checked += 1
    assert checked > 140


# -- CLKDIVF --------------------------------------------------------------------------------------

@cocotb.test()
async def clkdivf_divides_by_two_and_honours_rst_and_alignwd(dut):
    dut.CLKI.value = 0
    dut.ALIGNWD.value = 0
    bench = SerialBench(dut, "CLKI", ui=UI)
    ref = SclkReference()
    seen = []

    def sample(k):
        if k % 2 == 0:
            seen.append((k, int(dut.CDIVX.value), ref.rise(k)))

    dut.RST.value = 1
    for _ in range(6):
        await bench.step()
    assert int(dut.CDIVX.value) == 0, "RST holds CDIVX low"
    dut.RST.value = 0
    for _ in range(80):
        await bench.step(sample=sample)
    assert all(got == want for _, got, want in seen), seen
    first_rise = next(k for k, got, _ in seen if got)
    assert first_rise == seen[1][0], "first CDIVX rise on the 2nd CLKI rise after RST"

    # ALIGNWD high before rise r: two synchronising flops, then one toggle skipped
    dut.ALIGNWD.value = 1
    r = bench.k + 1 if bench.k % 2 else bench.k + 2
    ref.skip_at = r + 4
    seen.clear()
    for _ in range(40):
        await bench.step(sample=sample)
    dut.ALIGNWD.value = 0          # a long pulse is still one slip: edge-triggered
    for _ in range(40):
        await bench.step(sample=sample)
    assert all(got == want for _, got, want in seen), seen
    highs = [k for k, got, _ in seen if got]
    gaps = [b - a for a, b in zip(highs, highs[1:])]
    assert sum(g != 4 for g in gaps) == 1, "one CDIVX level held for an extra CLKI"

    # RST is asynchronous
    dut.RST.value = 1
    await Timer(1, unit="ps")
    assert int(dut.CDIVX.value) == 0


# -- ECLKSYNCB ------------------------------------------------------------------------------------

@cocotb.test()
async def eclksyncb_stop_gates_whole_pulses(dut):
    rng = random.Random(5)
    dut.ECLKI.value = 0
    dut.STOP.value = 0
    periods = []                # per ECLKI high phase: the ECLKO values seen in it

    async def half_period(level):
        dut.ECLKI.value = level
        seen = []
        for _ in range(4):      # four looks per half period
            await Timer(UI // 4, unit="ps")
            seen.append(int(dut.ECLKO.value))
        return seen

    stop_schedule = {}
    stop = 0
    for cycle in range(200):
        if cycle in (40, 120) or (cycle > 160 and rng.random() < 0.2):
            stop ^= 1
        stop_schedule[cycle] = stop
        # change STOP at a random point, also while ECLKI is high
        high = await half_period(1)
        if rng.random() < 0.5:
            dut.STOP.value = stop
        low = await half_period(0)
        dut.STOP.value = stop
        periods.append((high, low))

    for cycle, (high, low) in enumerate(periods):
        assert low == [0, 0, 0, 0], "ECLKO is low while ECLKI is low"
        assert high in ([0, 0, 0, 0], [1, 1, 1, 1]), f"runt pulse in cycle {cycle}"
    running = [high[0] for high, _ in periods]
    assert running[:3] == [0, 0, 0], "the gate starts closed"
    assert all(running[10:40]), "STOP low: ECLKO follows ECLKI"
    assert not any(running[45:120]), "STOP high: ECLKO held low within a few cycles"
    assert all(running[125:160]), "STOP released: the clock resumes"
    for cycle in range(160, 200):
        if len({stop_schedule[c] for c in range(cycle - 4, cycle + 1)}) == 1:
            assert running[cycle] == 1 - stop_schedule[cycle]


# -- pytest ---------------------------------------------------------------------------------------

CASES = {
    "IDDRX2F": ["iddrx2f_words_are_four_bits_earliest_first"],
    "ODDRX2F": ["oddrx2f_sends_d0_first_two_sclk_later"],
    "IDDRX1F": ["iddrx1f_q0_is_the_rising_edge_bit"],
    "ODDRX1F": ["oddrx1f_sends_d0_while_sclk_is_high"],
    "CLKDIVF": ["clkdivf_divides_by_two_and_honours_rst_and_alignwd"],
    "ECLKSYNCB": ["eclksyncb_stop_gates_whole_pulses"],
}


@pytest.mark.parametrize("primitive", sorted(CASES))
def test_ecp5_model(primitive):
    run_icarus(f"vendor-{primitive}", ecp5_models(), primitive, MODULE, testcase=CASES[primitive])
