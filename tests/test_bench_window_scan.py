"""`qnu bench window-scan` on the virtual board: the attempt loop's excitation pulse comes
back through a cable as the "photon" on detector 1, both detectors see Poisson dark counts.
With the signal blocked every herald is false, at the rate the Poisson formula gives; with
it, the heralds peak where the window covers the photon."""

import json

import numpy as np
import pytest

from qnu.host.bench.window_scan import scan_windows
from qnu.host.device import Device
from qnu.sim.sources import parse_source
from qnu.sim.virtual_board import Loopback, VirtualBoard

DARK_HZ = 2e6
CABLE_PS = 47_500


@pytest.fixture(scope="module")
def board():
    sources = [parse_source(f"1:dark:rate={DARK_HZ:g},width=2ns"), parse_source(f"2:dark:rate={DARK_HZ:g},width=2ns")]
    with VirtualBoard(sources=sources, loopbacks=[Loopback(0, 1, CABLE_PS)], seed=3) as vb:
        yield vb


def test_window_scan_finds_the_photon_and_measures_false_heralds(board, tmp_path, capsys):
    from qnu.host.cli import main
    main(["bench", "window-scan", "--port", board.path, "--detectors", "1,2", "--laser-output", "0",
          "--offsets", "0ns:100ns:20ns", "--widths", "20ns", "--attempts", "400", "--output", str(tmp_path)])
    result = json.loads((tmp_path / "window_scan.json").read_text())
    assert result["complete"] and (tmp_path / "window_scan.png").stat().st_size > 0
    points = result["points"]
    assert [p["offset_ps"] for p in points] == [0, 20_000, 40_000, 60_000, 80_000]
    # blocked: exactly one dark click over both detectors in the 20 ns window (Poisson)
    mu = 2 * DARK_HZ * 20e-9
    p_false = mu * np.exp(-mu)
    for p in points:
        assert abs(p["blocked"]["p"] - p_false) < 4 * np.sqrt(p_false * (1 - p_false) / 400), p
        assert p["blocked"]["decided"] == 400
    # with the signal: the photon (the pulse after its output's latency and the cable) is in the
    # window at 40..60 ns only; there the herald needs no dark click besides it
    best = max(points, key=lambda p: p["signal"]["p"])
    assert best["offset_ps"] == 40_000
    p_true = np.exp(-mu)
    assert abs(best["signal"]["p"] - p_true) < 4 * np.sqrt(p_true * (1 - p_true) / 400) + 0.03
    out = capsys.readouterr().out
    assert "40.0 ns" in out


def test_the_scan_puts_the_node_back(board, tmp_path):
    with Device(board.path) as dev:
        source = dev.outputs[0].source
        before = dev.regs.read("her_ctrl", "her_win0_offset", "ch1_ctrl", "ch2_ctrl")
        scan_windows(dev, detectors=(1, 2), offsets_ps=[40_000], widths_ps=[20_000], laser_output=0, attempts=50,
                     progress=False)
        assert dev.regs.read(*before) == before and dev.outputs[0].source == source
