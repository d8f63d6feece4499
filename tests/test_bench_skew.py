"""`qnu bench skew` against `qnu sim serve --dg645 ...`: the simulated DG645 reached through
pyvisa-py on a local socket, its outputs cabled into the virtual board's inputs."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from qnu.host.bench.skew import calibrate_skew, pair_offsets
from qnu.host.device import Device
from qnu.host.instruments import InstrumentTimeout, open_instrument
from qnu.host.skew import calibration_path
from qnu.sim.instruments.dg645_model import DG645Model, parse_wiring
from qnu.sim.instruments.server import InstrumentServer
from qnu.sim.virtual_board import VirtualBoard

BIN_PS = 2_500          # the virtual board's: 100 MHz, 4 samples per cycle
# cables off the bin boundaries, so that the 25 ps jitter does not flip edges between bins
CABLES_PS = {0: 1_000, 1: 8_600, 2: 13_400, 3: 4_100}
WIRING = "A:0:1ns,B:1:8.6ns,C:2:13.4ns,D:3:4.1ns"


def tick(ps):
    return ps // BIN_PS


@pytest.fixture
def served(tmp_path):
    """`qnu sim serve` with a DG645, as a user starts it; (pty path, VISA resource)."""
    proc = subprocess.Popen([sys.executable, "-m", "qnu.host.cli", "sim", "serve", "--dg645", WIRING],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, port, resource = [], None, None
    deadline = time.monotonic() + 300                   # (a first run builds the harness)
    while (port is None or resource is None) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        port = port or (re.search(r"serving node on (\S+)", line) or [None, None])[1]
        resource = resource or (re.search(r"serving DG645 on (\S+)", line) or [None, None])[1]
    try:
        assert port and resource, "".join(lines)
        yield port, resource
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_bench_skew_removes_the_cables_skew_and_the_node_keeps_the_corrections(served, tmp_path, capsys):
    from qnu.host.cli import main
    port, resource = served
    main(["bench", "skew", "--port", port, "--dg645", resource, "--channels", "0,1,2,3", "--triggers", "60",
          "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert "residual at most" in out and (tmp_path / "skew.png").stat().st_size > 0
    import json
    result = json.loads((tmp_path / "skew.json").read_text())
    assert result["complete"] and result["passed"]
    # the skew the tags show is each cable's delay less the reference's, to within a bin's quantization
    for c, cable in CABLES_PS.items():
        expected = (tick(cable) - tick(CABLES_PS[0])) * BIN_PS
        assert result["skew_ps"][str(c)] == pytest.approx(expected, abs=1)
    assert max(abs(v) for v in result["residual_ps"].values()) <= BIN_PS
    # opening the node again applies the saved corrections, and the pulses line up
    with Device(port) as dev:
        assert calibration_path(port, dev.info.build_id).exists()
        for c in CABLES_PS:
            assert dev.channel_config(c).delay_ps == result["corrections_ps"][str(c)]
            dev.configure(c)
        dg = open_instrument("dg645", resource)
        dg.trigger_source = "internal"
        rec = dev.record(30, max_tags=200)
    tags = rec.tags()
    ref = np.sort(tags.timestamp_ps[tags.channel == 0])
    for c in (1, 2, 3):
        offsets = pair_offsets(ref, np.sort(tags.timestamp_ps[tags.channel == c]), 100_000_000)
        assert len(offsets) > 10 and np.all(np.abs(offsets) <= BIN_PS)


@pytest.fixture
def bench():
    model = DG645Model(parse_wiring(WIRING))
    with VirtualBoard(sources=[model], live=True) as vb, InstrumentServer(model) as server:
        yield vb, server, model


def test_ctrl_c_puts_the_instruments_and_the_node_back_and_keeps_what_was_measured(bench, tmp_path, monkeypatch):
    vb, server, model = bench
    from qnu.host.bench import skew
    dg = open_instrument("dg645", server.resource)
    dg.trigger_source = "single shot"
    dg.E.delay = ("T0", 1e-6)
    calls = []
    measure = skew._measure

    def interrupted_second_pass(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return measure(*args)

    monkeypatch.setattr(skew, "_measure", interrupted_second_pass)
    with Device(vb.path) as dev:
        dev.configure(2, rising=True, falling=True, delay_ps=5_000)
        before = dev.regs.read(*(f"ch{c}_{k}" for c in range(4) for k in ("ctrl", "delay", "dead_time")))
        with pytest.raises(KeyboardInterrupt):
            calibrate_skew(dev, dg, [0, 1, 2, 3], triggers=20, output=tmp_path, progress=False)
        assert dev.regs.read(*before) == before and dev.skew is None
        assert not calibration_path(vb.path, dev.info.build_id).exists()
    import json
    result = json.loads((tmp_path / "skew.json").read_text())
    assert not result["complete"] and result["interrupted"] == "KeyboardInterrupt"
    assert set(result["skew_ps"]) == {"0", "1", "2", "3"}            # the first pass is kept
    assert dg.trigger_source == "single shot" and dg.E.delay == ("T0", pytest.approx(1e-6))
    assert dg.A.delay == ("T0", 0.0)


def test_an_instrument_that_stops_answering_is_a_clear_error_and_changes_nothing(bench, tmp_path):
    vb, server, model = bench
    dg = open_instrument("dg645", server.resource, timeout_ms=300)
    server.hang()
    with Device(vb.path) as dev:
        before = dev.regs.read("ch0_ctrl", "ch0_delay", "ch1_ctrl", "ch1_delay")
        with pytest.raises(InstrumentTimeout, match="DG645: no answer to 'TSRC\\?'"):
            calibrate_skew(dev, dg, [0, 1], triggers=5, output=tmp_path, progress=False)
        assert dev.regs.read(*before) == before
