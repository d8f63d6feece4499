"""Trigger outputs end to end: the host library drives the sequencer and the attempt
loop of the gateware node on a virtual board whose outputs are cabled back to its
inputs, and the tags of the played pulses are where the specification puts them.

The reference is the specification, in ticks: an output event at tick T leaves
in the sample of tick T (docs/architecture.md, "Outputs"), a cable of D ticks
shows it on the input at tick T + D, and a rising edge first seen at tick s is
tagged s (docs/architecture.md, "Conventions"), reported by the host at the
middle of its bin. Attempts start at ``start + k * period``.
"""

import time

import numpy as np
import pytest

from qnu.host import AttemptPulse, Device, Edge, OutputSource, Pulse, SequencerFull, SequencerLate, StopReason
from qnu.sim.virtual_board import Loopback, VirtualBoard
from qnu.wire import MAX_SCHEDULE

DIVISOR = {"verilator": 8, "amaranth": 4}
CABLE_0_TO_1 = 5_000            # ps: 2 ticks of 2.5 ns
CABLE_1_TO_0 = 12_500           # ps: 5 ticks


def looped_board(backend="verilator"):
    return VirtualBoard(backend=backend, channels=2, samples_per_cycle=4, clock_hz=100_000_000,
                        divisor=DIVISOR[backend], outputs=2,
                        loopbacks=[Loopback(0, 1, CABLE_0_TO_1), Loopback(1, 0, CABLE_1_TO_0)])


def record_until_idle(dev, settle_s=0.2, timeout_s=60):
    started, idle = time.monotonic(), []

    def done():
        if not idle and not dev.attempts.status().running:
            idle.append(time.monotonic())
        return (idle and time.monotonic() - idle[0] > settle_s) or time.monotonic() - started > timeout_s
    return dev.record(until=done, poll_s=0.05)


def tags_of(rec, channel):
    t = rec.tags()
    return t.timestamp_ps[t.channel == channel]


def expected_ps(dev, ticks):
    return dev.clock.to_ps(np.asarray(ticks, dtype=np.int64))


@pytest.mark.parametrize("backend", ["verilator"])
def test_attempt_loop_pulses_come_back_at_their_ticks(backend):
    count, period_ps = 25, 2_000_000             # 800 ticks
    with looped_board(backend) as board, Device(board.path, timeout=5) as dev:
        for k in (0, 1):
            dev.outputs[k].source = OutputSource.SEQUENCER
            dev.configure(k, rising=True)
        pattern = [AttemptPulse(0, 0, 20_000), AttemptPulse(1, 300_000, 10_000)]
        start = dev.attempts.start(period_ps=period_ps, count=count, pattern=pattern, lead_s=0.002)
        rec = record_until_idle(dev)
        status = dev.attempts.status()
    assert (status.attempts, status.reason) == (count, StopReason.COUNT)
    period = period_ps // 2500
    starts = start + period * np.arange(count)
    np.testing.assert_array_equal(tags_of(rec, 1), expected_ps(dev, starts + CABLE_0_TO_1 // 2500))
    np.testing.assert_array_equal(tags_of(rec, 0), expected_ps(dev, starts + 300_000 // 2500 + CABLE_1_TO_0 // 2500))
    assert rec.lost_total == 0 and rec.missing_total == 0


def test_qnu_attempts_records_count_pulses_at_period_spacing(tmp_path, capsys):
    from qnu.host.cli import main
    from qnu.recording import load_recording
    out = tmp_path / "attempts.npz"
    with looped_board() as board:
        code = main(["attempts", "--port", board.path, "--timeout", "5", "--period", "2us", "--count", "40",
                     "--pulse", "0:0ns:20ns", "--lead", "0.002", "--record", str(out)])
    printed = capsys.readouterr().out
    assert code in (0, None)
    assert "attempts played 40; stop reason count" in printed and "late events 0" in printed
    stamps = tags_of(load_recording(out), 1)
    assert len(stamps) == 40
    assert set(np.diff(stamps)) == {2_000_000}          # exactly the period, to the bin


def test_scheduled_events_come_back_at_their_ticks_and_late_ones_are_named():
    with looped_board() as board, Device(board.path, timeout=5) as dev:
        dev.outputs[0].source = OutputSource.SEQUENCER
        dev.configure(1, rising=True)
        now = dev.read_time()
        rng = np.random.default_rng(7)
        # rising edges at random ticks (a pulse of 3 ticks each, 16 ticks apart at least),
        # on every sample position of the word
        # (far enough ahead for the frames to arrive first: about 1000 cycles per event on this link)
        ticks = now + 400_000 + np.cumsum(rng.integers(16, 400, size=60))
        assert set(ticks % 4) == {0, 1, 2, 3}
        events = [Pulse(0, int(t) * 2500, 7_500) for t in ticks]
        assert dev.sequencer.schedule(events) == len(events)
        # and one event already in the past: not played, counted, named
        late_tick = now - 100
        dev.sequencer.schedule([Edge(0, late_tick * 2500, rising=True)])
        deadline = time.monotonic() + 60
        rec = dev.record(until=lambda: dev.sequencer.status().played >= len(events) or time.monotonic() > deadline,
                         poll_s=0.05)
        with pytest.raises(SequencerLate, match="1 output event") as e:
            dev.sequencer.check()
        status = dev.sequencer.status()
    assert (e.value.output, e.value.time_ticks) == (0, late_tick) and e.value.late_by_ticks > 100
    assert (status.played, status.late, status.refused) == (len(events), 1, 0)
    assert status.first_late is None                    # check() cleared the latch
    np.testing.assert_array_equal(tags_of(rec, 1), expected_ps(dev, ticks + CABLE_0_TO_1 // 2500))


def test_every_event_sent_is_played_late_or_refused():
    """Ten times what the queue holds, sent as fast as the link goes: written =
    played + late + refused, exactly."""
    with looped_board() as board, Device(board.path, timeout=5) as dev:
        dev.outputs[0].source = OutputSource.SEQUENCER
        depth = dev.sequencer.depth
        now = dev.read_time()
        # 5 ticks apart from 20 ms ahead: the queue fills (refused) long before the first
        # plays; the link takes longer than 20 ms of node time for them all, so the last
        # frames arrive after their ticks (late)
        ticks = now + 8_000_000 + 5 * np.arange(10 * depth)
        written = refused = 0
        for first in range(0, len(ticks), MAX_SCHEDULE):
            frame = [Pulse(0, int(t) * 2500, 2500) for t in ticks[first:first + MAX_SCHEDULE]]
            written += len(frame)
            try:
                dev.sequencer.schedule(frame)
            except SequencerFull as e:
                assert e.queued == 0
                refused += len(frame)
        deadline = time.monotonic() + 30
        while dev.sequencer.free()[0] < depth and time.monotonic() < deadline:
            time.sleep(0.05)
        status = dev.sequencer.status()
    assert refused > 0 and status.late > 0 and status.played > 0
    assert status.refused == refused
    assert status.played + status.late + status.refused == written
