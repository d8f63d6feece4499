"""The host library against the virtual board: a real pty, the gateware UART, protocol and core."""

import threading

import numpy as np
import pytest

from qnu.host import Device
from qnu.host.errors import LinkLost
from qnu.sim.edge_log import read_edge_log
from qnu.sim.model import ChannelSettings, expected_events, RISING
from qnu.sim.sources import parse_source
from qnu.sim.virtual_board import VirtualBoard

# about 130 k tags per simulated second: well within what the UART carries (divisor 8),
# and what piles up between configuring and streaming fits the node's buffers
SOURCES = ["0:poisson:rate=4e4,width=4ns", "1:periodic:period=40us,phase=1234ps,width=20ns",
           "2,3:pair:rate=4e4,delay=12.5ns,jitter=300ps,efficiency=0.6,noise=1e4"]
# channel: (rising, falling, delay_ps, dead_time_ps)
SETTINGS = {0: (True, False, 0, 0), 1: (True, True, 5_000, 0), 2: (True, False, 12_500, 10_000),
            3: (False, True, 0, 2_500)}


def board(tmp_path, **kw):
    return VirtualBoard(backend="verilator", seed=11, divisor=8, edge_log=tmp_path / "edges.txt",
                        sources=[parse_source(s) for s in SOURCES], **kw)


def configure(dev):
    model = {}
    for ch, (rising, falling, delay_ps, dead_ps) in SETTINGS.items():
        cfg = dev.configure(ch, rising=rising, falling=falling, delay_ps=delay_ps, dead_time_ps=dead_ps)
        model[ch] = ChannelSettings(rising=rising, falling=falling, delay=cfg.delay_ticks,
                                    dead_time=cfg.dead_time_ticks)
    return model


def expected_tags(log, model, clock, n):
    events = expected_events(read_edge_log(log), model, bin_ps=clock.bin_ps, samples_per_cycle=n)
    return (np.array([e.channel for e in events]), clock.to_ps([e.timestamp for e in events]),
            np.array([1 if e.kind == RISING else -1 for e in events]))


def assert_contiguous_slice(got, want):
    """The recording is an unbroken run of the model's tags: same channel, edge and picosecond.

    The channels were enabled one after the other, so the run is checked from
    the first tag of the last one enabled; every tag before it must still be
    one of the model's.
    """
    g_ch, g_ts, g_edge = got
    w_ch, w_ts, w_edge = want
    model = set(zip(w_ch.tolist(), w_ts.tolist(), w_edge.tolist()))
    assert set(zip(g_ch.tolist(), g_ts.tolist(), g_edge.tolist())) <= model
    since = int(np.argmax(g_ch == max(SETTINGS)))
    assert g_ch[since] == max(SETTINGS)
    g_ch, g_ts, g_edge = g_ch[since:], g_ts[since:], g_edge[since:]
    assert len(g_ts) > 100
    start = int(np.searchsorted(w_ts, g_ts[0]))
    end = start + len(g_ts)
    assert end <= len(w_ts), "more tags than the model has"
    np.testing.assert_array_equal(g_ts, w_ts[start:end])
    np.testing.assert_array_equal(g_ch, w_ch[start:end])
    np.testing.assert_array_equal(g_edge, w_edge[start:end])


def test_configure_record_and_compare_with_the_model(tmp_path, figures):
    with board(tmp_path) as vb, Device(vb.path) as dev:
        assert (dev.info.channels, dev.info.samples_per_cycle) == (4, 4)
        model = configure(dev)
        # settings read back as the node holds them
        assert dev.channel_config(2).delay_ticks == model[2].delay and dev.channel_config(3).falling
        recording = dev.record(max_tags=3000, duration_s=60)
        counters = dev.counters()
    tags = recording.tags()
    assert len(tags.timestamp_ps) >= 3000
    assert recording.lost_total == 0 and recording.missing_total == 0 and not recording.overflows
    assert set(np.unique(tags.channel)) == {0, 1, 2, 3}
    assert_contiguous_slice((tags.channel, tags.timestamp_ps, tags.edge),
                            expected_tags(tmp_path / "edges.txt", model, dev.clock, 4))
    assert counters.lost.sum() == 0 and counters.events.sum() >= len(tags.timestamp_ps)
    figures(f"host library on the virtual board: {len(tags.timestamp_ps)} tags in "
            f"{len(recording.blocks)} blocks, all equal to the reference model to the picosecond")


