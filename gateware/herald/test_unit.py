"""The herald unit against its reference model (sim/herald_model.py), in Amaranth's simulator."""

import os
import random

import pytest
from amaranth.sim import Simulator

from qnu.gateware.herald import HeraldUnit
from qnu.herald import Outcome, pack_table, scheme_table, TABLE_WORDS, MAX_DETECTORS, MAX_WINDOWS
from qnu.sim.herald_model import HeraldModel, HeraldSettings, clicks_from_events
from qnu.sim.model import ChannelSettings, Waveform, expected_events
from qnu.sim.sequencer_model import words
from qnu.gateware.outputs.waveform import LEAD_CYCLES

CHANNELS, OUTPUTS = 4, 2
SEED = int(os.environ.get("QNU_SEED", 1))
SUCCESS_OUT, STATE_OUT, WIDTH = 0, 1, 3


def run_unit(n, settings, waveforms, channel_settings, *, loop_starts=(), cycles, ready=lambda c: True):
    """Drive the unit; returns what it did, cycle by cycle."""
    dut = HeraldUnit(channels=CHANNELS, samples_per_cycle=n, outputs=OUTPUTS)
    planned = {s // n - LEAD_CYCLES: s % n for s in loop_starts}
    seen = {"decided": [], "records": [], "herald": [], "overlaps": 0, "references": 0, "lost": 0}

    async def bench(ctx):
        cfg = dut.config
        ctx.set(cfg.enable, 1)
        ctx.set(cfg.input_ref, settings.reference is not None)
        ctx.set(cfg.ref_channel, settings.reference or 0)
        ctx.set(cfg.windows, len(settings.windows))
        ctx.set(cfg.multi_outcome, settings.multi_outcome)
        ctx.set(cfg.record, sum(1 << o for o in settings.record))
        for d in range(MAX_DETECTORS):
            on = d < len(settings.detectors)
            ctx.set(cfg.detectors[d], {"channel": settings.detectors[d] if on else 0, "enable": on})
        for w, (offset, width) in enumerate(settings.windows):
            ctx.set(cfg.window[w], {"offset": offset, "width": width})
        ctx.set(cfg.success_output, SUCCESS_OUT)
        ctx.set(cfg.state_output, STATE_OUT)
        ctx.set(cfg.width, WIDTH)
        ctx.set(dut.table, sum(word << 32 * i for i, word in enumerate(pack_table(settings.table))))
        for c in range(CHANNELS):
            s = channel_settings.get(c, ChannelSettings())
            ctx.set(dut.channel_config[c], {"enable": s.enable, "rising": s.rising, "falling": s.falling,
                                            "delay": s.delay, "dead_time": s.dead_time})
        levels = {c: wf.levels(range(cycles * n)) for c, wf in waveforms.items()}
        for c in range(cycles):
            ctx.set(dut.now, c * n)
            for ch in range(CHANNELS):
                ctx.set(dut.samples[ch], sum(int(levels[ch][c * n + i]) << i for i in range(n)) if ch in levels else 0)
            ctx.set(dut.attempt, c in planned)
            ctx.set(dut.attempt_offset, planned.get(c, 0))
            ctx.set(dut.records.ready, ready(c))
            await ctx.delay(1e-9)
            decided = ctx.get(dut.decided)
            if decided:
                seen["decided"].append((c, Outcome(decided.bit_length() - 1)))
            if ctx.get(dut.records.valid) and ctx.get(dut.records.ready):
                r = ctx.get(dut.records.payload)
                seen["records"].append((r.reference, r.attempt, Outcome(r.outcome), bool(r.multi), r.pattern,
                                        {i: r.clicks[i] for i in range(MAX_DETECTORS * MAX_WINDOWS)
                                         if r.pattern >> i & 1}))
            seen["herald"].append([ctx.get(dut.herald[k]) for k in range(OUTPUTS)])
            seen["overlaps"] += ctx.get(dut.overlap_inc)
            seen["references"] += ctx.get(dut.reference_inc)
            seen["lost"] += ctx.get(dut.record_lost_inc)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return seen


def expected(n, settings, waveforms, channel_settings, *, loop_starts=(), cycles):
    """The model's decisions, for references whose attempt is decided inside the run."""
    tagged = {c: ChannelSettings(True, s.rising, s.falling, s.delay, s.dead_time)
              for c, s in channel_settings.items()}
    events = expected_events(waveforms, tagged, bin_ps=1, samples_per_cycle=n, end_tick=cycles * n)
    if settings.reference is None:
        references = sorted(loop_starts)
    else:
        references = clicks_from_events(events, [settings.reference])[settings.reference]
    model = HeraldModel(settings)
    decisions, overlaps = model.run(references, clicks_from_events(events, settings.detectors))
    return [d for d in decisions if d.decided_word + 1 < cycles - 1], overlaps


def check(n, settings, waveforms, channel_settings, *, loop_starts=(), cycles, ready=lambda c: True):
    seen = run_unit(n, settings, waveforms, channel_settings, loop_starts=loop_starts, cycles=cycles, ready=ready)
    want, overlaps = expected(n, settings, waveforms, channel_settings, loop_starts=loop_starts, cycles=cycles)
    assert seen["decided"] == [(d.decided_word + 1, d.outcome) for d in want]
    assert seen["overlaps"] == overlaps
    recorded = [d for d in want if d.outcome in settings.record]
    records = [(d.reference, d.attempt, d.outcome, d.multi, d.pattern,
                {w * MAX_DETECTORS + det: t for (det, w), t in d.clicks.items()}) for d in recorded]
    assert seen["records"] + [None] * seen["lost"] == records[:len(seen["records"])] + [None] * seen["lost"] \
        if seen["lost"] else seen["records"] == records
    # the herald lines: a pulse of WIDTH ticks from sample 0 of the word after the decision's
    success = [(d.herald_tick, d.herald_tick + WIDTH) for d in want if d.outcome.success]
    state = [(d.herald_tick, d.herald_tick + WIDTH) for d in want if d.outcome == Outcome.PSI_MINUS]
    firsts = [(c + 1) * n for c in range(cycles)]
    assert [h[SUCCESS_OUT] for h in seen["herald"]] == words(success, firsts, n)
    assert [h[STATE_OUT] for h in seen["herald"]] == words(state, firsts, n)
    return seen, want


def pulses(ticks, width=2):
    return Waveform.from_pulses(ticks, [width] * len(ticks))


def test_single_click_edges_of_the_window_are_half_open():
    # window [R+20, R+30) on detectors 1 and 2; clicks exactly at the opening tick count, at the closing tick not
    n = 4
    table, windows = scheme_table("single-click")
    settings = HeraldSettings(n, detectors=(1, 2), windows=((20, 10),), table=tuple(table))
    starts = [100, 200, 300, 400]
    clicks = {1: pulses([100 + 20, 300 + 29]), 2: pulses([200 + 30, 400 + 19])}
    seen, want = check(n, settings, clicks, {}, loop_starts=starts, cycles=140)
    assert [d.outcome for d in want] == [Outcome.PSI_PLUS, Outcome.FAIL, Outcome.PSI_PLUS, Outcome.FAIL]


def test_barrett_kok_states_and_a_click_in_dead_time():
    n = 4
    table, _ = scheme_table("barrett-kok")
    settings = HeraldSettings(n, detectors=(0, 1), windows=((10, 12), (40, 12)), table=tuple(table))
    starts = [100, 200, 300, 400, 500]
    clicks = {0: pulses([110, 140, 210, 350, 410, 414, 511]),    # 414: inside 410's dead time of 8 ticks
              1: pulses([250, 310, 513])}
    dead = {0: ChannelSettings(dead_time=8), 1: ChannelSettings(dead_time=8)}
    seen, want = check(n, settings, clicks, dead, loop_starts=starts, cycles=170)
    assert [d.outcome for d in want] == [Outcome.PSI_PLUS, Outcome.PSI_MINUS, Outcome.PSI_MINUS, Outcome.FAIL,
                                         Outcome.REJECT]


def test_two_references_inside_one_attempt_the_second_is_counted_not_followed():
    n = 4
    table, _ = scheme_table("single-click")
    settings = HeraldSettings(n, detectors=(1, 2), windows=((16, 40),), table=tuple(table), reference=3)
    refs = pulses([100, 120, 300])
    seen, want = check(n, settings, {3: refs, 1: pulses([130, 320])}, {}, cycles=120)
    assert seen["overlaps"] == 1 and len(want) == 2


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("scheme", ["single-click", "barrett-kok"])
@pytest.mark.parametrize("reference", ["loop", "input"])
def test_random_clicks_against_the_model(n, scheme, reference):
    rng = random.Random(f"{n} {scheme} {reference} {SEED}")
    table, nwin = scheme_table(scheme)
    delays = {c: rng.randrange(0, 3 * n) for c in range(CHANNELS)}
    chans = {c: ChannelSettings(rising=True, falling=rng.random() < 0.3, delay=delays[c],
                                dead_time=rng.choice([0, n, 2 * n + 1, 5 * n])) for c in range(CHANNELS)}
    ref = None if reference == "loop" else 3
    spread = max(delays.values())
    offset = spread + (2 * n if ref is not None else 0) + rng.randrange(0, 8)
    windows = tuple((offset + i * (8 * n + 10), rng.randrange(1, 8 * n)) for i in range(nwin))
    multi = rng.choice(list(Outcome))
    settings = HeraldSettings(n, detectors=(0, 1), windows=windows, table=tuple(table), multi_outcome=multi,
                              reference=ref, delays=delays, record=frozenset(Outcome))
    period = max(3 * n, windows[-1][0] + windows[-1][1] + rng.randrange(-20 * n, 30 * n))
    cycles = 60 + 10 * -(-max(period, n) // n)
    starts = list(range(6 * n + rng.randrange(n), (cycles - 40) * n - 2 * period, max(period, n)))
    waveforms = {c: pulses(sorted(rng.sample(range(4 * n, cycles * n - 30), cycles * n // 12 + 4)), rng.randrange(1, 4))
                 for c in (0, 1)}
    if ref is not None:
        waveforms[3] = pulses(starts, 1)
    seen, want = check(n, settings, waveforms, chans, loop_starts=starts if ref is None else (), cycles=cycles)
    assert len(want) + seen["overlaps"] >= 3


def test_a_record_the_stream_has_no_room_for_is_counted():
    n = 4
    table, _ = scheme_table("single-click")
    settings = HeraldSettings(n, detectors=(1, 2), windows=((8, 8),), table=tuple(table), record=frozenset(Outcome))
    starts = [40, 80, 120, 160]
    seen = run_unit(n, settings, {1: pulses([50, 90])}, {}, loop_starts=starts, cycles=60, ready=lambda c: False)
    assert seen["records"] == [] and seen["lost"] == 3 and len(seen["decided"]) == 4
