"""The herald unit end to end: the host library configures it on the gateware
node of a virtual board (Verilator) with Poisson clicks on two detector
inputs, runs the attempt loop, records the stream, and every attempt's
outcome and click times agree with the herald model applied to the recorded
tags (the tagger and the herald see the same clicks)."""

import time

import numpy as np
import pytest

from qnu.herald import Outcome, scheme_table
from qnu.host import AttemptPulse, Device
from qnu.sim.herald_model import HeraldModel, HeraldSettings
from qnu.sim.sources import parse_source
from qnu.sim.virtual_board import VirtualBoard

N = 4
PERIOD, COUNT = 4000, 300                           # ticks of 2.5 ns: 10 us
OFFSET_PS, WINDOW_PS = 40_000, 2_000_000            # 16 and 800 ticks
RATE = 4e4                                          # clicks/s per detector: tags and records fit the UART


def test_herald_decides_every_attempt_as_the_model_does_from_the_tags():
    sources = [parse_source(f"1:poisson:rate={RATE}"), parse_source(f"2:poisson:rate={RATE}")]
    with VirtualBoard(backend="verilator", channels=4, samples_per_cycle=N, clock_hz=100_000_000, divisor=8,
                      outputs=2, sources=sources, seed=5) as board, Device(board.path, timeout=5) as dev:
        for ch in (1, 2):
            dev.configure(ch, rising=True, dead_time_ps=20_000)
        dev.regs["att_period"] = PERIOD
        windows = dev.herald.configure(scheme="single-click", detectors=(1, 2), window_ps=WINDOW_PS,
                                       window_offset_ps=OFFSET_PS, success_output=0, state_output=1,
                                       record=(Outcome.PSI_PLUS, Outcome.PSI_MINUS, Outcome.REJECT))
        assert windows == [(16, 800)] and dev.herald.latency_cycles == 2
        before = dev.herald.counts()
        start = dev.attempts.start(period_ps=PERIOD * 2500, count=COUNT, pattern=[AttemptPulse(1, 0, 10_000)],
                                   lead_s=0.002)
        started = time.monotonic()
        rec = dev.record(until=lambda: (not dev.attempts.status().running and time.monotonic() - started > 0.5)
                         or time.monotonic() - started > 120, poll_s=0.05)
        counts = {k: v - before[k] for k, v in dev.herald.counts().items()}
    assert rec.lost_total == 0 and rec.missing_total == 0
    tags = rec.tags()
    bin_ps = float(dev.clock.bin_ps)
    ticks = np.rint(tags.timestamp_ps / bin_ps + 0.5).astype(np.int64)
    clicks = {ch: sorted(ticks[(tags.channel == ch) & (tags.edge == 1)].tolist()) for ch in (1, 2)}
    table, _ = scheme_table("single-click")
    settings = HeraldSettings(N, detectors=(1, 2), windows=((16, 800),), table=tuple(table))
    decisions, overlaps = HeraldModel(settings).run([start + k * PERIOD for k in range(COUNT)], clicks)
    recorded = [d for d in decisions if d.outcome != Outcome.FAIL]
    heralds = rec.heralds
    assert [(h.attempt, Outcome(h.outcome), h.reference_ps) for h in heralds] == \
        [(d.attempt, d.outcome, int(dev.clock.to_ps(d.reference))) for d in recorded]
    assert [h.clicks_ps for h in heralds] == [{w * 4 + d: round(t * bin_ps) for (d, w), t in x.clicks.items()}
                                              for x in recorded]
    by_outcome = {o: sum(d.outcome == o for d in decisions) for o in Outcome}
    assert counts == {"references": COUNT, "overlaps": 0, "fail": by_outcome[Outcome.FAIL],
                      "psi_plus": by_outcome[Outcome.PSI_PLUS], "psi_minus": by_outcome[Outcome.PSI_MINUS],
                      "reject": by_outcome[Outcome.REJECT], "records_lost": 0}
    assert min(by_outcome[Outcome.PSI_PLUS], by_outcome[Outcome.PSI_MINUS]) >= 5   # the comparison means something


def test_herald_settings_the_node_cannot_follow_are_refused_with_a_reason():
    from qnu.host import HeraldRefused
    with VirtualBoard(backend="verilator", channels=4, samples_per_cycle=N, clock_hz=100_000_000, divisor=8,
                      outputs=2) as board, Device(board.path, timeout=5) as dev:
        dev.regs["att_period"] = 100
        with pytest.raises(HeraldRefused, match="beyond the attempt period of 100 ticks"):
            dev.herald.configure(detectors=(1, 2), window_ps=300_000, window_offset_ps=50_000)
        with pytest.raises(HeraldRefused, match="a reference with no window"):
            dev.herald.configure(detectors=(1, 2), window_ps=0, window_offset_ps=0)
        with pytest.raises(HeraldRefused, match="one to 4 detectors"):
            dev.herald.configure(detectors=(), window_ps=10_000, window_offset_ps=0)
        with pytest.raises(HeraldRefused, match="late_window_offset_ps"):
            dev.herald.configure(scheme="barrett-kok", window_ps=10_000, window_offset_ps=0)
        dev.configure(1, delay_ps=100_000)        # detector 1's delay moves its window before an input reference
        with pytest.raises(HeraldRefused, match="the unit sees clicks from 8 on"):
            dev.herald.configure(detectors=(1, 2), window_ps=10_000, window_offset_ps=20_000, reference=3)
        assert dev.regs["her_ctrl"] & 1 == 0          # nothing was enabled
        # the node itself refuses what the host library would have: enabling with no detector
        from qnu.host.errors import DeviceError
        with pytest.raises(DeviceError):
            dev.regs.write({"her_detectors": 0, "her_win0_width": 5, "her_ctrl": 1 | 1 << 2 | 1 << 1 | 3 << 16})
