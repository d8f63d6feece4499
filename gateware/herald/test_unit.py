"""The herald unit against its reference model (sim/herald_model.py), in Amaranth's simulator."""

import os
import random

import pytest
from amaranth.sim import Simulator

from qnu.gateware.herald import HeraldUnit
from qnu.gateware.outputs.waveform import LEAD_CYCLES
from qnu.herald import Outcome, pack_table, scheme_table, MAX_DETECTORS, MAX_WINDOWS
from qnu.sim.herald_model import HeraldSettings
from qnu.sim.herald_scenarios import (CHANNELS, OUTPUTS, SUCCESS_OUT, STATE_OUT, WIDTH, Scenario, expected,
                                      pulses, random_scenario, score)
from qnu.sim.model import ChannelSettings

SEED = int(os.environ.get("QNU_SEED", 1))


def run_unit(s, ready=lambda c: True, *, channels=CHANNELS, fixed_channels=False, decision_stage=False,
             split_table=False):
    """Drive the unit through scenario ``s``; what it did, cycle by cycle."""
    n, settings = s.n, s.settings
    dut = HeraldUnit(channels=channels, samples_per_cycle=n, outputs=OUTPUTS, fixed_channels=fixed_channels,
                     decision_stage=decision_stage, split_table=split_table)
    assert dut.latency_cycles == settings.latency_cycles
    planned = s.planned(LEAD_CYCLES)
    seen = {"decided": [], "records": [], "herald": [], "overlaps": 0, "references": 0, "lost": 0}

    async def bench(ctx):
        cfg = dut.config
        ctx.set(cfg.enable, 1)
        ctx.set(cfg.input_ref, settings.reference is not None)
        ctx.set(cfg.ref_channel, 0 if fixed_channels else settings.reference or 0)   # (fixed: ignored)
        ctx.set(cfg.windows, len(settings.windows))
        ctx.set(cfg.multi_outcome, settings.multi_outcome)
        ctx.set(cfg.record, sum(1 << o for o in settings.record))
        for d in range(MAX_DETECTORS):
            on = d < len(settings.detectors)
            channel = (5 if fixed_channels else settings.detectors[d]) if on else 0
            ctx.set(cfg.detectors[d], {"channel": channel, "enable": on})
        for w, (offset, width) in enumerate(settings.windows):
            ctx.set(cfg.window[w], {"offset": offset, "width": width})
        ctx.set(cfg.success_output, SUCCESS_OUT)
        ctx.set(cfg.state_output, STATE_OUT)
        ctx.set(cfg.width, WIDTH)
        ctx.set(dut.table, sum(word << 32 * i for i, word in enumerate(pack_table(settings.table))))
        for c in range(channels):
            cs = s.channel_settings.get(c, ChannelSettings())
            ctx.set(dut.channel_config[c], {"enable": cs.enable, "rising": cs.rising, "falling": cs.falling,
                                            "delay": cs.delay, "dead_time": cs.dead_time})
        levels = s.levels()
        for c in range(s.cycles):
            ctx.set(dut.now, c * n)
            for ch in range(channels):
                ctx.set(dut.samples[ch], s.word(ch, c, levels))
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


def check(s, **kwargs):
    seen = run_unit(s, **kwargs)
    return seen, score(s, seen)


def test_single_click_edges_of_the_window_are_half_open():
    # window [R+20, R+30) on detectors 1 and 2; clicks exactly at the opening tick count, at the closing tick not
    n = 4
    table, _ = scheme_table("single-click")
    settings = HeraldSettings(n, detectors=(1, 2), windows=((20, 10),), table=tuple(table))
    clicks = {1: pulses([100 + 20, 300 + 29]), 2: pulses([200 + 30, 400 + 19])}
    seen, want = check(Scenario(n, settings, clicks, {}, loop_starts=[100, 200, 300, 400], cycles=140))
    assert [d.outcome for d in want] == [Outcome.PSI_PLUS, Outcome.FAIL, Outcome.PSI_PLUS, Outcome.FAIL]


@pytest.mark.parametrize("split_table", [False, True])
def test_barrett_kok_states_and_a_click_in_dead_time(split_table):
    # (250 and 350 are in the closing word of the second window: with a split table, they pick its row)
    n = 4
    table, _ = scheme_table("barrett-kok")
    settings = HeraldSettings(n, detectors=(0, 1), windows=((10, 12), (40, 12)), table=tuple(table))
    clicks = {0: pulses([110, 140, 210, 350, 410, 414, 511]),    # 414: inside 410's dead time of 8 ticks
              1: pulses([250, 310, 513])}
    dead = {0: ChannelSettings(dead_time=8), 1: ChannelSettings(dead_time=8)}
    seen, want = check(Scenario(n, settings, clicks, dead, loop_starts=[100, 200, 300, 400, 500], cycles=170),
                       split_table=split_table)
    assert [d.outcome for d in want] == [Outcome.PSI_PLUS, Outcome.PSI_MINUS, Outcome.PSI_MINUS, Outcome.FAIL,
                                         Outcome.REJECT]