def test_a_link_cut_mid_stream_keeps_what_arrived(tmp_path):
    with board(tmp_path) as vb, Device(vb.path, timeout=0.5) as dev:
        model = configure(dev)
        seen = []

        def cut_after_some_blocks(block):
            seen.append(block)
            if sum(len(b.timestamp_ps) for b in seen) >= 300 and len(seen) >= 3:
                # the cable is pulled: the board and its pty vanish under the host
                threading.Thread(target=vb.close).start()

        with pytest.raises(LinkLost) as caught:
            dev.record(duration_s=120, block_callback=cut_after_some_blocks)
    err = caught.value
    assert "lost" in str(err).lower()
    kept = err.partial
    assert kept and sum(len(b.timestamp_ps) for b in kept) >= 300
    got = (np.concatenate([b.channel for b in kept]), np.concatenate([b.timestamp_ps for b in kept]),
           np.concatenate([b.edge for b in kept]))
    assert_contiguous_slice(got, expected_tags(tmp_path / "edges.txt", model, dev.clock, 4))


def test_qnu_tags_records_from_the_virtual_board(tmp_path, capsys):
    """`qnu tags --port <pty>` as a user runs it; rates are per second of the node's time."""
    from qnu.host.cli import main
    from qnu.recording import load_recording

    out = tmp_path / "tags.npz"
    with VirtualBoard(backend="verilator", divisor=8,
                      sources=[parse_source("1:periodic:period=10us,phase=3ns,width=20ns")]) as vb:
        main(["tags", "--port", vb.path, "--channels", "1", "--max-tags", "3000", "--duration", "60",
              "--output", str(out)])
    text = capsys.readouterr().out
    rec = load_recording(out)
    assert len(rec) >= 3000 and rec.lost_total == 0 and rec.missing_total == 0
    tags = rec.tags()
    assert set(np.unique(tags.channel)) == {1}
    assert np.all(np.diff(tags.timestamp_ps) == 10_000_000)          # every 10 us, to the picosecond
    # the table's rate: 100 kHz of node time, whatever the simulator's speed (tags that waited
    # in the node from before the recording opened can add a few per cent)
    row = next(line.split() for line in text.splitlines() if line.split()[:1] == ["1"])
    rate_khz = float(row[3].replace(",", ""))
    assert row[4] == "kHz" and 95 <= rate_khz <= 110, text


def test_calibrate_measures_a_loop_to_the_tick():
    """Trigger output 0 (the pulse per period) cabled to input 2, 12.5 ns: the calibration
    gives the cable plus the pulse's output latency, one core cycle (the pulse leaves in
    the word after the cycle the timebase marks it in; docs/architecture.md); a channel
    of random pulses is refused, not averaged."""
    from qnu.host.calibrate import CalibrationError, calibrate_loopback
    from qnu.sim.virtual_board import Loopback

    period_ps, cable_ps = 40_000_000, 12_500
    sources = [parse_source("1:poisson:rate=2e5,width=4ns")]
    with VirtualBoard(backend="verilator", seed=5, divisor=8, sources=sources,
                      loopbacks=[Loopback(0, 2, cable_ps)]) as vb, Device(vb.path, timeout=5.0) as dev:
        loop = calibrate_loopback(dev, 2, period_ps=period_ps, timeout_s=60)
        with pytest.raises(CalibrationError, match="disagree"):
            calibrate_loopback(dev, 1, period_ps=period_ps, timeout_s=60)
        assert dev.pulse_period() == 100_000_000 * 4       # restored: the gateware's one second
        assert not dev.channel_config(2).enable
    n = dev.info.samples_per_cycle
    assert loop.offset_ticks == dev.clock.to_ticks(cable_ps) + n
    assert loop.spread_ticks == 0 and loop.pulses == 16


def test_every_settings_register_takes_its_reset_value_back():
    """A saved register set can always be written back, the power-up one included: the node
    accepts each read-write register's power-up value (the register map's reset, or the
    build's, as the pulse period's one second)."""
    with VirtualBoard(backend="verilator", seed=1) as vb, Device(vb.path) as dev:
        settings = [r for r in map(dev.regs.lookup, dev.regs) if r.readable and r.writable]
        assert {"her_ctrl", "her_out", "att_period", "out0_ctrl", "ch0_ctrl"} <= {r.name for r in settings}
        power_up = dev.regs.read(*(r.name for r in settings))
        assert power_up["her_ctrl"] == dev.regs.lookup("her_ctrl").reset
        for name, value in power_up.items():
            dev.regs.write({name: value})
