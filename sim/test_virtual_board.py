"""The virtual board on a real pseudo-terminal, through the gateware's UART and protocol engine."""

import os
import signal
import subprocess
import sys
import time

import pytest

from qnu import wire
from qnu.host.link import Link
from qnu.regmap import CHANNEL_BASE, CHANNEL_STRIDE
from qnu.sim import harness_build
from qnu.sim.edge_log import read_edge_log
from qnu.sim.model import ChannelSettings, expected_events
from qnu.sim.sources import parse_source
from qnu.sim.virtual_board import BoardError, VirtualBoard

BACKENDS = ["verilator", "amaranth"]
DIVISOR = {"verilator": 8, "amaranth": 4}     # the amaranth backend is slow: a faster line


@pytest.mark.parametrize("backend", BACKENDS)
def test_board_answers_identify_on_a_pty(backend, figures):
    with VirtualBoard(backend=backend, divisor=DIVISOR[backend],
                      sources=[parse_source("0:poisson:rate=2e6")]) as board:
        assert board.path.startswith("/dev/pts/")
        with Link.open(board.path, timeout=30) as link:
            payload = link.request(wire.Command.IDENTIFY)
            # no gearbox: inputs and outputs run, no errors, as registers.md gives the reset value
            phy_status, = link.read(0x0010, 1)
        assert phy_status == 0b0011
        info = wire.IdentifyInfo.unpack(payload)
        assert info.magic == wire.MAGIC
        assert (info.channels, info.samples_per_cycle, info.clock_hz) == (4, 4, 100_000_000)
        status = board.status()
        assert status["bytes_out"] >= len(payload) + 6 and status["cycles"] > 0
        if backend == "amaranth":
            figures(f"virtual board, amaranth backend: {status['cycles_per_second']:,.0f} cycles/s "
                    f"(4 channels, 4 samples/cycle, 1 source)")


@pytest.mark.parametrize("backend,channels,n,sources,wanted", [
    # well under the line rate (12.5 Mbaud simulated at divisor 8), so nothing is lost
    pytest.param("verilator", 4, 4, ["0:poisson:rate=1e5", "1:periodic:period=20us,phase=1234ps",
                                     "2,3:pair:rate=5e4,delay=12.5ns,jitter=300ps,efficiency=0.5,noise=1e4"],
                 2000),
    # 72-bit sample words: wider than any C integer in the harness
    pytest.param("verilator", 9, 8, ["8:poisson:rate=2e5", "0,4:pair:rate=1e5,delay=-3ns,jitter=1ns"], 1000,
                 marks=pytest.mark.slow),
    ("amaranth", 4, 4, ["1:periodic:period=333ns,phase=7ns,width=3ns"], 6),
])
def test_tags_are_the_edges_driven(backend, channels, n, sources, wanted, tmp_path):
    """Every tag streamed back is where the reference model puts the logged edges:
    the stimulus, the pty bridge and the node's time line up to the tick."""
    log = tmp_path / "edges.txt"
    board = VirtualBoard(backend=backend, channels=channels, samples_per_cycle=n, divisor=DIVISOR[backend],
                         seed=4, edge_log=log, sources=[parse_source(s) for s in sources])
    used = sorted({c for src in board.sources for c in src.channels})
    with board, Link.open(board.path, timeout=30) as link:
        for ch in used:
            link.write(CHANNEL_BASE + ch * CHANNEL_STRIDE, [0b011])      # enable, rising edges
        link.request(wire.Command.STREAM, b"\x01")
        records, deadline = [], time.monotonic() + 120
        while len(records) < wanted and time.monotonic() < deadline:
            for frame in link.collect_events(0.05):
                records += wire.decode_records(wire.unpack_events(frame.payload)[1])
    assert len(records) >= wanted and not [r for r in records if r.kind == "overflow"]
    expected = expected_events(read_edge_log(log), {c: ChannelSettings() for c in used},
                               bin_ps=board.clock.bin_ps, samples_per_cycle=n)
    got = [(r.timestamp, r.channel) for r in records]
    keys = [(e.timestamp, e.channel) for e in expected]
    assert set(got) <= set(keys)
    # the channels were enabled one after the other: from the last one's first tag on, nothing is missing
    since = next(t for t, c in got if c == used[-1])
    got = [k for k in got if k[0] >= since]
    assert len(got) > wanted // 2 and got == [k for k in keys if k[0] >= since][:len(got)]
    assert {c for _, c in got} == set(used)

def test_harness_speed(figures):
    sources = [parse_source(s) for s in ("0:poisson:rate=2e6", "1:periodic:period=1us",
                                         "2,3:pair:rate=1e6,delay=12.5ns,jitter=300ps")]
    with VirtualBoard(sources=sources) as board:
        time.sleep(2)
        status = board.status()
    figures(f"virtual board, verilator backend: {status['cycles_per_second'] / 1e6:.2f} M cycles/s "
            f"(4 channels, 4 samples/cycle, 3 sources; target 1 M)")
    print(status)
    assert status["cycles"] > 10_000 and status["records"] > 100


def test_a_dead_harness_is_reported():
    with VirtualBoard() as board:
        board.check()
        board.backend.proc.send_signal(signal.SIGKILL)
        board.backend.proc.wait()
        with pytest.raises(BoardError, match="killed by signal 9"):
            board.check()


def test_missing_verilator_says_how_to_get_one(monkeypatch):
    monkeypatch.setattr(harness_build, "find_verilator", lambda: None)
    with pytest.raises(harness_build.HarnessBuildError, match="run tools/verilator.sh"):
        VirtualBoard(backend="verilator").start()


def test_qnu_sim_serve(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "qnu.host.cli", "sim", "serve", "--source", "0:poisson:rate=1e6",
                             "--edge-log", str(tmp_path / "edges.txt")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving node on /dev/pts/") and "verilator backend, 4 channels" in line, \
            line + proc.stderr.read()
        path = line.split()[3]
        with Link.open(path, timeout=30) as link:
            assert wire.IdentifyInfo.unpack(link.request(wire.Command.IDENTIFY)).magic == wire.MAGIC
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped:" in out and "cycles/s" in out
    assert os.path.getsize(tmp_path / "edges.txt") > 100


def test_bad_source_is_a_clear_error(capsys):
    from qnu.host.cli import main
    with pytest.raises(SystemExit, match="unknown source kind 'laser'"):
        main(["sim", "serve", "--source", "0:laser:rate=1"])