def test_two_references_inside_one_attempt_the_second_is_counted_not_followed():
    n = 4
    table, _ = scheme_table("single-click")
    settings = HeraldSettings(n, detectors=(1, 2), windows=((16, 40),), table=tuple(table), reference=3)
    seen, want = check(Scenario(n, settings, {3: pulses([100, 120, 300]), 1: pulses([130, 320])}, {}, cycles=120))
    assert seen["overlaps"] == 1 and len(want) == 2


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("scheme", ["single-click", "barrett-kok"])
@pytest.mark.parametrize("reference", ["loop", "input"])
def test_random_clicks_against_the_model(n, scheme, reference):
    s = random_scenario(random.Random(f"{n} {scheme} {reference} {SEED}"), n, scheme, reference)
    seen, want = check(s)
    assert len(want) + seen["overlaps"] >= 3


def test_a_record_the_stream_has_no_room_for_is_counted():
    n = 4
    table, _ = scheme_table("single-click")
    settings = HeraldSettings(n, detectors=(1, 2), windows=((8, 8),), table=tuple(table), record=frozenset(Outcome))
    s = Scenario(n, settings, {1: pulses([50, 90])}, {}, loop_starts=[40, 80, 120, 160], cycles=60)
    seen = run_unit(s, ready=lambda c: False)
    assert seen["records"] == [] and seen["lost"] == 3 and len(seen["decided"]) == 4


@pytest.mark.parametrize("reference", ["loop", "input"])
def test_fixed_channels_read_detectors_on_inputs_0_to_3_and_the_reference_on_input_4(reference):
    """A build with fixed herald channels (the ULX3S's) decides as the model does with its
    detectors on inputs 0 and 1 and its reference on input 4, whatever the channel fields say."""
    from qnu.herald import FIXED_REFERENCE_CHANNEL
    s = random_scenario(random.Random(f"fixed {reference} {SEED}"), 16, "single-click", reference,
                        reference_channel=FIXED_REFERENCE_CHANNEL, channels=6)
    seen, want = check(s, channels=6, fixed_channels=True)
    assert len(want) + seen["overlaps"] >= 3


@pytest.mark.parametrize("scheme", ["single-click", "barrett-kok"])
def test_a_decision_stage_makes_the_herald_a_cycle_later_and_nothing_else(scheme):
    """The ULX3S's build: fixed channels and the decision registered before the pulses. The model
    with a latency of 3 cycles: the same decisions, counts and records, each herald a word later."""
    import dataclasses
    from qnu.herald import FIXED_REFERENCE_CHANNEL
    from qnu.sim.herald_model import LATENCY_CYCLES
    for salt in range(20):                  # (a scenario in which the model heralds)
        s = random_scenario(random.Random(f"stage {scheme} {SEED} {salt}"), 16, scheme, "input",
                            reference_channel=FIXED_REFERENCE_CHANNEL, channels=6)
        s.settings = dataclasses.replace(s.settings, latency_cycles=LATENCY_CYCLES + 1)
        if any(d.outcome.success for d in expected(s)[0]):
            break
    seen, want = check(s, channels=6, fixed_channels=True, decision_stage=True)
    assert any(d.outcome.success for d in want) and len(want) >= 3


@pytest.mark.parametrize("scheme", ["single-click", "barrett-kok"])
@pytest.mark.parametrize("reference", ["loop", "input"])
def test_a_split_table_decides_as_the_whole_table_does_in_the_same_cycle(scheme, reference):
    """The ULX3S's build: the table's row picked in the closing cycle. The model, at the
    usual latency: the same decisions, counts, records and heralds, in the same words."""
    from qnu.herald import FIXED_REFERENCE_CHANNEL
    for salt in range(20):                  # (a scenario in which the model heralds)
        s = random_scenario(random.Random(f"split {scheme} {reference} {SEED} {salt}"), 16, scheme, reference,
                            reference_channel=FIXED_REFERENCE_CHANNEL, channels=6)
        if any(d.outcome.success for d in expected(s)[0]):
            break
    seen, want = check(s, channels=6, fixed_channels=True, split_table=True)
    assert any(d.outcome.success for d in want) and len(want) >= 3
