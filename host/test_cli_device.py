"""``qnu info``, ``qnu regs`` and ``qnu tags`` against the fake node."""

import re
import sys

import numpy as np
import pytest

from qnu.host.cli import build_parser, main
from qnu.recording import load_recording
from qnu import wire
from qnu.wire import Record


def run(capsys, *argv):
    """Run the CLI; (exit code, stdout, stderr)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_info_identifies_the_node(node, capsys):
    node.set_counter(1, events=12, lost=3)
    code, out, _ = run(capsys, "info", "--port", node.path)
    assert code == 0
    assert "build id       0xfa4e0001" in out and "fine tick 2500 ps" in out
    assert "err_crc 0" in out and "records_sent 0" in out
    assert "front end      running" in out
    assert [line.split()[-2:] for line in out.splitlines() if line.lstrip().startswith("1 ")] == [["12", "3"]]


def test_regs_prints_a_table_reads_and_writes(node, capsys):
    code, out, _ = run(capsys, "regs", "--port", node.path)
    assert code == 0
    assert re.search(r"^0x0000 +magic +ro +0x514e5531 +1364088113 *$", out, re.M)
    assert re.search(rf"config .* channels=2 samples_per_cycle=4 protocol_version={wire.PROTOCOL_VERSION}$", out, re.M)
    assert "time_cmd" not in out                                   # write-only: nothing to read
    code, out, _ = run(capsys, "regs", "--port", node.path, "scratch=0x2a", "ch1_delay=300", "scratch")
    assert code == 0 and node.register("ch1_delay") == 300
    assert out.splitlines() == ["scratch <- 0x0000002a (42)", "ch1_delay <- 0x0000012c (300)",
                                "scratch = 0x0000002a (42)"]


def test_regs_errors_are_one_clear_line(node, capsys):
    code, _, err = run(capsys, "regs", "--port", node.path, "magic=1")
    assert code == 1 and "READ_ONLY (the register is read-only)" in err
    code, _, err = run(capsys, "regs", "--port", node.path, "scrach")
    assert code == 1 and "did you mean 'scratch'" in err and "Traceback" not in err
    code, _, err = run(capsys, "regs", "--port", node.path, "scratch=twelve")
    assert code == 1 and "scratch=twelve" in err


def test_tags_records_to_a_file_and_prints_rates(node, capsys, tmp_path):
    node.push_records([Record(1_000 + 40 * i, 1, "rising") for i in range(500)]
                      + [Record(30_000, 1, "overflow", lost=9)])
    out_file = tmp_path / "tags.npz"
    code, out, err = run(capsys, "tags", "--port", node.path, "--max-tags", "500", "--output", str(out_file),
                         "--channels", "1", "--falling", "--rising", "--delay-ps", "5000")
    assert code == 0
    assert node.register("ch0_ctrl") == 0 and node.register("ch1_ctrl") == 0b111
    assert node.register("ch1_delay") == 2
    assert "100%" in err and "500 tags" in err                       # the progress bar (tqdm)
    rec = load_recording(out_file)
    assert len(rec) == 500 and rec.lost_total == 9
    np.testing.assert_array_equal(rec.tags().channel, np.ones(500))
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:4]}
    assert rows["1"][:2] == ["500", "9"] and rows["0"][:2] == ["0", "0"]
    assert "Hz" in rows["1"][-1]
    assert "missing records: 0 in 0 gaps; overflow markers: 1" in out


def test_tags_saves_what_arrived_when_the_link_is_lost(node, capsys, tmp_path, monkeypatch):
    node.frame_interval = 0.01
    node.push_records([Record(1_000 + 40 * i, 0, "rising") for i in range(5_000)])
    from qnu.host import device
    original = device.Device.record

    def record_then_pull_the_cable(self, *args, **kwargs):
        return original(self, *args, block_callback=lambda block: node.hang_up(), **kwargs)

    monkeypatch.setattr(device.Device, "record", record_then_pull_the_cable)
    out_file = tmp_path / "partial.npz"
    code, out, err = run(capsys, "tags", "--port", node.path, "--duration", "5", "-o", str(out_file))
    assert code == 1 and "lost the link" in err
    assert "(interrupted: LinkLost)" in out
    assert len(load_recording(out_file)) > 0


def test_a_missing_port_is_one_clear_line(capsys):
    code, _, err = run(capsys, "info", "--port", "/dev/qnu-no-such-port")
    assert code == 1 and "qnu info: error: cannot open /dev/qnu-no-such-port: no such port" in err


def test_port_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("QNU_PORT", "/dev/ttyX")
    assert build_parser().parse_args(["info"]).port == "/dev/ttyX"
    monkeypatch.delenv("QNU_PORT")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["info"])
