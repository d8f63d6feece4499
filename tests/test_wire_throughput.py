"""The wire-throughput benchmark's measurement, short: every event the node accepted is
delivered or counted lost, and the tags travel in a few bytes each. No timing asserts."""

import importlib.util
from pathlib import Path


_PATH = Path(__file__).resolve().parents[1] / "bench" / "wire_throughput.py"


def _bench():
    spec = importlib.util.spec_from_file_location("wire_throughput", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_accounting(r):
    assert r.missing == 0, f"{r.missing} records lost on the link"
    assert r.harness_errors == 0
    # the whole run, after draining the node: delivered + lost (markers) == accepted (counters)
    assert r.total_delivered + r.total_markers_lost == r.total_accepted
    assert r.total_markers_lost == r.total_lost
    assert r.per_channel_ok, r.per_channel
    # the recording's window alone: what the node still held at its end, at most its queues' worth
    # (a READ burst is a snapshot, so events and lost counters agree)
    assert 0 <= r.accepted - r.tags - r.lost <= 4 * 32 + 256 + 16
    # every EVENTS byte the host counted left the node's UART (the rest were replies)
    assert r.wire.wire <= r.harness_bytes_out <= r.wire.wire + 400
    assert r.wire.tags == r.tags and r.wire.frames > 0


def test_moderate_rate_accounting_and_bytes_per_tag(figures):
    bench = _bench()
    # 60 k events/s: below what 3 Mbaud carries, so the frames fill up but nothing is lost
    r = bench.measure(60e3, sim_seconds=0.03, seed=7)
    _assert_accounting(r)
    assert r.tags > 200 and r.total_accepted > 200
    assert 1.5 <= r.wire_bytes_per_tag <= 6, r.wire_bytes_per_tag
    assert 1.5 <= r.record_bytes_per_tag <= r.wire_bytes_per_tag
    assert 0 < r.line_use <= 1.0
    figures(f"wire throughput at 60 k events/s, 3 Mbaud: {r.wire_bytes_per_tag:.2f} bytes/tag on the wire, "
            f"{r.record_bytes_per_tag:.2f} in records, {r.total_delivered} delivered + {r.total_markers_lost} lost "
            f"= {r.total_accepted} accepted")


def test_overload_accounting(figures):
    """Far past the line rate: most events are lost, and every loss is counted by a marker."""
    r = _bench().measure(1e6, sim_seconds=0.01, seed=8)
    _assert_accounting(r)
    assert r.total_lost > r.total_delivered > 0 and r.wire.markers > 0
